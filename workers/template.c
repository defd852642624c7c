/*
 * The template loader: reads a document template (a .yaml file of workflows/templates/) with
 * libyaml's document API into the model of template.h, checking every key, number and placeholder,
 * and fills placeholders from fields.  Problems are reported as "file:line:column: what is wrong".
 */
#include "template.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/yamldoc.h"

typedef struct loader {
    cf_template *t;
    cf_arena *a;
    const char *path, *src;
    size_t srclen;
    yaml_document_t doc;
    char *err;
    size_t errsz;
} loader;

/* ---- positions and errors ---- */

static void pos_of_offset(const char *src, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && src[i]; i++) {
        if (src[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
            c++; /* libyaml counts columns in characters, not bytes */
        }
    }
    *line = l;
    *col = c;
}

/* The byte offset of a libyaml mark (line, and column in characters) in the source. */
static size_t mark_offset(const loader *L, const yaml_mark_t *m)
{
    size_t i = 0, line = 0, col = 0;
    while (i < L->srclen && line < m->line)
        if (L->src[i++] == '\n')
            line++;
    while (i < L->srclen && col < m->column && L->src[i] != '\n') {
        i++;
        while (i < L->srclen && ((unsigned char)L->src[i] & 0xC0) == 0x80)
            i++;
        col++;
    }
    return i;
}

static int fail(loader *L, const yaml_node_t *n, const char *fmt, ...) CF_PRINTF(3, 4);

static int fail(loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_errf(L->err, L->errsz, CF_EINVAL, "%s:%lu:%lu: %s", L->path,
                   n ? (unsigned long)n->start_mark.line + 1 : 1UL,
                   n ? (unsigned long)n->start_mark.column + 1 : 1UL, msg);
}

static yaml_node_t *node(loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ---- values ---- */

static int number(loader *L, const yaml_node_t *n, const char *what, double lo, double hi,
                  double *out)
{
    const char *s = scalar(n);
    char *end;
    double v;
    errno = 0;
    v = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || errno || !isfinite(v) || v < lo || v > hi)
        return fail(L, n, "%s must be a number from %g to %g", what, lo, hi);
    *out = v;
    return 0;
}

static int boolean(loader *L, const yaml_node_t *n, const char *what, int *out)
{
    const char *s = scalar(n);
    if (s && strcmp(s, "true") == 0)
        *out = 1;
    else if (s && strcmp(s, "false") == 0)
        *out = 0;
    else
        return fail(L, n, "%s must be true or false", what);
    return 0;
}

static int name_char(char c, int first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

/* A field name: words of letters, digits and '_' joined by '.'. */
static int valid_name(const char *s, size_t n)
{
    int first = 1;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && !first && i + 1 < n) {
            first = 1;
            continue;
        }
        if (!name_char(s[i], first))
            return 0;
        first = 0;
    }
    return 1;
}

/*
 * Finds `needle` in the source from `*from` on and returns its line and column; `*from` moves
 * past it so that the next placeholder of the same text is searched after it.  When the text
 * is written with escapes that hide it, the text's own position stands in.
 */
static void locate(const loader *L, size_t *from, size_t until, const char *needle, int *line,
                   int *col, int dline, int dcol)
{
    size_t n = strlen(needle);
    for (size_t i = *from; i + n <= until; i++) {
        if (memcmp(L->src + i, needle, n) == 0) {
            pos_of_offset(L->src, i, line, col);
            *from = i + n;
            return;
        }
    }
    *line = dline;
    *col = dcol;
}

/* Applies the paragraph rule: drops line breaks inside a paragraph, one '\n' between paragraphs. */
static char *paragraphs(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    int pending = 0; /* a paragraph break is owed before the next text */

    if (!out)
        return NULL;
    while (*s) {
        size_t len = strcspn(s, "\n");
        size_t a = 0, b = len;
        while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
            b--;
        if (a == b) {
            pending = o > 0;
        } else {
            if (pending)
                out[o++] = '\n';
            pending = 0;
            memcpy(out + o, s + a, b - a);
            o += b - a;
        }
        s += len + (s[len] == '\n');
    }
    out[o] = '\0';
    return out;
}

/* Reads a text node: the paragraph rule, then the placeholders with their positions. */
static int text(loader *L, const yaml_node_t *n, const char *what, cf_template_text *out)
{
    const char *v = scalar(n);
    char *p = NULL, *dst = NULL;
    cf_template_ref *refs = NULL;
    size_t nrefs = 0, o = 0, cursor, until;
    int rc = 0;

    if (!v)
        return fail(L, n, "%s must be a text", what);
    cursor = mark_offset(L, &n->start_mark);
    until = mark_offset(L, &n->end_mark);
    if (!(p = paragraphs(v)) || !(dst = cf_arena_alloc(L->a, strlen(p) + 1)) ||
        !(refs = cf_arena_alloc(L->a, (strlen(p) / 3 + 1) * sizeof *refs))) {
        rc = cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
        goto out;
    }
    for (const char *s = p; *s;) {
        if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
            memcpy(dst + o, "${", 2); /* "$${" writes a literal "${" */
            o += 2;
            s += 3;
        } else if (s[0] == '$' && s[1] == '{') {
            const char *close = strchr(s + 2, '}');
            char needle[160];
            cf_template_ref *r = &refs[nrefs];
            size_t len = close ? (size_t)(close - s - 2) : 0;
            if (!close || len >= sizeof needle - 3) {
                locate(L, &cursor, until, "${", &r->line, &r->col, (int)n->start_mark.line + 1,
                       (int)n->start_mark.column + 1);
                rc = cf_errf(L->err, L->errsz, CF_EINVAL, "%s:%d:%d: %s", L->path, r->line, r->col,
                             close ? "field name too long" : "'${' without its '}'");
                goto out;
            }
            snprintf(needle, sizeof needle, "${%.*s}", (int)len, s + 2);
            locate(L, &cursor, until, needle, &r->line, &r->col, (int)n->start_mark.line + 1,
                   (int)n->start_mark.column + 1);
            if (!valid_name(s + 2, len)) {
                rc = cf_errf(L->err, L->errsz, CF_EINVAL,
                             "%s:%d:%d: '%s' is not a field name (letters, digits, '_' and '.')",
                             L->path, r->line, r->col, needle);
                goto out;
            }
            r->name = cf_arena_strdup(L->a, needle + 2);
            if (!r->name) {
                rc = cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
                goto out;
            }
            ((char *)r->name)[len] = '\0';
            r->off = o;
            r->len = len + 3;
            memcpy(dst + o, s, r->len);
            o += r->len;
            s += r->len;
            nrefs++;
        } else {
            dst[o++] = *s++;
        }
    }
    dst[o] = '\0';
    out->src = dst;
    out->refs = refs;
    out->nrefs = nrefs;
    out->line = (int)n->start_mark.line + 1;
    out->col = (int)n->start_mark.column + 1;
out:
    free(p);
    return rc;
}

/* ---- tables ---- */

static int cell(loader *L, const yaml_node_t *n, cf_template_cell *c)
{
    c->span = 1;
    if (n->type == YAML_SCALAR_NODE)
        return text(L, n, "a cell", &c->text);
    if (n->type != YAML_MAPPING_NODE)
        return fail(L, n, "a cell is a text or {text, span, bold, center}");
    int have_text = 0, rc;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k);
        double span;
        if (!key)
            return fail(L, k, "a cell's keys are text, span, bold and center");
        if (strcmp(key, "text") == 0)
            rc = text(L, v, "text", &c->text), have_text = 1;
        else if (strcmp(key, "span") == 0) {
            rc = number(L, v, "span", 1, 64, &span);
            c->span = (int)span;
            if (!rc && span != c->span)
                rc = fail(L, v, "span must be a whole number");
        } else if (strcmp(key, "bold") == 0)
            rc = boolean(L, v, "bold", &c->bold);
        else if (strcmp(key, "center") == 0)
            rc = boolean(L, v, "center", &c->center);
        else
            rc = fail(L, k, "unknown cell key '%s' (text, span, bold, center)", key);
        if (rc)
            return rc;
    }
    return have_text ? 0 : fail(L, n, "a cell needs its text");
}

static int row(loader *L, const yaml_node_t *n, size_t ncols, cf_template_row *r)
{
    size_t count, cols = 0;
    cf_template_cell *cells;
    int rc;

    if (n->type != YAML_SEQUENCE_NODE)
        return fail(L, n, "a row is a list of cells");
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(cells = cf_arena_alloc(L->a, (count + 1) * sizeof *cells)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < count; i++) {
        if ((rc = cell(L, node(L, n->data.sequence.items.start[i]), &cells[i])))
            return rc;
        cols += (size_t)cells[i].span;
    }
    if (cols != ncols)
        return fail(L, n, "this row covers %zu columns; the table has %zu", cols, ncols);
    r->cells = cells;
    r->ncells = count;
    r->line = (int)n->start_mark.line + 1;
    r->col = (int)n->start_mark.column + 1;
    return 0;
}

static int table(loader *L, const yaml_node_t *n, const cf_template_table **out)
{
    cf_template_table *tb = cf_arena_alloc(L->a, sizeof *tb);
    const yaml_node_t *widths = NULL, *header = NULL, *rows = NULL;
    int rc;

    if (!tb)
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    if (n->type != YAML_MAPPING_NODE)
        return fail(L, n, "a table is a mapping of widths, header, rows, row_height and size");
    tb->size = 12;
    tb->row_height = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k);
        if (key && strcmp(key, "widths") == 0)
            widths = v;
        else if (key && strcmp(key, "header") == 0)
            header = v;
        else if (key && strcmp(key, "rows") == 0)
            rows = v;
        else if (key && strcmp(key, "row_height") == 0) {
            if ((rc = number(L, v, "row_height", 0, 200, &tb->row_height)))
                return rc;
        } else if (key && strcmp(key, "size") == 0) {
            if ((rc = number(L, v, "size", 6, 30, &tb->size)))
                return rc;
        } else
            return fail(L, k, "unknown table key '%s' (widths, header, rows, row_height, size)",
                        key ? key : "?");
    }
    if (!widths || widths->type != YAML_SEQUENCE_NODE ||
        widths->data.sequence.items.top == widths->data.sequence.items.start)
        return fail(L, widths ? widths : n, "a table needs widths: a list of relative widths");
    if (!rows || rows->type != YAML_SEQUENCE_NODE)
        return fail(L, rows ? rows : n, "a table needs rows: a list of rows");
    tb->ncols = (size_t)(widths->data.sequence.items.top - widths->data.sequence.items.start);
    double *w = cf_arena_alloc(L->a, tb->ncols * sizeof *w);
    tb->nrows = (size_t)(rows->data.sequence.items.top - rows->data.sequence.items.start);
    cf_template_row *r = cf_arena_alloc(L->a, (tb->nrows + 1) * sizeof *r);
    if (!w || !r)
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < tb->ncols; i++)
        if ((rc = number(L, node(L, widths->data.sequence.items.start[i]), "a width", 0.1, 1000,
                         &w[i])))
            return rc;
    for (size_t i = 0; i < tb->nrows; i++)
        if ((rc = row(L, node(L, rows->data.sequence.items.start[i]), tb->ncols, &r[i])))
            return rc;
    if (header) {
        cf_template_row *h = cf_arena_alloc(L->a, sizeof *h);
        if (!h)
            return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
        if ((rc = row(L, header, tb->ncols, h)))
            return rc;
        tb->header = h;
    }
    tb->widths = w;
    tb->rows = r;
    *out = tb;
    return 0;
}

/* ---- blocks ---- */

static const struct {
    const char *key;
    enum cf_template_block_kind kind;
} block_keys[] = {
    {"heading", CF_TPL_HEADING}, {"title", CF_TPL_TITLE},
    {"right", CF_TPL_RIGHT},     {"left", CF_TPL_LEFT},
    {"text", CF_TPL_TEXT},       {"small", CF_TPL_SMALL},
    {"table", CF_TPL_TABLE},     {"signature", CF_TPL_SIGNATURE},
    {"space", CF_TPL_SPACE},     {"page_break", CF_TPL_PAGE_BREAK},
};

static int signature(loader *L, const yaml_node_t *v, cf_template_block *b)
{
    const yaml_node_t *lines = v;
    cf_template_text *t;
    int rc;

    b->seal = 1;
    if (v->type == YAML_MAPPING_NODE) {
        lines = NULL;
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node(L, p->key), *val = node(L, p->value);
            const char *key = scalar(k);
            if (key && strcmp(key, "lines") == 0)
                lines = val;
            else if (key && strcmp(key, "seal") == 0) {
                if ((rc = boolean(L, val, "seal", &b->seal)))
                    return rc;
            } else
                return fail(L, k, "unknown signature key '%s' (lines, seal)", key ? key : "?");
        }
    }
    if (!lines || lines->type != YAML_SEQUENCE_NODE)
        return fail(L, lines ? lines : v, "a signature is a list of lines (or {lines, seal})");
    b->nlines = (size_t)(lines->data.sequence.items.top - lines->data.sequence.items.start);
    if (!(t = cf_arena_alloc(L->a, (b->nlines + 1) * sizeof *t)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < b->nlines; i++)
        if ((rc = text(L, node(L, lines->data.sequence.items.start[i]), "a line", &t[i])))
            return rc;
    b->lines = t;
    return 0;
}

static int block(loader *L, const yaml_node_t *n, cf_template_block *b)
{
    const yaml_node_t *k, *v;
    const char *key;
    size_t i;

    b->line = (int)n->start_mark.line + 1;
    b->col = (int)n->start_mark.column + 1;
    if (scalar(n) && strcmp(scalar(n), "page_break") == 0) {
        b->kind = CF_TPL_PAGE_BREAK;
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return fail(L, n,
                    "a block is one 'kind: content' pair (heading, title, right, left, "
                    "text, small, table, signature, space, page_break)");
    k = node(L, n->data.mapping.pairs.start->key);
    v = node(L, n->data.mapping.pairs.start->value);
    key = scalar(k);
    for (i = 0; key && i < sizeof block_keys / sizeof block_keys[0]; i++)
        if (strcmp(key, block_keys[i].key) == 0)
            break;
    if (!key || i == sizeof block_keys / sizeof block_keys[0])
        return fail(L, k,
                    "unknown block '%s' (heading, title, right, left, text, small, table, "
                    "signature, space, page_break)",
                    key ? key : "?");
    b->kind = block_keys[i].kind;
    switch (b->kind) {
    case CF_TPL_TABLE: return table(L, v, &b->table);
    case CF_TPL_SIGNATURE: return signature(L, v, b);
    case CF_TPL_SPACE: return number(L, v, "space", 0, 250, &b->mm);
    case CF_TPL_PAGE_BREAK: return 0;
    default: return text(L, v, key, &b->text);
    }
}

/* ---- derived fields ---- */

static int derived(loader *L, const yaml_node_t *k, const yaml_node_t *v, cf_template_field *f)
{
    int rc;
    size_t n;
    cf_template_text *texts;
    const char **keys;

    f->name = cf_arena_strdup(L->a, scalar(k));
    f->line = (int)k->start_mark.line + 1;
    f->col = (int)k->start_mark.column + 1;
    if (!f->name)
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    if (!valid_name(f->name, strlen(f->name)) || strchr(f->name, '.'))
        return fail(L, k, "'%s' is not a field name (letters, digits and '_')", f->name);
    if (v->type == YAML_SCALAR_NODE) {
        if (!(texts = cf_arena_alloc(L->a, sizeof *texts)))
            return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
        f->texts = texts;
        f->nkeys = 1;
        return text(L, v, f->name, texts);
    }
    if (v->type != YAML_MAPPING_NODE)
        return fail(L, v,
                    "a field is a text, or a choice {by: field, <value>: text, default: text}");
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    texts = cf_arena_alloc(L->a, (n + 1) * sizeof *texts);
    keys = cf_arena_alloc(L->a, (n + 1) * sizeof *keys);
    if (!texts || !keys)
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *ck = node(L, p->key), *cv = node(L, p->value);
        const char *key = scalar(ck);
        if (!key)
            return fail(L, ck, "a choice's keys are values of the field named by 'by'");
        if (strcmp(key, "by") == 0) {
            const char *by = scalar(cv);
            if (!by || !valid_name(by, strlen(by)))
                return fail(L, cv, "by names the field whose value chooses the text");
            f->by = cf_arena_strdup(L->a, by);
        } else if (strcmp(key, "default") == 0) {
            cf_template_text *d = cf_arena_alloc(L->a, sizeof *d);
            if (!d)
                return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
            if ((rc = text(L, cv, "default", d)))
                return rc;
            f->fallback = d;
        } else {
            if (!(keys[f->nkeys] = cf_arena_strdup(L->a, key)))
                return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
            if ((rc = text(L, cv, key, &texts[f->nkeys])))
                return rc;
            f->nkeys++;
        }
    }
    if (!f->by)
        return fail(L, v, "a choice needs 'by: <field>'");
    f->keys = keys;
    f->texts = texts;
    return 0;
}

static int fields(loader *L, const yaml_node_t *v)
{
    size_t n;
    cf_template_field *f;
    int rc;

    if (v->type != YAML_MAPPING_NODE)
        return fail(L, v, "fields is a mapping of name: text");
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (!(f = cf_arena_alloc(L->a, (n + 1) * sizeof *f)))
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *k = node(L, p->key);
        if (!scalar(k))
            return fail(L, k, "a field's name must be text");
        if ((rc = derived(L, k, node(L, p->value), &f[i])))
            return rc;
    }
    L->t->fields = f;
    L->t->nfields = n;
    return 0;
}

/* ---- the file ---- */

static int top(loader *L, const yaml_node_t *root)
{
    cf_template *t = L->t;
    const yaml_node_t *body = NULL;
    int rc;

    if (!root || root->type != YAML_MAPPING_NODE)
        return fail(L, root, "a template is a mapping with name and body");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k);
        rc = 0;
        if (!key)
            return fail(L, k, "a key must be text");
        if (strcmp(key, "name") == 0) {
            if (!scalar(v) || !*scalar(v))
                return fail(L, v, "name is the document's name, as tasks ask for it");
            t->name = cf_arena_strdup(L->a, scalar(v));
        } else if (strcmp(key, "served_on") == 0) {
            if (!scalar(v) ||
                (strcmp(scalar(v), "applicants") != 0 && strcmp(scalar(v), "respondents") != 0))
                return fail(L, v, "served_on is applicants or respondents");
            t->served_on = cf_arena_strdup(L->a, scalar(v));
        } else if (strcmp(key, "font") == 0 || strcmp(key, "bold_font") == 0) {
            if (!scalar(v) || !*scalar(v))
                return fail(L, v, "%s is a font family name", key);
            *(key[0] == 'f' ? &t->font : &t->bold) = cf_arena_strdup(L->a, scalar(v));
        } else if (strcmp(key, "size") == 0) {
            rc = number(L, v, "size", 6, 40, &t->size);
        } else if (strcmp(key, "line_spacing") == 0) {
            rc = number(L, v, "line_spacing", 0.8, 3, &t->line_spacing);
        } else if (strcmp(key, "page_numbers") == 0) {
            rc = boolean(L, v, "page_numbers", &t->page_numbers);
        } else if (strcmp(key, "margins") == 0) {
            if (v->type != YAML_SEQUENCE_NODE ||
                v->data.sequence.items.top - v->data.sequence.items.start != 4)
                return fail(L, v, "margins are four numbers in mm: top, right, bottom, left");
            for (int i = 0; i < 4 && !rc; i++)
                rc = number(L, node(L, v->data.sequence.items.start[i]), "a margin", 5, 80,
                            &t->margin[i]);
        } else if (strcmp(key, "fields") == 0) {
            rc = fields(L, v);
        } else if (strcmp(key, "body") == 0) {
            body = v;
        } else {
            return fail(L, k,
                        "unknown key '%s' (name, served_on, font, bold_font, size, line_spacing, "
                        "page_numbers, margins, fields, body)",
                        key);
        }
        if (rc)
            return rc;
    }
    if (!t->name)
        return fail(L, root, "the template needs name: the document's name");
    if (!body || body->type != YAML_SEQUENCE_NODE)
        return fail(L, body ? body : root, "the template needs body: a list of blocks");
    t->nblocks = (size_t)(body->data.sequence.items.top - body->data.sequence.items.start);
    cf_template_block *b = cf_arena_alloc(L->a, (t->nblocks + 1) * sizeof *b);
    if (!b)
        return cf_errf(L->err, L->errsz, CF_ENOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < t->nblocks; i++)
        if ((rc = block(L, node(L, body->data.sequence.items.start[i]), &b[i])))
            return rc;
    t->blocks = b;
    return 0;
}

cf_template *cf_template_parse(const char *path, const char *text_, size_t len, char *err,
                               size_t errsz)
{
    loader L = {.path = path, .src = text_, .srclen = len, .err = err, .errsz = errsz};
    cf_yamldoc_error ye;
    int rc = CF_ENOMEM;

    if (!(L.a = cf_arena_new()) || !(L.t = cf_arena_alloc(L.a, sizeof *L.t)) ||
        !(L.t->path = cf_arena_strdup(L.a, path))) {
        cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    /* The house style of a court document (GB/T 9704 text area, 三号 serif body). */
    L.t->arena = L.a;
    L.t->font = "Noto Serif CJK SC";
    L.t->bold = "Noto Serif CJK SC Bold";
    L.t->size = 16;
    L.t->line_spacing = 1.25;
    L.t->page_numbers = 1;
    L.t->served_on = "respondents";
    L.t->margin[0] = 37;
    L.t->margin[1] = 26;
    L.t->margin[2] = 35;
    L.t->margin[3] = 28;
    if ((rc = cf_yamldoc_load(&L.doc, text_, len, &ye)) == CF_ENOMEM) {
        cf_errf(err, errsz, rc, "%s: out of memory", path);
    } else if (rc) {
        cf_errf(err, errsz, rc, "%s:%d:%d: %s%s", path, ye.line, ye.col,
                rc == CF_EPARSE ? "bad YAML: " : "", ye.problem);
    } else {
        rc = top(&L, yaml_document_get_root_node(&L.doc));
        yaml_document_delete(&L.doc);
    }
out:
    if (rc) {
        cf_arena_free(L.a);
        return NULL;
    }
    return L.t;
}

cf_template *cf_template_load(const char *path, char *err, size_t errsz)
{
    char why[256], *buf;
    size_t len;
    cf_template *t;

    if (cf_yamldoc_read_file(path, CF_YAML_MAX_BYTES, &buf, &len, why, sizeof why) != 0) {
        cf_errf(err, errsz, CF_EIO, "%s: %s", path, why);
        return NULL;
    }
    t = cf_template_parse(path, buf, len, err, errsz);
    free(buf);
    return t;
}

void cf_template_free(cf_template *t)
{
    if (t)
        cf_arena_free(t->arena);
}

/* ---- filling placeholders ---- */

/* The value at a dotted path ("basis.document_no"), or NULL. */
static const json_t *lookup(const json_t *fields, const char *name)
{
    const json_t *v = fields;
    char key[128];
    while (v && *name) {
        size_t n = strcspn(name, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, name, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        name += n + (name[n] == '.');
    }
    return v;
}

/* Writes a field's value as text into buf; returns 0, or -1 when it is no text or number. */
static int value_text(const json_t *v, char *buf, size_t n, const char **out)
{
    if (json_is_string(v))
        *out = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v)), *out = buf;
    else if (json_is_real(v))
        snprintf(buf, n, "%.15g", json_real_value(v)), *out = buf;
    else if (json_is_boolean(v))
        *out = json_is_true(v) ? "是" : "否";
    else
        return -1;
    return 0;
}

static int expand(const char *path, const cf_template_text *x, const json_t *fields, char **out,
                  char *err, size_t errsz)
{
    size_t cap = strlen(x->src) + 1, o = 0, from = 0;
    char *s = malloc(cap);

    if (!s)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i <= x->nrefs; i++) {
        size_t upto = i < x->nrefs ? x->refs[i].off : strlen(x->src);
        const char *val = "";
        char num[64];
        size_t vlen;
        if (i < x->nrefs && value_text(lookup(fields, x->refs[i].name), num, sizeof num, &val)) {
            free(s);
            return cf_errf(err, errsz, CF_EINVAL, "%s:%d:%d: no field '%s' for this document", path,
                           x->refs[i].line, x->refs[i].col, x->refs[i].name);
        }
        vlen = strlen(val);
        if (o + (upto - from) + vlen + 1 > cap) {
            char *t;
            cap = (o + (upto - from) + vlen + 1) * 2;
            if (!(t = realloc(s, cap))) {
                free(s);
                return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            }
            s = t;
        }
        memcpy(s + o, x->src + from, upto - from);
        o += upto - from;
        memcpy(s + o, val, vlen);
        o += vlen;
        if (i < x->nrefs)
            from = upto + x->refs[i].len;
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

int cf_template_expand(const cf_template *t, const cf_template_text *x, const json_t *fields,
                       char **out, char *err, size_t errsz)
{
    return expand(t->path, x, fields, out, err, errsz);
}

int cf_template_expand_string(const char *what, const char *text_, const json_t *fields, char **out,
                              char *err, size_t errsz)
{
    /* A one-line "template" whose positions are columns of the text itself. */
    loader L = {.path = what, .src = text_, .srclen = strlen(text_), .err = err, .errsz = errsz};
    yaml_node_t n;
    cf_template_text x;
    int rc;

    if (!(L.a = cf_arena_new()))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    memset(&n, 0, sizeof n);
    n.type = YAML_SCALAR_NODE;
    n.data.scalar.value = (yaml_char_t *)(void *)(char *)text_;
    n.data.scalar.length = strlen(text_);
    n.end_mark.column = n.data.scalar.length;
    rc = text(&L, &n, what, &x);
    if (!rc)
        rc = expand(what, &x, fields, out, err, errsz);
    cf_arena_free(L.a);
    return rc;
}

json_t *cf_template_fields(const cf_template *t, const json_t *fields, int *rc, char *err,
                           size_t errsz)
{
    json_t *all = json_is_object(fields) ? json_deep_copy(fields) : json_object();

    *rc = 0;
    if (!all) {
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < t->nfields; i++) {
        const cf_template_field *f = &t->fields[i];
        const cf_template_text *x = f->nkeys ? &f->texts[0] : f->fallback;
        char *s;
        if (f->by) {
            const json_t *v = lookup(all, f->by);
            const char *key = NULL;
            char num[64];
            if (value_text(v, num, sizeof num, &key)) {
                *rc = cf_errf(err, errsz, CF_EINVAL, "%s:%d:%d: no field '%s' to choose '%s' by",
                              t->path, f->line, f->col, f->by, f->name);
                json_decref(all);
                return NULL;
            }
            x = f->fallback;
            for (size_t k = 0; k < f->nkeys; k++)
                if (strcmp(f->keys[k], key) == 0)
                    x = &f->texts[k];
            if (!x) {
                *rc = cf_errf(err, errsz, CF_EINVAL,
                              "%s:%d:%d: %s: no text for %s '%s' and no default", t->path, f->line,
                              f->col, f->name, f->by, key);
                json_decref(all);
                return NULL;
            }
        }
        if ((*rc = expand(t->path, x, all, &s, err, errsz))) {
            json_decref(all);
            return NULL;
        }
        json_object_set_new(all, f->name, json_string(s));
        free(s);
    }
    return all;
}
