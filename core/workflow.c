/*
 * The workflow loader: reads a YAML definition with libyaml's document API,
 * builds the model of workflow.h, and checks it as a whole (names that must
 * exist, states that must be reachable, events that must have schemas and
 * handlers).  Every problem is reported with its file, line and column, and
 * loading goes on after a problem so that one run shows them all.
 */
#include "workflow.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/yamldoc.h"

/* ---- diagnostics ---- */

void cf_diags_init(cf_diags *d)
{
    memset(d, 0, sizeof *d);
}

void cf_diags_free(cf_diags *d)
{
    for (size_t i = 0; i < d->count && d->lines; i++)
        free(d->lines[i]);
    free(d->lines);
    free(d->where);
    memset(d, 0, sizeof *d);
}

void cf_diags_add(cf_diags *d, const char *file, cf_pos pos, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s:%d:%d: ", file, pos.line, pos.col);
    va_list ap;

    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **lines = realloc(d->lines, cap * sizeof *lines);
        cf_pos *where;
        if (lines)
            d->lines = lines;
        where = lines ? realloc(d->where, cap * sizeof *where) : NULL;
        if (!where) {
            d->lost++;
            return;
        }
        d->where = where;
        d->cap = cap;
    }
    d->lines[d->count] = strdup(msg);
    if (!d->lines[d->count]) {
        d->lost++;
        return;
    }
    d->where[d->count++] = pos;
}

static int pos_before(cf_pos a, cf_pos b)
{
    return a.line < b.line || (a.line == b.line && a.col < b.col);
}

/* Orders the lines from `from` on by their position in the file, keeping the order of lines at
 * the same position: a reader goes through the file from top to bottom.  A merge sort, so that
 * thousands of problems cost no more than their number times its logarithm. */
static void diags_sort(cf_diags *d, size_t from)
{
    size_t n = d->count - from;
    char **lines, **lt;
    cf_pos *where, *wt;

    if (!d->lines || !d->where || n < 2)
        return;
    lines = d->lines + from;
    where = d->where + from;
    lt = malloc(n * sizeof *lt);
    wt = malloc(n * sizeof *wt);
    if (!lt || !wt) {
        free(lt);
        free(wt);
        return;
    }
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n,
                   hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* Equal positions take the left one first: the sort is stable. */
                size_t from_right = pos_before(where[j], where[i]);
                size_t x = from_right ? j++ : i++;
                lt[k] = lines[x];
                wt[k++] = where[x];
            }
            while (i < mid) {
                lt[k] = lines[i];
                wt[k++] = where[i++];
            }
            while (j < hi) {
                lt[k] = lines[j];
                wt[k++] = where[j++];
            }
        }
        memcpy(lines, lt, n * sizeof *lines);
        memcpy(where, wt, n * sizeof *where);
    }
    free(lt);
    free(wt);
}

/* ---- the loader's state and YAML helpers ---- */

/* An expression and the scalar it was parsed from, for placing problems found later. */
struct expr_at {
    const cf_expr *e;
    const yaml_node_t *n;
};

/* A time expression and the scalar it was parsed from. */
struct when_at {
    const cf_when *w;
    const yaml_node_t *n;
};

typedef struct loader {
    cf_workflow *wf;
    cf_arena *ar;
    cf_diags *d;
    const char *file;
    const char *src; /* the YAML text, to place problems inside multi-line scalars */
    size_t srclen;
    size_t *char_at; /* the byte offset of every CHAR_STEP-th character of src */
    size_t nchar_at;
    size_t bom; /* 1 when src starts with a byte order mark, which libyaml does not count */
    yaml_document_t doc;
    size_t errors_at_start;
    cf_pos root;           /* where the top-level mapping starts: missing keys are reported there */
    cf_pos created_by;     /* the value of created_by, or root */
    struct expr_at *exprs; /* sorted by expression once every expression is parsed */
    size_t nexprs, capexprs;
    struct when_at *whens; /* every time expression and its scalar, in the order parsed */
    size_t nwhens, capwhens;
    size_t skipped; /* problems past MAX_PROBLEMS, not reported one by one */
} loader;

/* Characters between two entries of char_at: finding a mark's byte offset walks at most this
 * many characters, however long its line. */
#define CHAR_STEP 64

/* Problems reported per file at most; the rest are counted in one last line.  A broken file
 * of a few megabytes can have a problem per line, and placing each costs time. */
#define MAX_PROBLEMS 1000

/* Where problems of the file as a whole are reported. */
static const cf_pos TOP = {1, 1};

/* Past MAX_PROBLEMS a problem is only counted: its position, which may cost a walk through
 * its scalar, is not even computed. */
#define ERR(L, pos, ...)                                                        \
    do {                                                                        \
        if ((L)->d->count + (L)->d->lost - (L)->errors_at_start < MAX_PROBLEMS) \
            cf_diags_add((L)->d, (L)->file, (pos), __VA_ARGS__);                \
        else                                                                    \
            (L)->skipped++;                                                     \
    } while (0)

static yaml_node_t *node(loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

static cf_pos pos_of(const yaml_node_t *n)
{
    cf_pos p = {1, 1};
    if (n) {
        p.line = (int)n->start_mark.line + 1;
        p.col = (int)n->start_mark.column + 1;
    }
    return p;
}

/* The length in bytes of the UTF-8 character at s, at most `left`. */
static size_t char_len(const char *s, size_t left)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return n < left ? n : left;
}

/* Indexes the source's characters (every CHAR_STEP-th), so that mark_offset does not walk the
 * file from its start for each problem.  Returns 0 when memory runs out. */
static int chars_index(loader *L)
{
    size_t i = 0, c = 0;

    L->bom = L->srclen >= 3 && memcmp(L->src, "\xEF\xBB\xBF", 3) == 0;
    L->nchar_at = L->srclen / CHAR_STEP + 2;
    L->char_at = malloc(L->nchar_at * sizeof *L->char_at);
    if (!L->char_at)
        return 0;
    L->nchar_at = 0;
    while (i < L->srclen) {
        if (c % CHAR_STEP == 0)
            L->char_at[L->nchar_at++] = i;
        i += char_len(L->src + i, L->srclen - i);
        c++;
    }
    L->char_at[L->nchar_at++] = L->srclen;
    return 1;
}

static void loader_free(loader *L)
{
    free(L->char_at);
    L->char_at = NULL;
    free(L->exprs);
    L->exprs = NULL;
    free(L->whens);
    L->whens = NULL;
}

/* The byte offset of a mark in the source: its character index (which libyaml counts from
 * after a byte order mark) through char_at, or srclen. */
static size_t mark_offset(const loader *L, const yaml_mark_t *m)
{
    size_t c = m->index + L->bom, k = c / CHAR_STEP, i;

    if (!L->char_at || k >= L->nchar_at)
        return L->srclen;
    i = L->char_at[k];
    for (c %= CHAR_STEP; c > 0 && i < L->srclen; c--)
        i += char_len(L->src + i, L->srclen - i);
    return i;
}

/*
 * The position of character `col` (1-based) of a scalar's value, for problems inside
 * expressions.  Walks the source from where the value starts (after a quote, or on the line
 * after a block indicator `>-` or `|`): an escape (\" or '') is one character of the value, and
 * a line break with the indentation after it is one character (a space when folded, a newline
 * when literal), or one per blank line that follows it.
 */
static cf_pos pos_in(const loader *L, const yaml_node_t *n, int col)
{
    cf_pos p = pos_of(n);
    yaml_scalar_style_t style;
    size_t i, indent = 0;
    int v = 1, block;

    if (!n || n->type != YAML_SCALAR_NODE || !L->src)
        return p;
    style = n->data.scalar.style;
    block = style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE;
    i = mark_offset(L, &n->start_mark);
    if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
        i++;
        p.col++;
    } else if (block) {
        while (i < L->srclen && L->src[i] != '\n')
            i++;
        /* The block's indentation is that of its first line that is not blank. */
        for (;;) {
            size_t k = i + 1;
            if (i >= L->srclen)
                return p;
            p.line++;
            indent = 0;
            while (k < L->srclen && L->src[k] == ' ') {
                k++;
                indent++;
            }
            i = k;
            if (k >= L->srclen || (L->src[k] != '\n' && L->src[k] != '\r'))
                break;
        }
        p.col = (int)indent + 1;
    }
    while (v < col && i < L->srclen) {
        char c = L->src[i];
        if (c == '\r') {
            i++;
        } else if (c == '\n') {
            int blanks = 0;
            size_t skipped;
            for (;;) {
                size_t k = ++i;
                p.line++;
                skipped = 0;
                /* A block keeps spaces beyond its indentation; other scalars drop them all. */
                while (k < L->srclen && L->src[k] == ' ' && (!block || skipped < indent)) {
                    k++;
                    skipped++;
                }
                i = k;
                if (k < L->srclen && L->src[k] == '\n') {
                    blanks++;
                    continue;
                }
                break;
            }
            p.col = (int)skipped + 1;
            v += style == YAML_LITERAL_SCALAR_STYLE ? 1 + blanks : blanks ? blanks : 1;
        } else if ((c == '\\' && style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) ||
                   (c == '\'' && style == YAML_SINGLE_QUOTED_SCALAR_STYLE && i + 1 < L->srclen &&
                    L->src[i + 1] == '\'')) {
            i += 2;
            p.col += 2;
            v++;
        } else {
            i += char_len(L->src + i, L->srclen - i);
            p.col++;
            v++;
        }
    }
    return p;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a text";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static int is_map(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_MAPPING_NODE)
        return 1;
    if (n)
        ERR(L, pos_of(n), "%s must be a mapping, not %s", what, kind_name(n));
    return 0;
}

static int is_seq(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_SEQUENCE_NODE)
        return 1;
    if (n)
        ERR(L, pos_of(n), "%s must be a list, not %s", what, kind_name(n));
    return 0;
}

/* Returns the scalar's text owned by the arena, or NULL (reported) when it is no scalar. */
static const char *text(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_SCALAR_NODE)
        return cf_arena_strdup(L->ar, (const char *)n->data.scalar.value);
    if (n)
        ERR(L, pos_of(n), "%s must be a text, not %s", what, kind_name(n));
    return NULL;
}

static const char *raw(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

static int boolean(loader *L, yaml_node_t *n, const char *what)
{
    const char *s = raw(n);
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
        return 1;
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
        return 0;
    ERR(L, pos_of(n), "%s must be true or false, not '%s'", what, s);
    return 0;
}

/* A mapping's pairs, for iteration. */
#define PAIRS(n)     (n)->data.mapping.pairs.start
#define PAIRS_END(n) (n)->data.mapping.pairs.top
#define ITEMS(n)     (n)->data.sequence.items.start
#define ITEMS_END(n) (n)->data.sequence.items.top

static size_t map_len(yaml_node_t *n)
{
    return n && n->type == YAML_MAPPING_NODE ? (size_t)(PAIRS_END(n) - PAIRS(n)) : 0;
}

static size_t seq_len(yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE ? (size_t)(ITEMS_END(n) - ITEMS(n)) : 0;
}

/* Returns the value of `key` in mapping `n`, or NULL. */
static yaml_node_t *get(loader *L, yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++)
        if (strcmp(raw(node(L, p->key)), key) == 0)
            return node(L, p->value);
    return NULL;
}

/* Unknown keys of one mapping, sorted by name (then by place) to find those given twice. */
struct unknown {
    const char *key;
    const yaml_node_t *node;
    size_t at;
};

static int unknown_cmp(const void *a, const void *b)
{
    const struct unknown *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

/*
 * Reports keys of mapping `n` that are not in the NULL-terminated `allowed`
 * list (a typo must not be silently ignored), and keys given twice.  Linear in the size of the
 * mapping (and of `allowed`, a few words), however many keys it has.
 */
static void check_keys(loader *L, yaml_node_t *n, const char *const *allowed, const char *what)
{
    const yaml_node_t *first[32] = {0};
    struct unknown *unknown = NULL;
    size_t nunknown = 0, nallowed = 0;

    if (!n || n->type != YAML_MAPPING_NODE)
        return;
    while (allowed[nallowed])
        nallowed++;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = node(L, p->key);
        const char *key = raw(k);
        size_t a = 0;
        while (a < nallowed && strcmp(allowed[a], key) != 0)
            a++;
        if (a < nallowed) {
            /* Every list of allowed keys is far shorter than `first`. */
            if (a < sizeof first / sizeof first[0] && first[a])
                ERR(L, pos_of(k), "'%s' is given twice in %s", key, what);
            else if (a < sizeof first / sizeof first[0])
                first[a] = k;
            continue;
        }
        ERR(L, pos_of(k), "unknown key '%s' in %s", key, what);
        if (!unknown && !(unknown = malloc(map_len(n) * sizeof *unknown)))
            continue;
        unknown[nunknown++] = (struct unknown){key, k, (size_t)(p - PAIRS(n))};
    }
    if (nunknown > 1) {
        qsort(unknown, nunknown, sizeof *unknown, unknown_cmp);
        for (size_t i = 1; i < nunknown; i++)
            if (strcmp(unknown[i].key, unknown[i - 1].key) == 0)
                ERR(L, pos_of(unknown[i].node), "'%s' is given twice in %s", unknown[i].key, what);
    }
    free(unknown);
}

static void *alloc_array(loader *L, size_t n, size_t size)
{
    return n ? cf_arena_alloc(L->ar, n * size) : NULL;
}

/* Parses an expression from a scalar; reports the problem at its column. */
static cf_expr *expression(loader *L, yaml_node_t *n, const char *what)
{
    char err[256];
    int col = 0;
    cf_expr *e;

    if (!n)
        return NULL;
    if (n->type != YAML_SCALAR_NODE) {
        ERR(L, pos_of(n), "%s must be an expression, not %s", what, kind_name(n));
        return NULL;
    }
    e = cf_expr_parse(raw(n), err, sizeof err, &col);
    if (!e)
        ERR(L, pos_in(L, n, col), "%s: %s", what, err);
    return e;
}

static cf_when *time_expression(loader *L, yaml_node_t *n, const char *what)
{
    char err[256];
    int col = 0;
    cf_when *w;

    if (!n)
        return NULL;
    if (n->type != YAML_SCALAR_NODE) {
        ERR(L, pos_of(n), "%s must be a time expression, not %s", what, kind_name(n));
        return NULL;
    }
    w = cf_when_parse(raw(n), err, sizeof err, &col);
    if (!w)
        ERR(L, pos_in(L, n, col), "%s: bad time expression: %s", what, err);
    return w;
}

/* ---- expressions and time expressions owned by the workflow ---- */

/* The workflow keeps every parsed expression in a list so that cf_workflow_free can free them. */
struct owned {
    struct owned *next;
    cf_expr *expr;
    cf_when *when;
    cf_schedule *schedule;
    json_t *json;
};

static struct owned **owned_list(cf_workflow *wf)
{
    /* Stored in the first arena allocation, see cf_workflow_parse. */
    return (struct owned **)(void *)((char *)wf + sizeof *wf);
}

static void own_json(loader *L, json_t *j);

static void own(loader *L, cf_expr *e, cf_when *w, cf_schedule *s)
{
    struct owned *o;
    if (!e && !w && !s)
        return;
    o = cf_arena_alloc(L->ar, sizeof *o);
    if (!o) {
        cf_expr_free(e);
        cf_when_free(w);
        cf_schedule_free(s);
        return;
    }
    o->expr = e;
    o->when = w;
    o->schedule = s;
    o->next = *owned_list(L->wf);
    *owned_list(L->wf) = o;
}

static void own_json(loader *L, json_t *j)
{
    struct owned *o;
    if (!j)
        return;
    o = cf_arena_alloc(L->ar, sizeof *o);
    if (!o) {
        json_decref(j);
        return;
    }
    o->json = j;
    o->next = *owned_list(L->wf);
    *owned_list(L->wf) = o;
}

static int quoted(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE &&
           (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

/* Literal data from YAML: quoted texts stay texts, plain ones that read as numbers, true, false
 * or null become those. */
static json_t *literal(loader *L, yaml_node_t *n, int depth)
{
    json_t *v = NULL;
    if (!n || depth > 32)
        return json_null();
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = raw(n);
        char *end;
        if (quoted(n))
            return json_string(s);
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
            return json_boolean(s[0] == 't');
        if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || !*s)
            return json_null();
        long long i = strtoll(s, &end, 10);
        if (*s && !*end)
            return json_integer(i);
        double d = strtod(s, &end);
        if (*s && !*end)
            return json_real(d);
        return json_string(s);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        v = json_array();
        for (yaml_node_item_t *it = ITEMS(n); v && it < ITEMS_END(n); it++)
            json_array_append_new(v, literal(L, node(L, *it), depth + 1));
    } else if (n->type == YAML_MAPPING_NODE) {
        v = json_object();
        for (yaml_node_pair_t *p = PAIRS(n); v && p < PAIRS_END(n); p++)
            json_object_set_new(v, raw(node(L, p->key)), literal(L, node(L, p->value), depth + 1));
    }
    return v ? v : json_null();
}

static cf_expr *owned_expr(loader *L, yaml_node_t *n, const char *what)
{
    cf_expr *e = expression(L, n, what);
    own(L, e, NULL, NULL);
    if (e && L->nexprs == L->capexprs) {
        size_t cap = L->capexprs ? L->capexprs * 2 : 64;
        struct expr_at *grown = realloc(L->exprs, cap * sizeof *grown);
        if (!grown)
            return e; /* its problems are then placed at the action or transition */
        L->exprs = grown;
        L->capexprs = cap;
    }
    if (e)
        L->exprs[L->nexprs++] = (struct expr_at){e, n};
    return e;
}

static int expr_at_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct expr_at *)a)->e;
    uintptr_t y = (uintptr_t)((const struct expr_at *)b)->e;
    return x < y ? -1 : x > y;
}

/* The scalar an expression was parsed from, or NULL.  The checks run after every expression is
 * parsed and sorted (check_workflow). */
static const yaml_node_t *expr_node(loader *L, const cf_expr *e)
{
    struct expr_at key = {e, NULL}, *found;
    if (!e || !L->exprs)
        return NULL;
    found = bsearch(&key, L->exprs, L->nexprs, sizeof *L->exprs, expr_at_cmp);
    return found ? found->n : NULL;
}

/*
 * The column (1-based, in characters) where `word` first stands in an expression's text as a
 * name of its own, outside quotes and not as a later segment of a path; 1 when it does not.
 */
static int word_column(const char *text, const char *word)
{
    size_t wl = strlen(word), left = text ? strlen(text) : 0;
    int col = 1;
    char quote = 0;

    for (const char *s = text; s && *s;) {
        size_t n;
        if (quote) {
            if (*s == '\\' && s[1]) {
                s++; /* the escaped character is skipped with the backslash */
                left--;
                col++;
            } else if (*s == quote) {
                quote = 0;
            }
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (strncmp(s, word, wl) == 0 &&
                   (s == text ||
                    !(isalnum((unsigned char)s[-1]) || s[-1] == '_' || s[-1] == '.')) &&
                   !(isalnum((unsigned char)s[wl]) || s[wl] == '_')) {
            return col;
        }
        n = char_len(s, left);
        s += n;
        left -= n;
        col++;
    }
    return 1;
}

/* Gives the counts a time expression takes from the settings ("settings.lead days before ...")
 * their values; a count that names no setting, or one that is not a whole number, is reported
 * at its word. */
static void bind_counts(loader *L, yaml_node_t *n, cf_when *w, const char *what)
{
    for (size_t i = 0; i < cf_when_count_count(w); i++) {
        const char *name = cf_when_count_name(w, i);
        const cf_setting *st = cf_workflow_setting(L->wf, name);
        char word[160];
        snprintf(word, sizeof word, "settings.%s", name);
        if (!st) {
            ERR(L, pos_in(L, n, word_column(raw(n), word)),
                "%s counts 'settings.%s', but no setting is named so (declare it under settings)",
                what, name);
        } else if (!json_is_integer(st->value) ||
                   cf_when_bind_count(w, i, (long)json_integer_value(st->value)) != 0) {
            ERR(L, pos_in(L, n, word_column(raw(n), word)),
                "%s counts 'settings.%s', which must be a whole number from 0 to 100000", what,
                name);
        }
    }
}

static cf_when *owned_when(loader *L, yaml_node_t *n, const char *what)
{
    cf_when *w = time_expression(L, n, what);
    own(L, NULL, w, NULL);
    if (w)
        bind_counts(L, n, w, what);
    if (w && L->nwhens == L->capwhens) {
        size_t cap = L->capwhens ? L->capwhens * 2 : 64;
        struct when_at *grown = realloc(L->whens, cap * sizeof *grown);
        if (!grown)
            return w; /* its problems are then placed at the action */
        L->whens = grown;
        L->capwhens = cap;
    }
    if (w)
        L->whens[L->nwhens++] = (struct when_at){w, n};
    return w;
}

/* Where `word` stands in the time expression `w`, or `pos` when that cannot be told.  Time
 * expressions are far fewer than expressions: a linear search is enough. */
static cf_pos when_word_pos(loader *L, const cf_when *w, const char *word, cf_pos pos)
{
    for (size_t i = 0; i < L->nwhens; i++)
        if (L->whens[i].w == w)
            return pos_in(L, L->whens[i].n, word_column(raw((yaml_node_t *)L->whens[i].n), word));
    return pos;
}

/* ---- actions ---- */

static const char *const action_keys[] = {
    "task",         "as",           "post",       "due",          "params",      "title",
    "cancel_task",  "timer",        "at",         "cancel_timer", "set",         "set_time",
    "assign",       "notify",       "message",    "merge",        "start_clock", "pause_clock",
    "resume_clock", "extend_clock", "stop_clock", "from",         "months",      "days",
    "ground",       "key",          "each",       "where",        "record",      NULL};

static const char *const action_verbs[] = {
    "task",         "cancel_task", "timer",       "cancel_timer",
    "set",          "set_time",    "assign",      "notify",
    "merge",        "start_clock", "pause_clock", "resume_clock",
    "extend_clock", "stop_clock",  "record",      NULL};

/* One value of an action that may be an expression or literal data (months, days, ground). */
static cf_field *single_field(loader *L, yaml_node_t *n, const char *name)
{
    cf_field *f;
    if (!n)
        return NULL;
    f = cf_arena_alloc(L->ar, sizeof *f);
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    f->name = name;
    f->pos = pos_of(n);
    f->text = n->type == YAML_SCALAR_NODE ? text(L, n, name) : NULL;
    if (n->type != YAML_SCALAR_NODE || quoted(n)) {
        f->literal = literal(L, n, 0);
        own_json(L, f->literal);
    } else {
        f->expr = owned_expr(L, n, name);
    }
    return f;
}

static void parse_fields(loader *L, yaml_node_t *n, cf_action *a, int times, const char *what)
{
    size_t i = 0;
    if (!is_map(L, n, what))
        return;
    a->nfields = map_len(n);
    a->fields = alloc_array(L, a->nfields, sizeof *a->fields);
    if (a->nfields && !a->fields)
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        cf_field *f = &a->fields[i];
        f->name = text(L, k, "a field name");
        f->text = v->type == YAML_SCALAR_NODE ? text(L, v, "a field") : NULL;
        f->pos = pos_of(k);
        if (times) {
            f->when = owned_when(L, v, f->name ? f->name : "field");
        } else if (v->type != YAML_SCALAR_NODE || quoted(v)) {
            f->literal = literal(L, v, 0);
            own_json(L, f->literal);
        } else {
            f->expr = owned_expr(L, v, f->name ? f->name : "field");
        }
    }
}

/* Names an expression reads that are words of their own, with no dot. */
static const char *const word_roots[] = {
    "state",        "now",        "event_type",    "event_time",
    "event_source", "event_post", "event_account", NULL};

/* A post written as a plain word (intake, team_1) is a post id; a text with a dot or a call
 * (case.handler_post, coalesce(...)) or a word that an expression reads (event_post) is an
 * expression. */
static int plain_post(const char *s)
{
    if (!*s)
        return 0;
    for (const char *c = s; *c; c++)
        if (*c == '.' || *c == '(' || *c == ' ' || *c == '"' || *c == '\'')
            return 0;
    for (const char *const *w = word_roots; *w; w++)
        if (strcmp(*w, s) == 0)
            return 0;
    return 1;
}

/* A post given as a literal id or, when it is not a declared post, as an expression. */
static void parse_post(loader *L, yaml_node_t *n, cf_action *a)
{
    const char *s = raw(n);
    if (!n)
        return;
    if (n->type == YAML_SCALAR_NODE && plain_post(s)) {
        a->post = text(L, n, "post");
        return;
    }
    a->post_expr = owned_expr(L, n, "post");
}

/* The list of a `cancel_task: [a, b]` or `cancel_timer: [a, b]` action, or NULL. */
static yaml_node_t *cancel_list(loader *L, yaml_node_t *n)
{
    yaml_node_t *v = get(L, n, "cancel_task");
    if (!v)
        v = get(L, n, "cancel_timer");
    return v && v->type == YAML_SEQUENCE_NODE ? v : NULL;
}

/* `key`, `each` and `where` of keyed work (core/keyed.h): which actions take them. */
static void parse_keyed(loader *L, yaml_node_t *n, cf_action *a, const char *verb)
{
    int keyed = a->kind == CF_ACT_TASK || a->kind == CF_ACT_TIMER ||
                a->kind == CF_ACT_CANCEL_TASK || a->kind == CF_ACT_CANCEL_TIMER ||
                a->kind == CF_ACT_RECORD;
    int each =
        a->kind == CF_ACT_TASK || a->kind == CF_ACT_CANCEL_TASK || a->kind == CF_ACT_CANCEL_TIMER;
    yaml_node_t *k = get(L, n, "key"), *e = get(L, n, "each"), *w = get(L, n, "where");

    if (k && !keyed)
        ERR(L, pos_of(k),
            "'key' belongs to a task, timer, cancel_task, cancel_timer or record, "
            "not to %s",
            verb);
    if (e && !each)
        ERR(L, pos_of(e), "'each' belongs to a task, cancel_task or cancel_timer, not to %s", verb);
    if (k && e)
        ERR(L, pos_of(k), "'each' names the key of every entry: no 'key' beside it");
    if (w && !e)
        ERR(L, pos_of(w), "'where' filters the entries of 'each': it needs 'each'");
    if (k && keyed && !e) {
        a->key = owned_expr(L, k, "key");
        a->key_pos = pos_of(k);
    }
    if (e && each) {
        a->each = owned_expr(L, e, "each");
        a->key_pos = pos_of(e);
    }
    if (w && e)
        a->where = owned_expr(L, w, "where");
    if (a->kind != CF_ACT_RECORD && get(L, n, "record"))
        ERR(L, pos_of(get(L, n, "record")), "an action does one thing: 'record' beside %s", verb);
}

/* Parses the action `n`; `item`, when not NULL, is the first name of its cancel list (the
 * other names get copies of this action, see parse_actions). */
static void parse_action(loader *L, yaml_node_t *n, cf_action *a, yaml_node_t *item)
{
    const char *verb = NULL;
    yaml_node_t *v = NULL;

    a->pos = pos_of(n);
    if (!is_map(L, n, "an action"))
        return;
    check_keys(L, n, action_keys, "an action");
    for (const char *const *k = action_verbs; *k; k++) {
        yaml_node_t *x = get(L, n, *k);
        if (!x || (get(L, n, "record") && strncmp(*k, "set", 3) == 0))
            continue; /* set and set_time under record are the entry's fields */
        if (verb)
            ERR(L, pos_of(n), "an action does one thing: both '%s' and '%s' given", verb, *k);
        verb = *k;
        v = x;
    }
    if (!verb) {
        ERR(L, pos_of(n),
            "an action needs one of task, cancel_task, timer, cancel_timer, set, "
            "set_time, assign, notify, merge, start_clock, pause_clock, resume_clock, "
            "extend_clock, stop_clock, record");
        return;
    }
    if (item)
        v = item;
    a->name_pos = pos_of(v);
    if (strcmp(verb, "task") == 0) {
        a->kind = CF_ACT_TASK;
        a->name = text(L, v, "task");
        a->as = get(L, n, "as") ? text(L, get(L, n, "as"), "as") : a->name;
        a->as_template = a->as && strstr(a->as, "${") != NULL;
        a->post_pos = pos_of(get(L, n, "post"));
        parse_post(L, get(L, n, "post"), a);
        a->at = owned_when(L, get(L, n, "due"), "due");
        a->at_text = get(L, n, "due") ? text(L, get(L, n, "due"), "due") : NULL;
        a->title = get(L, n, "title") ? text(L, get(L, n, "title"), "title") : NULL;
        if (get(L, n, "params"))
            parse_fields(L, get(L, n, "params"), a, 0, "params");
    } else if (strcmp(verb, "cancel_task") == 0) {
        a->kind = CF_ACT_CANCEL_TASK;
        a->name = text(L, v, "cancel_task");
    } else if (strcmp(verb, "timer") == 0) {
        a->kind = CF_ACT_TIMER;
        a->name = text(L, v, "timer");
        if (!get(L, n, "at"))
            ERR(L, pos_of(n), "timer '%s' needs 'at' (when it fires)", raw(v));
        a->at = owned_when(L, get(L, n, "at"), "at");
        a->at_text = get(L, n, "at") ? text(L, get(L, n, "at"), "at") : NULL;
    } else if (strcmp(verb, "cancel_timer") == 0) {
        a->kind = CF_ACT_CANCEL_TIMER;
        a->name = text(L, v, "cancel_timer");
    } else if (strcmp(verb, "set") == 0 || strcmp(verb, "set_time") == 0) {
        a->kind = verb[3] ? CF_ACT_SET_TIME : CF_ACT_SET;
        parse_fields(L, v, a, verb[3] != '\0', verb);
    } else if (strcmp(verb, "assign") == 0) {
        a->kind = CF_ACT_ASSIGN;
        a->name = text(L, v, "assign");
        a->post_pos = pos_of(v);
        if (a->name && strcmp(a->name, "team") != 0)
            parse_post(L, v, a);
    } else if (strcmp(verb, "merge") == 0) {
        a->kind = CF_ACT_MERGE;
        a->value = owned_expr(L, v, "merge");
    } else if (strcmp(verb, "record") == 0) {
        a->kind = CF_ACT_RECORD;
        a->name = text(L, v, "record");
        if (get(L, n, "set"))
            parse_fields(L, get(L, n, "set"), a, 0, "set");
        if (get(L, n, "set_time")) {
            cf_action t = {0};
            parse_fields(L, get(L, n, "set_time"), &t, 1, "set_time");
            a->times = t.fields;
            a->ntimes = t.nfields;
        }
        if (!get(L, n, "key"))
            ERR(L, pos_of(n), "record '%s' needs 'key' (which entry it writes)", raw(v));
    } else if (strstr(verb, "_clock")) {
        static const struct {
            const char *verb;
            enum cf_action_kind kind;
        } clock_verbs[] = {{"start_clock", CF_ACT_START_CLOCK},
                           {"pause_clock", CF_ACT_PAUSE_CLOCK},
                           {"resume_clock", CF_ACT_RESUME_CLOCK},
                           {"extend_clock", CF_ACT_EXTEND_CLOCK},
                           {"stop_clock", CF_ACT_STOP_CLOCK}};
        for (size_t k = 0; k < sizeof clock_verbs / sizeof clock_verbs[0]; k++)
            if (strcmp(verb, clock_verbs[k].verb) == 0)
                a->kind = clock_verbs[k].kind;
        a->name = text(L, v, verb);
        if (a->kind == CF_ACT_START_CLOCK) {
            a->at = owned_when(L, get(L, n, "from"), "from");
            a->at_text = get(L, n, "from") ? text(L, get(L, n, "from"), "from") : NULL;
        }
        if (a->kind == CF_ACT_START_CLOCK || a->kind == CF_ACT_EXTEND_CLOCK) {
            a->months = single_field(L, get(L, n, "months"), "months");
            a->days = single_field(L, get(L, n, "days"), "days");
            if (!a->months && !a->days)
                ERR(L, pos_of(n), "%s '%s' needs its length: 'months', 'days' or both", verb,
                    raw(v));
        }
        if (a->kind != CF_ACT_START_CLOCK && a->kind != CF_ACT_STOP_CLOCK)
            a->ground = single_field(L, get(L, n, "ground"), "ground");
        if (a->kind == CF_ACT_PAUSE_CLOCK && !a->ground)
            ERR(L, pos_of(n), "pause_clock '%s' needs its 'ground' (中止执行, 公告送达 ...)",
                raw(v));
        if (get(L, n, "from") && a->kind != CF_ACT_START_CLOCK)
            ERR(L, pos_of(get(L, n, "from")), "'from' belongs to start_clock, not to %s", verb);
        if (a->kind != CF_ACT_START_CLOCK && a->kind != CF_ACT_EXTEND_CLOCK)
            for (const char *const *k = (const char *const[]){"months", "days", NULL}; *k; k++)
                if (get(L, n, *k))
                    ERR(L, pos_of(get(L, n, *k)),
                        "'%s' belongs to start_clock or extend_clock, not to %s", *k, verb);
        if ((a->kind == CF_ACT_START_CLOCK || a->kind == CF_ACT_STOP_CLOCK) && get(L, n, "ground"))
            ERR(L, pos_of(get(L, n, "ground")),
                "'ground' belongs to pause_clock, resume_clock or extend_clock, not to %s", verb);
    } else {
        a->kind = CF_ACT_NOTIFY;
        a->post_pos = pos_of(v);
        parse_post(L, v, a);
        a->message = get(L, n, "message") ? text(L, get(L, n, "message"), "message") : "";
    }
    /* Keys that belong to another verb are mistakes worth naming. */
    if (a->kind != CF_ACT_TASK)
        for (const char *const *k = (const char *const[]){"as", "due", "params", "title", NULL}; *k;
             k++)
            if (get(L, n, *k))
                ERR(L, pos_of(get(L, n, *k)), "'%s' belongs to a task, not to %s", *k, verb);
    if (a->kind != CF_ACT_TIMER && get(L, n, "at"))
        ERR(L, pos_of(get(L, n, "at")), "'at' belongs to a timer, not to %s", verb);
    if (a->kind != CF_ACT_NOTIFY && get(L, n, "message"))
        ERR(L, pos_of(get(L, n, "message")), "'message' belongs to notify, not to %s", verb);
    if (!strstr(verb, "_clock"))
        for (const char *const *k = (const char *const[]){"from", "months", "days", "ground", NULL};
             *k; k++)
            if (get(L, n, *k))
                ERR(L, pos_of(get(L, n, *k)), "'%s' belongs to a clock's action, not to %s", *k,
                    verb);
    if (a->kind != CF_ACT_TASK && a->kind != CF_ACT_NOTIFY && get(L, n, "post"))
        ERR(L, pos_of(get(L, n, "post")), "'post' belongs to a task or notify, not to %s", verb);
    parse_keyed(L, n, a, verb);
}

static cf_action *parse_actions(loader *L, yaml_node_t *n, size_t *count, const char *what)
{
    cf_action *acts;
    size_t i = 0;

    *count = 0;
    if (!n || !is_seq(L, n, what))
        return NULL;
    /* A cancel list is one action per name it lists. */
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++) {
        yaml_node_t *list = cancel_list(L, node(L, *it));
        *count += list ? seq_len(list) : 1;
    }
    acts = alloc_array(L, *count, sizeof *acts);
    if (*count && !acts) {
        *count = 0;
        return NULL;
    }
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++) {
        yaml_node_t *a = node(L, *it), *list = cancel_list(L, a);
        size_t first = i;
        if (!list) {
            parse_action(L, a, &acts[i++], NULL);
            continue;
        }
        if (seq_len(list) == 0)
            continue;
        /* The mapping is read (and its problems reported) once; each further name of the list
         * is the same action with another name. */
        parse_action(L, a, &acts[i++], node(L, ITEMS(list)[0]));
        for (yaml_node_item_t *x = ITEMS(list) + 1; x < ITEMS_END(list); x++) {
            cf_action *c = &acts[i++];
            *c = acts[first];
            c->name = text(L, node(L, *x),
                           acts[first].kind == CF_ACT_CANCEL_TASK ? "cancel_task" : "cancel_timer");
            c->name_pos = pos_of(node(L, *x));
        }
    }
    *count = i;
    return acts;
}

/* ---- transitions and states ---- */

static const char *const transition_keys[] = {"event",    "task", "timer",  "if",    "when",
                                              "to",       "do",   "except", "title", "refuse",
                                              "requires", "else", "of",     NULL};

static const char *const requirement_keys[] = {"that", "missing", NULL};

/* Parses `requires:` (a list of {that: condition, missing: what is missing when it fails}) and
 * `else:` of a transition. */
static void parse_requires(loader *L, yaml_node_t *n, cf_transition *t)
{
    yaml_node_t *req = get(L, n, "requires"), *otherwise = get(L, n, "else");
    size_t i = 0;

    if (otherwise && !req)
        ERR(L, pos_of(otherwise), "'else' runs when a requirement fails: it needs 'requires'");
    t->otherwise = parse_actions(L, otherwise, &t->notherwise, "'else'");
    if (!req || !is_seq(L, req, "requires"))
        return;
    t->nrequires = seq_len(req);
    t->requires = alloc_array(L, t->nrequires, sizeof *t->requires);
    if (!t->requires) {
        t->nrequires = 0;
        return;
    }
    for (yaml_node_item_t *it = ITEMS(req); it < ITEMS_END(req); it++, i++) {
        yaml_node_t *r = node(L, *it);
        cf_requirement *q = &t->requires[i];
        q->pos = pos_of(r);
        if (!is_map(L, r, "a requirement"))
            continue;
        check_keys(L, r, requirement_keys, "a requirement");
        if (!get(L, r, "that") || !get(L, r, "missing")) {
            ERR(L, pos_of(r),
                "a requirement needs 'that' (a condition) and 'missing' (what to tell when it "
                "fails)");
            continue;
        }
        q->that = owned_expr(L, get(L, r, "that"), "that");
        q->missing = text(L, get(L, r, "missing"), "missing");
    }
}

static void parse_transition(loader *L, yaml_node_t *n, cf_transition *t, int anywhere)
{
    yaml_node_t *ev = get(L, n, "event"), *when = get(L, n, "when"), *guard = get(L, n, "if");

    t->pos = pos_of(n);
    t->to_index = -1;
    if (!is_map(L, n, "a transition"))
        return;
    check_keys(L, n, transition_keys, "a transition");
    if (ev && when)
        ERR(L, pos_of(when),
            "a transition waits for an event ('event') or a condition ('when'), "
            "not both");
    if (!ev && !when)
        ERR(L, pos_of(n),
            "a transition needs 'event' (what it reacts to) or 'when' (a condition "
            "it waits for)");
    if (when && guard)
        ERR(L, pos_of(guard), "'if' belongs to an event transition; put the condition in 'when'");
    t->on = ev ? text(L, ev, "event") : NULL;
    t->on_pos = pos_of(ev ? ev : n);
    t->to_pos = pos_of(get(L, n, "to") ? get(L, n, "to") : n);
    t->task_pos = pos_of(get(L, n, "task") ? get(L, n, "task") : n);
    t->timer_pos = pos_of(get(L, n, "timer") ? get(L, n, "timer") : n);
    if (get(L, n, "task"))
        t->task = text(L, get(L, n, "task"), "task");
    if (get(L, n, "timer"))
        t->timer = text(L, get(L, n, "timer"), "timer");
    if (get(L, n, "of")) {
        t->of = text(L, get(L, n, "of"), "of");
        t->of_pos = pos_of(get(L, n, "of"));
        if (!t->task && !t->timer)
            ERR(L, t->of_pos,
                "'of' reads the entry of the event's key: it needs 'task' or 'timer'");
    }
    if (t->task && t->on && strncmp(t->on, "task.", 5) != 0)
        ERR(L, pos_of(get(L, n, "task")), "'task' filters task.* events, not '%s'", t->on);
    if (t->timer && t->on && strcmp(t->on, "timer.fired") != 0)
        ERR(L, pos_of(get(L, n, "timer")), "'timer' filters timer.fired events, not '%s'", t->on);
    if (when) {
        t->guard = owned_expr(L, when, "when");
        t->guard_text = text(L, when, "when");
    } else if (guard) {
        t->guard = owned_expr(L, guard, "if");
        t->guard_text = text(L, guard, "if");
    }
    if (get(L, n, "to"))
        t->to = text(L, get(L, n, "to"), "to");
    t->actions = parse_actions(L, get(L, n, "do"), &t->nactions, "'do'");
    if (get(L, n, "refuse")) {
        t->refuse = text(L, get(L, n, "refuse"), "refuse");
        t->refuse_pos = pos_of(get(L, n, "refuse"));
        if (!ev)
            ERR(L, t->refuse_pos,
                "'refuse' belongs to an event transition: a condition ('when') "
                "has no event to refuse");
        if (get(L, n, "to") || get(L, n, "do") || get(L, n, "requires"))
            ERR(L, t->refuse_pos,
                "a transition that refuses its event does nothing else: no 'to', 'do' or "
                "'requires' beside 'refuse'");
    }
    parse_requires(L, n, t);
    if (t->nrequires && !ev)
        ERR(L, pos_of(get(L, n, "requires")),
            "'requires' belongs to an event transition; a condition ('when') says it all");
    if (get(L, n, "except")) {
        yaml_node_t *ex = get(L, n, "except");
        size_t i = 0;
        if (!anywhere)
            ERR(L, pos_of(ex), "'except' belongs to any_state transitions");
        if (is_seq(L, ex, "except")) {
            t->nexcept = seq_len(ex);
            t->except = alloc_array(L, t->nexcept, sizeof *t->except);
            for (yaml_node_item_t *it = ITEMS(ex); t->except && it < ITEMS_END(ex); it++, i++)
                t->except[i] = text(L, node(L, *it), "a state in except");
        }
    }
}

static cf_transition *parse_transitions(loader *L, yaml_node_t *n, size_t *count, int anywhere)
{
    cf_transition *ts;
    size_t i = 0;

    *count = 0;
    if (!n || !is_seq(L, n, "transitions ('on')"))
        return NULL;
    *count = seq_len(n);
    ts = alloc_array(L, *count, sizeof *ts);
    if (*count && !ts) {
        *count = 0;
        return NULL;
    }
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, i++)
        parse_transition(L, node(L, *it), &ts[i], anywhere);
    return ts;
}

static const char *const state_keys[] = {"title", "final", "on_enter", "on_exit", "on", NULL};

static void parse_state(loader *L, yaml_node_t *k, yaml_node_t *n, cf_state *s)
{
    s->name = text(L, k, "a state name");
    s->pos = pos_of(k);
    if (n->type == YAML_SCALAR_NODE && raw(n)[0] == '\0')
        return; /* `archived:` with nothing under it */
    if (!is_map(L, n, "a state"))
        return;
    check_keys(L, n, state_keys, "a state");
    if (get(L, n, "title"))
        s->title = text(L, get(L, n, "title"), "title");
    if (get(L, n, "final"))
        s->final = boolean(L, get(L, n, "final"), "final");
    s->enter = parse_actions(L, get(L, n, "on_enter"), &s->nenter, "on_enter");
    s->exit = parse_actions(L, get(L, n, "on_exit"), &s->nexit, "on_exit");
    s->on = parse_transitions(L, get(L, n, "on"), &s->non, 0);
}

/* ---- catalogs: posts, task kinds, events, assignment ---- */

static void parse_posts(loader *L, yaml_node_t *n)
{
    size_t i = 0;
    if (!n) {
        ERR(L, L->root, "the workflow names no posts ('posts')");
        return;
    }
    if (!is_map(L, n, "posts"))
        return;
    L->wf->nposts = map_len(n);
    L->wf->posts = alloc_array(L, L->wf->nposts, sizeof *L->wf->posts);
    for (yaml_node_pair_t *p = PAIRS(n); L->wf->posts && p < PAIRS_END(n); p++, i++) {
        cf_post *post = &L->wf->posts[i];
        post->id = text(L, node(L, p->key), "a post id");
        post->title = text(L, node(L, p->value), "a post's title");
        post->pos = pos_of(node(L, p->key));
    }
}

static const char *const kind_keys[] = {"title", "post", "batch", "result", NULL};
static const char *const batch_keys[] = {"every", "group_by", NULL};

/* ---- a staff task's result fields (`result:`), for the completion form ---- */

static const char *const field_keys[] = {"type",        "title",   "help", "required",
                                         "required_if", "choices", "max",  NULL};
static const char *const field_types[] = {"yes_no", "text", "choice", "amount",
                                          "post",   "date", NULL};

static const cf_post *declared_post(const cf_workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->nposts; i++)
        if (wf->posts[i].id && strcmp(wf->posts[i].id, id) == 0)
            return &wf->posts[i];
    return NULL;
}

/* `choices:` of a choice or post field: a list of values, or a mapping of value to label. */
static void parse_choices(loader *L, yaml_node_t *n, cf_result_field *f)
{
    int map = n->type == YAML_MAPPING_NODE;
    size_t k = 0;

    if (!map && !is_seq(L, n, "choices"))
        return;
    f->nchoices = map ? map_len(n) : seq_len(n);
    f->choices = alloc_array(L, f->nchoices, sizeof *f->choices);
    f->choice_titles = alloc_array(L, f->nchoices, sizeof *f->choice_titles);
    if (!f->choices || !f->choice_titles) {
        f->nchoices = 0;
        return;
    }
    if (map) {
        for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, k++) {
            f->choices[k] = text(L, node(L, p->key), "a choice");
            f->choice_titles[k] = text(L, node(L, p->value), "a choice's label");
        }
    } else {
        for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, k++)
            f->choices[k] = text(L, node(L, *it), "a choice");
    }
    for (size_t i = 0; i < f->nchoices; i++) {
        if (!f->choices[i])
            continue;
        for (size_t j = 0; j < i; j++)
            if (f->choices[j] && strcmp(f->choices[i], f->choices[j]) == 0)
                ERR(L, pos_of(n), "result field '%s': the choice '%s' is given twice", f->name,
                    f->choices[i]);
        if (f->type == CF_FIELD_POST) {
            const cf_post *post = declared_post(L->wf, f->choices[i]);
            if (!post)
                ERR(L, pos_of(n), "result field '%s': '%s' is not a post of the workflow", f->name,
                    f->choices[i]);
            else if (!f->choice_titles[i])
                f->choice_titles[i] = post->title;
        }
    }
}

static void parse_result_field(loader *L, yaml_node_t *k, yaml_node_t *v, cf_result_field *f)
{
    yaml_node_t *n;

    f->name = text(L, k, "a result field");
    f->pos = pos_of(k);
    f->max = 1000;
    if (!is_map(L, v, "a result field"))
        return;
    check_keys(L, v, field_keys, "a result field");
    if (!(n = get(L, v, "type"))) {
        ERR(L, pos_of(v),
            "result field '%s' needs a type (yes_no, text, choice, amount, post or "
            "date)",
            raw(k));
    } else {
        size_t t = 0;
        while (field_types[t] && strcmp(field_types[t], raw(n)) != 0)
            t++;
        if (!field_types[t])
            ERR(L, pos_of(n),
                "unknown field type '%s' (yes_no, text, choice, amount, post or date)", raw(n));
        else
            f->type = (cf_field_type)t;
    }
    f->title = (n = get(L, v, "title")) ? text(L, n, "title") : f->name;
    if ((n = get(L, v, "help")))
        f->help = text(L, n, "help");
    if ((n = get(L, v, "required")))
        f->required = boolean(L, n, "required");
    if ((n = get(L, v, "required_if")) && is_map(L, n, "required_if")) {
        if (map_len(n) != 1)
            ERR(L, pos_of(n),
                "required_if names one yes/no field and its value, e.g. "
                "{complete: false}");
        else {
            f->if_field = text(L, node(L, PAIRS(n)->key), "required_if's field");
            f->if_value = boolean(L, node(L, PAIRS(n)->value), "required_if's value");
        }
    }
    if ((n = get(L, v, "max"))) {
        char *end;
        long m = strtol(raw(n), &end, 10);
        if (*end || end == raw(n) || m < 1 || m > 100000 || f->type != CF_FIELD_TEXT)
            ERR(L, pos_of(n), "max is for text fields: a whole number from 1 to 100000");
        else
            f->max = (int)m;
    }
    n = get(L, v, "choices");
    if (n && f->type != CF_FIELD_CHOICE && f->type != CF_FIELD_POST)
        ERR(L, pos_of(n), "choices are for choice and post fields");
    else if (n)
        parse_choices(L, n, f);
    else if (f->type == CF_FIELD_CHOICE)
        ERR(L, pos_of(v), "result field '%s' is a choice: give its choices", raw(k));
}

/* `result:` of staff task `tk`: its fields, each required_if naming a yes/no field of them. */
static void parse_result(loader *L, yaml_node_t *n, cf_task_kind *tk)
{
    size_t i = 0;

    tk->result_declared = 1;
    if (n->type == YAML_SCALAR_NODE && raw(n)[0] == '\0')
        return; /* `result:` alone: nothing to fill in */
    if (!is_map(L, n, "result"))
        return;
    tk->nresult = map_len(n);
    tk->result = alloc_array(L, tk->nresult, sizeof *tk->result);
    if (!tk->result) {
        tk->nresult = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++)
        parse_result_field(L, node(L, p->key), node(L, p->value), &tk->result[i]);
    for (i = 0; i < tk->nresult; i++) {
        const cf_result_field *f = &tk->result[i];
        size_t j = 0;
        if (!f->if_field)
            continue;
        while (j < tk->nresult &&
               !(tk->result[j].name && strcmp(tk->result[j].name, f->if_field) == 0))
            j++;
        if (j == tk->nresult || tk->result[j].type != CF_FIELD_YES_NO)
            ERR(L, f->pos,
                "result field '%s': required_if names '%s', which is no yes/no field "
                "of this result",
                f->name ? f->name : "", f->if_field);
    }
}

static void parse_kinds(loader *L, yaml_node_t *n, int worker, size_t *at)
{
    if (!n || !is_map(L, n, worker ? "workers" : "staff_tasks"))
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        cf_task_kind *tk = &L->wf->kinds[(*at)++];
        tk->name = text(L, k, "a task kind");
        tk->pos = pos_of(k);
        tk->worker = worker;
        if (v->type == YAML_SCALAR_NODE) {
            tk->title = text(L, v, "title");
        } else if (is_map(L, v, "a task kind")) {
            yaml_node_t *b = get(L, v, "batch");
            check_keys(L, v, kind_keys, "a task kind");
            if (get(L, v, "title"))
                tk->title = text(L, get(L, v, "title"), "title");
            if (get(L, v, "post")) {
                tk->post = text(L, get(L, v, "post"), "post");
                tk->post_pos = pos_of(get(L, v, "post"));
            }
            if (b && !worker)
                ERR(L, pos_of(b), "only worker kinds are batched; '%s' is a staff task", tk->name);
            if (get(L, v, "result") && worker)
                ERR(L, pos_of(get(L, v, "result")),
                    "only staff tasks declare a result form; '%s' is a worker kind", tk->name);
            else if (get(L, v, "result"))
                parse_result(L, get(L, v, "result"), tk);
            if (b && is_map(L, b, "batch")) {
                char err[256];
                int col = 0;
                yaml_node_t *every = get(L, b, "every");
                check_keys(L, b, batch_keys, "batch");
                if (!every || !get(L, b, "group_by"))
                    ERR(L, pos_of(b), "a batch needs 'every' (its schedule) and 'group_by'");
                if (every) {
                    tk->batch_text = text(L, every, "every");
                    tk->batch = cf_schedule_parse(raw(every), err, sizeof err, &col);
                    if (!tk->batch)
                        ERR(L, pos_in(L, every, col), "every: bad schedule: %s", err);
                    own(L, NULL, NULL, tk->batch);
                }
                if (get(L, b, "group_by"))
                    tk->group_by = text(L, get(L, b, "group_by"), "group_by");
            }
        }
        if (!worker && !tk->post)
            ERR(L, tk->pos, "staff task '%s' needs 'post' (whose queue it goes to)", raw(k));
    }
}

/* Event types the engine itself produces; a workflow handles them without declaring them. */
static const char *const builtin_events[] = {"task.completed", "task.failed", "task.returned",
                                             "timer.fired", NULL};

static int is_builtin_event(const char *type)
{
    for (const char *const *b = builtin_events; *b; b++)
        if (strcmp(*b, type) == 0)
            return 1;
    return 0;
}

static void parse_events(loader *L, yaml_node_t *n)
{
    size_t i = 0, nb = 0;
    cf_workflow *wf = L->wf;

    if (n && !is_seq(L, n, "events"))
        n = NULL;
    while (builtin_events[nb])
        nb++;
    wf->nevents = seq_len(n) + nb;
    wf->events = alloc_array(L, wf->nevents, sizeof *wf->events);
    if (!wf->events) {
        wf->nevents = 0;
        return;
    }
    for (size_t b = 0; b < nb; b++, i++) {
        wf->events[i].type = builtin_events[b];
        wf->events[i].pos = TOP;
    }
    for (yaml_node_item_t *it = n ? ITEMS(n) : NULL; n && it < ITEMS_END(n); it++, i++) {
        yaml_node_t *e = node(L, *it);
        wf->events[i].type = text(L, e, "an event type");
        wf->events[i].pos = pos_of(e);
        if (wf->events[i].type && is_builtin_event(wf->events[i].type))
            ERR(L, pos_of(e), "'%s' is produced by caseflow itself and needs no declaration",
                wf->events[i].type);
    }
}

/* Where returned staff tasks go (`returns:`): `requeue`, a post, or an expression giving one. */
static void set_return(loader *L, cf_task_kind *tk, yaml_node_t *v)
{
    tk->returned_pos = pos_of(v);
    if (v->type == YAML_SCALAR_NODE && strcmp(raw(v), "requeue") == 0)
        tk->returned_requeue = 1;
    else if (v->type == YAML_SCALAR_NODE && plain_post(raw(v)))
        tk->returned_post = text(L, v, "returns");
    else
        tk->returned_expr = owned_expr(L, v, "returns");
}

/* `returns:` maps staff task kinds (and `default`, every other staff task) to where a returned
 * task goes. */
static void parse_returns(loader *L, yaml_node_t *n)
{
    yaml_node_t *def = NULL;

    if (!n || !is_map(L, n, "returns"))
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *name = raw(k);
        cf_task_kind *tk = NULL;
        if (strcmp(name, "default") == 0) {
            def = v;
            continue;
        }
        for (size_t i = 0; i < L->wf->nkinds && !tk; i++)
            if (L->wf->kinds[i].name && strcmp(L->wf->kinds[i].name, name) == 0)
                tk = &L->wf->kinds[i];
        if (!tk)
            ERR(L, pos_of(k), "returns: no staff task is named '%s'", name);
        else if (tk->worker)
            ERR(L, pos_of(k), "returns: '%s' is a worker kind; only staff return tasks", name);
        else
            set_return(L, tk, v);
    }
    for (size_t i = 0; def && i < L->wf->nkinds; i++) {
        cf_task_kind *tk = &L->wf->kinds[i];
        if (!tk->worker && !tk->returned_requeue && !tk->returned_post && !tk->returned_expr)
            set_return(L, tk, def);
    }
}

static void parse_assignment(loader *L, yaml_node_t *n)
{
    static const char *const keys[] = {"teams", NULL};
    yaml_node_t *teams;
    size_t i = 0;

    if (!n || !is_map(L, n, "assignment"))
        return;
    check_keys(L, n, keys, "assignment");
    teams = get(L, n, "teams");
    if (!teams || !is_seq(L, teams, "teams") || seq_len(teams) == 0) {
        ERR(L, pos_of(n), "assignment needs 'teams', a list of the posts cases are dealt to");
        return;
    }
    L->wf->nteams = seq_len(teams);
    L->wf->teams = alloc_array(L, L->wf->nteams, sizeof *L->wf->teams);
    L->wf->team_pos = alloc_array(L, L->wf->nteams, sizeof *L->wf->team_pos);
    if (!L->wf->teams || !L->wf->team_pos) {
        L->wf->nteams = 0;
        return;
    }
    for (yaml_node_item_t *it = ITEMS(teams); it < ITEMS_END(teams); it++, i++) {
        L->wf->teams[i] = text(L, node(L, *it), "a team");
        L->wf->team_pos[i] = pos_of(node(L, *it));
    }
}

/* ---- settings, clocks and decisions ---- */

/* `settings:` name -> a value of the court's own choosing (a number, true/false, a text, a list).
 */
static void parse_settings(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    wf->settings_json = json_object();
    own_json(L, wf->settings_json);
    if (!n || !is_map(L, n, "settings"))
        return;
    wf->nsettings = map_len(n);
    wf->settings = alloc_array(L, wf->nsettings, sizeof *wf->settings);
    if (!wf->settings) {
        wf->nsettings = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        cf_setting *st = &wf->settings[i];
        yaml_node_t *v = node(L, p->value);
        st->name = text(L, node(L, p->key), "a setting's name");
        st->pos = pos_of(node(L, p->key));
        if (v->type == YAML_MAPPING_NODE)
            ERR(L, pos_of(v), "setting '%s' must be a number, true or false, a text or a list",
                raw(node(L, p->key)));
        st->value = literal(L, v, 0);
        if (st->name && wf->settings_json)
            json_object_set(wf->settings_json, st->name, st->value);
        own_json(L, st->value);
    }
}

static const char *const clock_keys[] = {"title",     "field", "at", "exact",
                                         "deadlines", "dates", NULL};

/* `deadlines:` or `dates:` of a clock: name -> time expression. */
static cf_clock_deadline *parse_deadlines(loader *L, yaml_node_t *n, size_t *count,
                                          const char *what)
{
    cf_clock_deadline *v;
    size_t i = 0;

    *count = 0;
    if (!n || !is_map(L, n, what))
        return NULL;
    v = alloc_array(L, map_len(n), sizeof *v);
    if (!v)
        return NULL;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = node(L, p->key), *x = node(L, p->value);
        v[i].name = text(L, k, what);
        v[i].pos = pos_of(k);
        v[i].at = owned_when(L, x, v[i].name ? v[i].name : what);
        v[i].text = x->type == YAML_SCALAR_NODE ? text(L, x, what) : NULL;
    }
    *count = i;
    return v;
}

static void parse_clocks(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    if (!n || !is_map(L, n, "clocks"))
        return;
    wf->nclocks = map_len(n);
    wf->clocks = alloc_array(L, wf->nclocks, sizeof *wf->clocks);
    if (!wf->clocks) {
        wf->nclocks = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value), *x;
        cf_clock *c = &wf->clocks[i];
        c->name = text(L, k, "a clock's name");
        c->pos = pos_of(k);
        c->minute = 23 * 60 + 59;
        if (!is_map(L, v, "a clock"))
            continue;
        check_keys(L, v, clock_keys, "a clock");
        if ((x = get(L, v, "title")))
            c->title = text(L, x, "title");
        if ((x = get(L, v, "field")))
            c->field = text(L, x, "field");
        if ((x = get(L, v, "exact")))
            c->exact = boolean(L, x, "exact");
        if ((x = get(L, v, "at"))) {
            const char *t = raw(x);
            int h = -1, m = -1;
            char tail;
            if (sscanf(t, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
                ERR(L, pos_of(x),
                    "at: the last day's time must be HH:MM (00:00 to 23:59), not '%s'", t);
            else
                c->minute = h * 60 + m;
        }
        c->deadlines = parse_deadlines(L, get(L, v, "deadlines"), &c->ndeadlines, "deadlines");
        c->dates = parse_deadlines(L, get(L, v, "dates"), &c->ndates, "dates");
    }
}

static const char *const decision_keys[] = {"title", "by", "in", "except", NULL};

/* A list of state names (`in`, `except` of a decision). */
static const char **state_list(loader *L, yaml_node_t *n, size_t *count, cf_pos **pos,
                               const char *what)
{
    const char **v;
    size_t i = 0;

    *count = 0;
    if (!n || !is_seq(L, n, what))
        return NULL;
    v = alloc_array(L, seq_len(n), sizeof *v);
    *pos = alloc_array(L, seq_len(n), sizeof **pos);
    if (!v || !*pos)
        return NULL;
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, i++) {
        v[i] = text(L, node(L, *it), what);
        (*pos)[i] = pos_of(node(L, *it));
    }
    *count = i;
    return v;
}

static void parse_decisions(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    if (!n || !is_map(L, n, "decisions"))
        return;
    wf->ndecisions = map_len(n);
    wf->decisions = alloc_array(L, wf->ndecisions, sizeof *wf->decisions);
    if (!wf->decisions) {
        wf->ndecisions = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value), *by;
        cf_decision *d = &wf->decisions[i];
        size_t j = 0;
        d->name = text(L, k, "a decision's name");
        d->pos = pos_of(k);
        if (!is_map(L, v, "a decision"))
            continue;
        check_keys(L, v, decision_keys, "a decision");
        if (get(L, v, "title"))
            d->title = text(L, get(L, v, "title"), "title");
        by = get(L, v, "by");
        if (!by || !is_seq(L, by, "by") || seq_len(by) == 0) {
            ERR(L, pos_of(by ? by : v),
                "decision '%s' needs 'by': the posts whose staff may make it", raw(k));
        } else if ((d->by = alloc_array(L, seq_len(by), sizeof *d->by))) {
            for (yaml_node_item_t *it = ITEMS(by); it < ITEMS_END(by); it++, j++) {
                yaml_node_t *x = node(L, *it);
                d->by[j].pos = pos_of(x);
                if (x->type == YAML_SCALAR_NODE && plain_post(raw(x)))
                    d->by[j].post = text(L, x, "a post");
                else
                    d->by[j].expr = owned_expr(L, x, "by");
            }
            d->nby = j;
        }
        d->in = state_list(L, get(L, v, "in"), &d->nin, &d->in_pos, "in");
        d->except = state_list(L, get(L, v, "except"), &d->nexcept, &d->except_pos, "except");
        if (get(L, v, "in") && get(L, v, "except"))
            ERR(L, pos_of(get(L, v, "except")),
                "decision '%s' names the states where it may be made ('in') or where not "
                "('except'), not both",
                raw(k));
    }
}

/* ---- files that the workflow names ---- */

/* Joins `rel` to the folder of `base`, unless `rel` is absolute. */
static char *relative_to(loader *L, const char *base, const char *rel)
{
    const char *slash = strrchr(base, '/');
    size_t dirlen = slash ? (size_t)(slash - base) + 1 : 0;
    char *out;

    if (rel[0] == '/' || dirlen == 0)
        return cf_arena_strdup(L->ar, rel);
    out = cf_arena_alloc(L->ar, dirlen + strlen(rel) + 1);
    if (out) {
        memcpy(out, base, dirlen);
        strcpy(out + dirlen, rel);
    }
    return out;
}

static void load_calendar(loader *L, yaml_node_t *n)
{
    char err[512];
    const char *path;

    if (!n) {
        ERR(L, L->root, "the workflow names no calendar ('calendar: calendars/cn.yaml')");
        return;
    }
    path = relative_to(L, L->file, raw(n));
    if (!path)
        return;
    L->wf->calendar = cf_calendar_load(path, err, sizeof err);
    if (!L->wf->calendar)
        ERR(L, pos_of(n), "calendar: %s", err);
}

static void load_schemas(loader *L, yaml_node_t *n)
{
    char err[512];
    const char *path = relative_to(L, L->file, n ? raw(n) : "../schemas/events");

    L->wf->schemas = cf_schema_set_new();
    if (!path || !L->wf->schemas)
        return;
    if (cf_schema_set_load_dir(L->wf->schemas, path, err, sizeof err) != 0)
        ERR(L, pos_of(n), "schemas: %s", err);
}

/* ---- lookups by name ---- */

/* A name and the index of what it names, in a list sorted by name, then by index. */
struct named {
    const char *name;
    size_t i;
};

struct cf_workflow_index {
    struct named *states, *posts, *kinds, *events;
    size_t nstates, nposts, nkinds, nevents;
};

static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts the names found at base + i * stride (a `const char *` member of an array of n structs;
 * NULL names left out) into a new list owned by the arena; NULL when memory runs out. */
static struct named *index_names(cf_arena *ar, const void *base, size_t n, size_t stride,
                                 size_t *count)
{
    struct named *v = n ? cf_arena_alloc(ar, n * sizeof *v) : NULL;
    *count = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)(const void *)((const char *)base + i * stride);
        if (name)
            v[(*count)++] = (struct named){name, i};
    }
    qsort(v, *count, sizeof *v, named_cmp);
    return v;
}

/* The index of the first declaration of `name` in a sorted list, or -1. */
static long index_find(const struct named *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].name, name) == 0 ? (long)v[lo].i : -1;
}

/* Indexes the workflow's states, posts, task kinds and events by name.  Without it (out of
 * memory) the lookups search linearly. */
static void build_index(loader *L)
{
    cf_workflow *wf = L->wf;
    struct cf_workflow_index *x = cf_arena_alloc(L->ar, sizeof *x);
    if (!x)
        return;
    x->states = index_names(L->ar, wf->states ? &wf->states[0].name : NULL, wf->nstates,
                            sizeof *wf->states, &x->nstates);
    x->posts = index_names(L->ar, wf->posts ? &wf->posts[0].id : NULL, wf->nposts,
                           sizeof *wf->posts, &x->nposts);
    x->kinds = index_names(L->ar, wf->kinds ? &wf->kinds[0].name : NULL, wf->nkinds,
                           sizeof *wf->kinds, &x->nkinds);
    x->events = index_names(L->ar, wf->events ? &wf->events[0].type : NULL, wf->nevents,
                            sizeof *wf->events, &x->nevents);
    if ((wf->nstates && !x->states) || (wf->nposts && !x->posts) || (wf->nkinds && !x->kinds) ||
        (wf->nevents && !x->events))
        return;
    wf->index = x;
}

int cf_workflow_state_index(const cf_workflow *wf, const char *name)
{
    if (name && wf->index)
        return (int)index_find(wf->index->states, wf->index->nstates, name);
    for (size_t i = 0; name && i < wf->nstates; i++)
        if (wf->states[i].name && strcmp(wf->states[i].name, name) == 0)
            return (int)i;
    return -1;
}

const cf_post *cf_workflow_post(const cf_workflow *wf, const char *id)
{
    if (id && wf->index) {
        long i = index_find(wf->index->posts, wf->index->nposts, id);
        return i < 0 ? NULL : &wf->posts[i];
    }
    for (size_t i = 0; id && i < wf->nposts; i++)
        if (wf->posts[i].id && strcmp(wf->posts[i].id, id) == 0)
            return &wf->posts[i];
    return NULL;
}

const cf_task_kind *cf_workflow_kind(const cf_workflow *wf, const char *name)
{
    if (name && wf->index) {
        long i = index_find(wf->index->kinds, wf->index->nkinds, name);
        return i < 0 ? NULL : &wf->kinds[i];
    }
    for (size_t i = 0; name && i < wf->nkinds; i++)
        if (wf->kinds[i].name && strcmp(wf->kinds[i].name, name) == 0)
            return &wf->kinds[i];
    return NULL;
}

const cf_event_decl *cf_workflow_event(const cf_workflow *wf, const char *type)
{
    if (type && wf->index) {
        long i = index_find(wf->index->events, wf->index->nevents, type);
        return i < 0 ? NULL : &wf->events[i];
    }
    for (size_t i = 0; type && i < wf->nevents; i++)
        if (wf->events[i].type && strcmp(wf->events[i].type, type) == 0)
            return &wf->events[i];
    return NULL;
}

/* Clocks, settings and decisions are few: a linear search is enough. */
const cf_clock *cf_workflow_clock(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->nclocks; i++)
        if (wf->clocks[i].name && strcmp(wf->clocks[i].name, name) == 0)
            return &wf->clocks[i];
    return NULL;
}

const cf_setting *cf_workflow_setting(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->nsettings; i++)
        if (wf->settings[i].name && strcmp(wf->settings[i].name, name) == 0)
            return &wf->settings[i];
    return NULL;
}

const cf_decision *cf_workflow_decision(const cf_workflow *wf, const char *name)
{
    for (size_t i = 0; name && i < wf->ndecisions; i++)
        if (wf->decisions[i].name && strcmp(wf->decisions[i].name, name) == 0)
            return &wf->decisions[i];
    return NULL;
}

/* Reports every declaration of a name but the first, from a sorted list: `what` names the kind
 * of thing ("state"), `pos_of_i` where declaration i stands. */
#define REPORT_TWICE(L, list, n, what, posexpr)                                      \
    do {                                                                             \
        for (size_t k_ = 1; (list) && k_ < (n); k_++) {                              \
            if (strcmp((list)[k_].name, (list)[k_ - 1].name) == 0) {                 \
                size_t i = (list)[k_].i;                                             \
                ERR(L, posexpr, "%s '%s' is declared twice", what, (list)[k_].name); \
            }                                                                        \
        }                                                                            \
    } while (0)

/* ---- checks over the whole workflow ---- */

/* Names collected from the whole workflow, for checking references against them. */
typedef struct names {
    const char **v;
    size_t n, cap;
} names;

/* Adds a name; names_seal sorts the list and drops repeats before names_has is asked. */
static void names_add(names *s, const char *name)
{
    if (!name)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        const char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = name;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void names_seal(names *s)
{
    size_t k = 0;
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, str_cmp);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i], s->v[k]) != 0)
            s->v[++k] = s->v[i];
    s->n = k + 1;
}

static int names_has(const names *s, const char *name)
{
    return name && s->n && bsearch(&name, s->v, s->n, sizeof *s->v, str_cmp) != NULL;
}

typedef struct catalog {
    names activities, timers, handled, started_clocks, records;
    names returned;   /* the tasks a task.returned transition names */
    int returned_any; /* an any_state task.returned transition takes every task */
} catalog;

static void collect_actions(catalog *c, const cf_action *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* An activity named at run time (incident_${task.name}) cannot be named in advance. */
        if (acts[i].kind == CF_ACT_TASK && !acts[i].as_template)
            names_add(&c->activities, acts[i].as);
        else if (acts[i].kind == CF_ACT_TIMER)
            names_add(&c->timers, acts[i].name);
        else if (acts[i].kind == CF_ACT_START_CLOCK)
            names_add(&c->started_clocks, acts[i].name);
        else if (acts[i].kind == CF_ACT_RECORD)
            names_add(&c->records, acts[i].name);
    }
}

static void collect_transitions(catalog *c, const cf_transition *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        collect_actions(c, ts[i].actions, ts[i].nactions);
        collect_actions(c, ts[i].otherwise, ts[i].notherwise);
        names_add(&c->handled, ts[i].on);
        if (ts[i].on && strcmp(ts[i].on, "task.returned") == 0) {
            names_add(&c->returned, ts[i].task);
            c->returned_any |= !ts[i].task && !ts[i].guard && ts[i].nexcept == 0;
        }
    }
}

/* The top-level names an expression may read. */
static const char *const expr_roots[] = {
    "case",       "event",         "task",       "activities",   "timers",   "state",
    "now",        "event_type",    "event_time", "event_source", "settings", "clocks",
    "event_post", "event_account", "missing",    "record",       "timer",    NULL};

/* Where `word` stands in the expression `e`, or `pos` when that cannot be told. */
static cf_pos word_pos(loader *L, const cf_expr *e, const char *word, cf_pos pos)
{
    const yaml_node_t *n = expr_node(L, e);
    return n ? pos_in(L, n, word_column(raw((yaml_node_t *)n), word)) : pos;
}

static void check_expr(loader *L, const catalog *c, const cf_expr *e, cf_pos pos, const char *what)
{
    if (!e)
        return;
    if (expr_node(L, e))
        pos = pos_of(expr_node(L, e));
    for (size_t i = 0; i < cf_expr_path_count(e); i++) {
        const char *path = cf_expr_path(e, i);
        size_t len = strcspn(path, ".");
        int ok = 0;
        for (const char *const *r = expr_roots; *r; r++)
            ok |= strlen(*r) == len && strncmp(*r, path, len) == 0;
        if (!ok)
            ERR(L, word_pos(L, e, path, pos),
                "%s reads '%s': expressions read case.*, event.*, task.*, timer.*, record.*, "
                "activities.*, timers.*, clocks.*, settings.*, state, now, event_type, "
                "event_time, event_source, event_post, event_account or missing",
                what, path);
        else if (len == 8 && strncmp(path, "settings", 8) == 0) {
            char name[128];
            size_t nl = strcspn(path + 9, ".");
            snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1),
                     path + 9);
            if (!path[8] || !cf_workflow_setting(L->wf, name))
                ERR(L, word_pos(L, e, path, pos),
                    "%s reads '%s', but no setting is named so (declare it under settings)", what,
                    path);
        } else if (len == 6 && strncmp(path, "clocks", 6) == 0 && path[6] == '.') {
            char name[128];
            size_t nl = strcspn(path + 7, ".");
            snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1),
                     path + 7);
            if (!cf_workflow_clock(L->wf, name))
                ERR(L, word_pos(L, e, path, pos),
                    "%s reads '%s', but no clock is named '%s' (declare it under clocks)", what,
                    path, name);
        }
    }
    for (size_t i = 0; i < cf_expr_activity_count(e); i++) {
        const char *name = cf_expr_activity(e, i);
        if (!names_has(&c->activities, name))
            ERR(L, word_pos(L, e, name, pos),
                "%s: no task of this workflow is named '%s' (done, failed, open, all_done and "
                "any_done take the name of an activity)",
                what, name);
    }
}

static void check_when(loader *L, const cf_when *w, cf_pos pos, const char *what)
{
    if (!w)
        return;
    for (size_t i = 0; i < cf_when_ref_count(w); i++) {
        const char *ref = cf_when_ref(w, i);
        if (strncmp(ref, "clock.", 6) == 0) {
            /* A deadline on a clock that does not exist: on none. */
            if (!cf_workflow_clock(L->wf, ref + 6))
                ERR(L, when_word_pos(L, w, ref, pos),
                    "%s counts from '%s', but no clock is named '%s': a deadline must be on a "
                    "clock of this workflow (declare it under clocks)",
                    what, ref, ref + 6);
        } else if (strcmp(ref, "now") != 0 && strncmp(ref, "case.", 5) != 0 &&
                   strncmp(ref, "event.", 6) != 0 && strncmp(ref, "record.", 7) != 0) {
            ERR(L, when_word_pos(L, w, ref, pos),
                "%s counts from '%s': a time counts from case.*, event.*, record.*, clock.* or "
                "now",
                what, ref);
        }
    }
}

/* The clock whose deadlines (timers) include `timer`, or NULL. */
static const cf_clock *deadline_clock(const cf_workflow *wf, const char *timer)
{
    for (size_t i = 0; timer && i < wf->nclocks; i++)
        for (size_t k = 0; k < wf->clocks[i].ndeadlines; k++)
            if (wf->clocks[i].deadlines[k].name &&
                strcmp(wf->clocks[i].deadlines[k].name, timer) == 0)
                return &wf->clocks[i];
    return NULL;
}

static void check_field(loader *L, const catalog *c, const cf_field *f, const char *what)
{
    if (f)
        check_expr(L, c, f->expr, f->pos, what);
}

static void check_post_ref(loader *L, const char *post, cf_pos pos)
{
    if (post && !cf_workflow_post(L->wf, post))
        ERR(L, pos, "unknown post '%s'", post);
}

/* Every staff task has a path for task.returned: an entry of `returns` (or its default), or a
 * transition that takes it. */
static void check_returns(loader *L, const catalog *c, const cf_task_kind *tk)
{
    if (tk->worker || !tk->name)
        return;
    check_post_ref(L, tk->returned_post, tk->returned_pos);
    check_expr(L, c, tk->returned_expr, tk->returned_pos, "returns");
    if (!tk->returned_requeue && !tk->returned_post && !tk->returned_expr && !c->returned_any &&
        !names_has(&c->returned, tk->name))
        ERR(L, tk->pos,
            "staff task '%s' has no path for task.returned: say where a returned one goes under "
            "returns (or its default), or add a transition 'event: task.returned, task: %s'",
            tk->name, tk->name);
}

static void check_actions(loader *L, const catalog *c, const cf_action *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cf_action *a = &acts[i];
        const cf_task_kind *tk;
        check_expr(L, c, a->key, a->key_pos, "key");
        check_expr(L, c, a->each, a->key_pos, "each");
        check_expr(L, c, a->where, a->key_pos, "where");
        switch (a->kind) {
        case CF_ACT_RECORD:
            for (size_t f = 0; f < a->nfields; f++)
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
            for (size_t f = 0; f < a->ntimes; f++)
                check_when(L, a->times[f].when, a->times[f].pos, a->times[f].name);
            break;
        case CF_ACT_TASK:
            tk = cf_workflow_kind(L->wf, a->name);
            if (a->name && !tk)
                ERR(L, a->name_pos,
                    "unknown task kind '%s' (declare it under workers or staff_tasks)", a->name);
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "post");
            check_when(L, a->at, a->pos, "due");
            for (size_t f = 0; f < a->nfields; f++)
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
            if (tk && tk->batch && tk->group_by) {
                int grouped = 0;
                for (size_t f = 0; f < a->nfields; f++)
                    grouped |= a->fields[f].name && strcmp(a->fields[f].name, tk->group_by) == 0;
                if (!grouped)
                    ERR(L, a->pos, "task '%s' is batched by '%s' but its params do not set it",
                        a->name, tk->group_by);
            }
            break;
        case CF_ACT_CANCEL_TASK:
            if (a->name && !names_has(&c->activities, a->name))
                ERR(L, a->name_pos, "cancel_task '%s' names no task of this workflow", a->name);
            break;
        case CF_ACT_TIMER:
            check_when(L, a->at, a->pos, "at");
            if (deadline_clock(L->wf, a->name))
                ERR(L, a->name_pos,
                    "timer '%s' is a deadline of clock '%s': the clock sets it and moves it with "
                    "its pauses, no action starts it",
                    a->name, deadline_clock(L->wf, a->name)->name);
            break;
        case CF_ACT_START_CLOCK:
        case CF_ACT_PAUSE_CLOCK:
        case CF_ACT_RESUME_CLOCK:
        case CF_ACT_EXTEND_CLOCK:
        case CF_ACT_STOP_CLOCK:
            if (a->name && !cf_workflow_clock(L->wf, a->name))
                ERR(L, a->name_pos, "unknown clock '%s' (declare it under clocks)", a->name);
            check_when(L, a->at, a->pos, "from");
            check_field(L, c, a->months, "months");
            check_field(L, c, a->days, "days");
            check_field(L, c, a->ground, "ground");
            break;
        case CF_ACT_CANCEL_TIMER:
            if (a->name && !names_has(&c->timers, a->name))
                ERR(L, a->name_pos, "cancel_timer '%s' names no timer this workflow starts",
                    a->name);
            break;
        case CF_ACT_SET:
        case CF_ACT_SET_TIME:
            for (size_t f = 0; f < a->nfields; f++) {
                check_expr(L, c, a->fields[f].expr, a->fields[f].pos, a->fields[f].name);
                check_when(L, a->fields[f].when, a->fields[f].pos, a->fields[f].name);
            }
            break;
        case CF_ACT_ASSIGN:
            if (a->name && strcmp(a->name, "team") == 0 && L->wf->nteams == 0)
                ERR(L, a->name_pos, "'assign: team' needs an 'assignment' with its teams");
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "assign");
            break;
        case CF_ACT_MERGE: check_expr(L, c, a->value, a->pos, "merge"); break;
        case CF_ACT_NOTIFY:
            check_post_ref(L, a->post, a->post_pos);
            check_expr(L, c, a->post_expr, a->pos, "notify");
            break;
        }
    }
}

static void check_transitions(loader *L, const catalog *c, cf_transition *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cf_transition *t = &ts[i];
        if (t->to) {
            t->to_index = cf_workflow_state_index(L->wf, t->to);
            if (t->to_index < 0)
                ERR(L, t->to_pos, "unknown state '%s'", t->to);
        }
        if (t->on && !cf_workflow_event(L->wf, t->on))
            ERR(L, t->on_pos, "unknown event '%s' (declare it under events)", t->on);
        if (t->task && !names_has(&c->activities, t->task))
            ERR(L, t->task_pos, "task '%s' names no task of this workflow", t->task);
        if (t->timer && !names_has(&c->timers, t->timer))
            ERR(L, t->timer_pos, "timer '%s' is never started", t->timer);
        if (t->of && !names_has(&c->records, t->of))
            ERR(L, t->of_pos, "of: no action records entries in '%s' (record: %s)", t->of, t->of);
        for (size_t e = 0; e < t->nexcept; e++)
            if (t->except[e] && cf_workflow_state_index(L->wf, t->except[e]) < 0)
                ERR(L, t->pos, "unknown state '%s' in except", t->except[e]);
        check_expr(L, c, t->guard, t->pos, t->on ? "if" : "when");
        check_actions(L, c, t->actions, t->nactions);
        for (size_t r = 0; r < t->nrequires; r++)
            check_expr(L, c, t->requires[r].that, t->requires[r].pos, "that");
        check_actions(L, c, t->otherwise, t->notherwise);
    }
}

/* Clocks: each is started somewhere, its deadlines count from something that exists; decisions
 * name declared posts and states. */
static void check_clocks_and_decisions(loader *L, const catalog *c)
{
    cf_workflow *wf = L->wf;

    for (size_t i = 0; i < wf->nclocks; i++) {
        const cf_clock *k = &wf->clocks[i];
        if (!k->name)
            continue;
        if (cf_workflow_clock(wf, k->name) != k)
            ERR(L, k->pos, "clock '%s' is declared twice", k->name);
        if (!names_has(&c->started_clocks, k->name))
            ERR(L, k->pos, "clock '%s' is never started (no action 'start_clock: %s')", k->name,
                k->name);
        for (size_t d = 0; d < k->ndeadlines; d++)
            check_when(L, k->deadlines[d].at, k->deadlines[d].pos, k->deadlines[d].name);
        for (size_t d = 0; d < k->ndates; d++)
            check_when(L, k->dates[d].at, k->dates[d].pos, k->dates[d].name);
    }
    for (size_t i = 0; i < wf->ndecisions; i++) {
        const cf_decision *d = &wf->decisions[i];
        if (!d->name)
            continue;
        if (cf_workflow_decision(wf, d->name) != d)
            ERR(L, d->pos, "decision '%s' is declared twice", d->name);
        for (size_t b = 0; b < d->nby; b++) {
            check_post_ref(L, d->by[b].post, d->by[b].pos);
            check_expr(L, c, d->by[b].expr, d->by[b].pos, "by");
        }
        for (size_t s = 0; s < d->nin; s++)
            if (d->in[s] && cf_workflow_state_index(wf, d->in[s]) < 0)
                ERR(L, d->in_pos[s], "unknown state '%s'", d->in[s]);
        for (size_t s = 0; s < d->nexcept; s++)
            if (d->except[s] && cf_workflow_state_index(wf, d->except[s]) < 0)
                ERR(L, d->except_pos[s], "unknown state '%s'", d->except[s]);
    }
    if (wf->ndecisions && !cf_workflow_event(wf, "case.decided"))
        ERR(L, wf->decisions[0].pos,
            "decisions are made with case.decided: declare it under events");
}

/* For each state, the any_state transitions whose `except` names it, sorted: exc[s] to
 * exc[s + 1] in `of`.  Built once, so that a check of every state against every any_state
 * transition is a merge of two sorted lists. */
typedef struct exceptions {
    size_t *start; /* nstates + 1 offsets into of */
    size_t *of;
} exceptions;

static int exceptions_build(const cf_workflow *wf, exceptions *x)
{
    size_t total = 0, *fill;

    x->start = calloc(wf->nstates + 1, sizeof *x->start);
    for (size_t t = 0; t < wf->nany; t++)
        total += wf->any[t].nexcept;
    x->of = malloc((total ? total : 1) * sizeof *x->of);
    fill = calloc(wf->nstates + 1, sizeof *fill);
    if (!x->start || !x->of || !fill) {
        free(fill);
        return 0;
    }
    /* Counting sort by state; within a state the transitions come in ascending order. */
    for (size_t t = 0; t < wf->nany; t++)
        for (size_t e = 0; e < wf->any[t].nexcept; e++) {
            int s = cf_workflow_state_index(wf, wf->any[t].except[e]);
            if (s >= 0)
                x->start[s + 1]++;
        }
    for (size_t s = 0; s < wf->nstates; s++)
        x->start[s + 1] += x->start[s];
    for (size_t t = 0; t < wf->nany; t++)
        for (size_t e = 0; e < wf->any[t].nexcept; e++) {
            int s = cf_workflow_state_index(wf, wf->any[t].except[e]);
            if (s >= 0 && (fill[s] == 0 || x->of[x->start[s] + fill[s] - 1] != t))
                x->of[x->start[s] + fill[s]++] = t;
        }
    /* A state named twice in one list counts once: close the gaps its repeats left. */
    for (size_t s = 0, k = 0; s < wf->nstates; s++) {
        size_t from = x->start[s];
        x->start[s] = k;
        for (size_t j = 0; j < fill[s]; j++)
            x->of[k++] = x->of[from + j];
        if (s + 1 == wf->nstates)
            x->start[s + 1] = k;
    }
    free(fill);
    return 1;
}

static void exceptions_free(exceptions *x)
{
    free(x->start);
    free(x->of);
}

/* Walks the any_state transitions that apply in state s (not final, not excepted), in order:
 * call with *t = 0 and *e = x->start[s], then again while it returns 1. */
static int next_applying(const cf_workflow *wf, const exceptions *x, size_t s, size_t *t, size_t *e,
                         size_t *out)
{
    if (wf->states[s].final)
        return 0;
    for (; *t < wf->nany; (*t)++) {
        while (*e < x->start[s + 1] && x->of[*e] < *t)
            (*e)++;
        if (*e < x->start[s + 1] && x->of[*e] == *t)
            continue;
        *out = (*t)++;
        return 1;
    }
    return 0;
}

/* Reports states that no path from the initial state reaches, and dead ends. */
static void check_reachability(loader *L, const exceptions *x)
{
    cf_workflow *wf = L->wf;
    char *seen = calloc(wf->nstates ? wf->nstates : 1, 1);
    int *queue = calloc(wf->nstates ? wf->nstates : 1, sizeof *queue);
    size_t head = 0, tail = 0, t, e, a;

    if (!seen || !queue || wf->initial < 0)
        goto out;
    seen[wf->initial] = 1;
    queue[tail++] = wf->initial;
    while (head < tail) {
        size_t si = (size_t)queue[head++];
        const cf_state *s = &wf->states[si];
        for (size_t i = 0; i < s->non; i++) {
            int to = s->on[i].to_index;
            if (to >= 0 && !seen[to]) {
                seen[to] = 1;
                queue[tail++] = to;
            }
        }
        for (t = 0, e = x->start[si]; next_applying(wf, x, si, &t, &e, &a);) {
            int to = wf->any[a].to_index;
            if (to >= 0 && !seen[to]) {
                seen[to] = 1;
                queue[tail++] = to;
            }
        }
    }
    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *s = &wf->states[i];
        int leaves = 0;
        if (!seen[i])
            ERR(L, s->pos, "state '%s' cannot be reached from '%s'", s->name,
                wf->states[wf->initial].name);
        for (size_t k = 0; k < s->non; k++)
            leaves |= s->on[k].to_index >= 0 && s->on[k].to_index != (int)i;
        for (t = 0, e = x->start[i]; !leaves && next_applying(wf, x, i, &t, &e, &a);)
            leaves |= wf->any[a].to_index >= 0;
        if (!s->final && !leaves)
            ERR(L, s->pos, "state '%s' is not final but no transition leaves it", s->name);
        if (s->final && s->non > 0)
            ERR(L, s->on[0].pos, "state '%s' is final: nothing may happen after it", s->name);
    }
out:
    free(seen);
    free(queue);
}

/* Cycles reported per workflow at most. */
#define MAX_CYCLES 10
/* States named in a cycle's message at most. */
#define CYCLE_NAMES 12

/* A node on the path of the search for cycles: a state (< nstates) or an automatic any_state
 * transition, where its edges stand, and the transition of the last edge taken from it. */
struct step {
    size_t node, own, t, e;
    const cf_transition *via;
};

/* Reports the cycle path[0] -> ... -> path[n - 1] -> path[0], at the transition that leaves
 * path[0]. */
static void report_cycle(loader *L, const struct step *path, size_t n)
{
    const cf_workflow *wf = L->wf;
    char text[1024];
    size_t len = 0, states = 0, first = wf->nstates;

    text[0] = '\0';
    for (size_t k = 0; k <= n; k++) {
        size_t node = k < n ? path[k].node : first;
        int w;
        if (node >= wf->nstates)
            continue; /* an any_state transition: the states around it say enough */
        if (k < n && first == wf->nstates)
            first = node;
        if (k < n && ++states > CYCLE_NAMES) {
            if (states == CYCLE_NAMES + 1 && len + 8 < sizeof text) {
                memcpy(text + len, " -> ...", 8);
                len += 7;
            }
            continue;
        }
        w = snprintf(text + len, sizeof text - len, "%s%s", len ? " -> " : "",
                     wf->states[node].name);
        if (w < 0 || (size_t)w >= sizeof text - len)
            break;
        len += (size_t)w;
    }
    ERR(L, path[0].via ? path[0].via->pos : TOP,
        "automatic transitions ('when') go round in a cycle of %zu state%s: %s; a case would go "
        "round it with no event to stop it",
        states, states == 1 ? "" : "s", text);
}

/*
 * Reports cycles of automatic transitions (`when`, no event): a case in such a cycle would go
 * round it as long as the conditions hold, with no event to stop it (the engine gives up after
 * 32 steps with an error).  The graph has a node per state and one per automatic any_state
 * transition, which every state where it applies leads to; an iterative depth-first search
 * finds each cycle as an edge back to a node on the current path.  Linear in the states and
 * transitions, times the automatic any_state transitions (rarely more than a few).
 */
static void check_automatic_cycles(loader *L, const exceptions *x)
{
    cf_workflow *wf = L->wf;
    size_t ns = wf->nstates, nw = 0, *auto_any = NULL, nodes, depth = 0;
    struct step *stack = NULL;
    char *color = NULL; /* 0 unvisited, 1 on the path, 2 done */
    int cycles = 0;

    for (size_t t = 0; t < wf->nany; t++)
        nw += !wf->any[t].on && wf->any[t].to_index >= 0;
    nodes = ns + nw;
    auto_any = malloc((nw ? nw : 1) * sizeof *auto_any);
    color = calloc(nodes ? nodes : 1, 1);
    stack = malloc((nodes ? nodes : 1) * sizeof *stack);
    if (!auto_any || !color || !stack)
        goto out;
    nw = 0;
    for (size_t t = 0; t < wf->nany; t++)
        if (!wf->any[t].on && wf->any[t].to_index >= 0)
            auto_any[nw++] = t;

    for (size_t root = 0; root < ns && cycles < MAX_CYCLES; root++) {
        if (color[root])
            continue;
        color[root] = 1;
        stack[depth++] = (struct step){root, 0, 0, x->start[root], NULL};
        while (depth > 0) {
            struct step *f = &stack[depth - 1];
            size_t next = nodes;
            if (f->node < ns) {
                const cf_state *s = &wf->states[f->node];
                /* The state's own automatic transitions, then the automatic any_state ones that
                 * apply in it (both lists ascending, as its exceptions are). */
                while (f->own < s->non && next == nodes) {
                    const cf_transition *t = &s->on[f->own++];
                    if (!t->on && t->to_index >= 0) {
                        next = (size_t)t->to_index;
                        f->via = t;
                    }
                }
                while (next == nodes && !s->final && f->t < nw) {
                    size_t a = auto_any[f->t];
                    while (f->e < x->start[f->node + 1] && x->of[f->e] < a)
                        f->e++;
                    if (f->e < x->start[f->node + 1] && x->of[f->e] == a) {
                        f->t++;
                        continue;
                    }
                    next = ns + f->t++;
                    f->via = &wf->any[a];
                }
            } else if (f->own++ == 0) {
                f->via = &wf->any[auto_any[f->node - ns]];
                next = (size_t)f->via->to_index;
            }
            if (next == nodes) {
                color[f->node] = 2;
                depth--;
            } else if (color[next] == 0) {
                color[next] = 1;
                stack[depth++] = (struct step){next, 0, 0, next < ns ? x->start[next] : 0, NULL};
            } else if (color[next] == 1 && cycles < MAX_CYCLES) {
                size_t at = depth - 1;
                while (stack[at].node != next)
                    at--;
                report_cycle(L, stack + at, depth - at);
                cycles++;
            }
        }
    }
out:
    free(auto_any);
    free(color);
    free(stack);
}

static void check_workflow(loader *L)
{
    cf_workflow *wf = L->wf;
    catalog c;
    int nfinal = 0;

    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < wf->nstates; i++) {
        collect_actions(&c, wf->states[i].enter, wf->states[i].nenter);
        collect_actions(&c, wf->states[i].exit, wf->states[i].nexit);
        collect_transitions(&c, wf->states[i].on, wf->states[i].non);
        nfinal += wf->states[i].final;
    }
    collect_transitions(&c, wf->any, wf->nany);
    names_add(&c.handled, wf->creates_on);
    /* A clock's deadlines are timers that its clock starts. */
    for (size_t i = 0; i < wf->nclocks; i++)
        for (size_t k = 0; k < wf->clocks[i].ndeadlines; k++)
            names_add(&c.timers, wf->clocks[i].deadlines[k].name);
    names_seal(&c.activities);
    names_seal(&c.timers);
    names_seal(&c.handled);
    names_seal(&c.started_clocks);
    names_seal(&c.records);
    names_seal(&c.returned);
    if (L->exprs)
        qsort(L->exprs, L->nexprs, sizeof *L->exprs, expr_at_cmp);

    if (wf->index) {
        REPORT_TWICE(L, wf->index->posts, wf->index->nposts, "post", wf->posts[i].pos);
        REPORT_TWICE(L, wf->index->kinds, wf->index->nkinds, "task kind", wf->kinds[i].pos);
        REPORT_TWICE(L, wf->index->states, wf->index->nstates, "state", wf->states[i].pos);
    }
    for (size_t i = 0; i < wf->nkinds; i++) {
        check_post_ref(L, wf->kinds[i].post, wf->kinds[i].post_pos);
        check_returns(L, &c, &wf->kinds[i]);
    }
    {
        /* The engine moves overdue staff tasks to this post (engine/overdue.c). */
        const cf_setting *to = cf_workflow_setting(wf, "overdue_escalation_post");
        if (to &&
            (!json_is_string(to->value) || !cf_workflow_post(wf, json_string_value(to->value))))
            ERR(L, to->pos, "overdue_escalation_post must name a declared post");
    }
    for (size_t i = 0; i < wf->nteams; i++)
        if (wf->teams[i] && !cf_workflow_post(wf, wf->teams[i]))
            ERR(L, wf->team_pos[i], "assignment: team '%s' is not a declared post", wf->teams[i]);
    for (size_t i = 0; i < wf->nevents; i++) {
        cf_event_decl *e = &wf->events[i];
        if (!e->type)
            continue;
        e->schema = wf->schemas ? cf_schema_set_get(wf->schemas, e->type) : NULL;
        if (!e->schema)
            ERR(L, e->pos, "event '%s' has no schema (expected %s.json in the schema folder)",
                e->type, e->type);
        if (!is_builtin_event(e->type) && !names_has(&c.handled, e->type))
            ERR(L, e->pos, "event '%s' is declared but no transition handles it", e->type);
    }
    if (!cf_workflow_event(wf, wf->creates_on))
        ERR(L, L->created_by, "created_by: event '%s' is not declared under events",
            wf->creates_on);
    if (nfinal == 0 && wf->nstates > 0)
        ERR(L, L->root, "no state is final (mark the end of a case's life 'final: true')");

    for (size_t i = 0; i < wf->nstates; i++) {
        cf_state *s = &wf->states[i];
        check_actions(L, &c, s->enter, s->nenter);
        check_actions(L, &c, s->exit, s->nexit);
        check_transitions(L, &c, s->on, s->non);
    }
    check_transitions(L, &c, wf->any, wf->nany);
    check_clocks_and_decisions(L, &c);
    if (L->d->count + L->d->lost == L->errors_at_start) {
        exceptions x;
        if (exceptions_build(wf, &x)) {
            check_reachability(L, &x);
            if (L->d->count + L->d->lost == L->errors_at_start)
                check_automatic_cycles(L, &x);
        }
        exceptions_free(&x);
    }
    free(c.activities.v);
    free(c.timers.v);
    free(c.handled.v);
    free(c.started_clocks.v);
    free(c.records.v);
    free(c.returned.v);
}

/* ---- the top level ---- */

static const char *const top_keys[] = {
    "workflow",  "version",  "title",   "description", "calendar", "schemas",    "created_by",
    "initial",   "posts",    "workers", "staff_tasks", "events",   "assignment", "states",
    "any_state", "settings", "clocks",  "decisions",   "returns",  NULL};

static void parse_top(loader *L, yaml_node_t *root)
{
    cf_workflow *wf = L->wf;
    yaml_node_t *n, *states;
    size_t i = 0, at = 0;

    if (!is_map(L, root, "a workflow file"))
        return;
    L->root = L->created_by = pos_of(root);
    check_keys(L, root, top_keys, "the workflow");

    if (!(n = get(L, root, "workflow")))
        ERR(L, pos_of(root), "the workflow has no name ('workflow: enforcement_case')");
    wf->name = n ? text(L, n, "workflow") : NULL;
    if (!(n = get(L, root, "version"))) {
        ERR(L, pos_of(root), "the workflow has no version ('version: 1')");
    } else {
        char *end;
        long v;
        errno = 0;
        v = strtol(raw(n), &end, 10);
        if (errno || *end || end == raw(n) || v < 1 || v > INT_MAX)
            ERR(L, pos_of(n), "version must be a whole number from 1, not '%s'", raw(n));
        wf->version = (int)v;
    }
    if ((n = get(L, root, "title")))
        wf->title = text(L, n, "title");
    wf->creates_on = "case.filed";
    if ((n = get(L, root, "created_by"))) {
        wf->creates_on = text(L, n, "created_by");
        L->created_by = pos_of(n);
    }

    load_calendar(L, get(L, root, "calendar"));
    load_schemas(L, get(L, root, "schemas"));
    /* Settings first: time expressions everywhere may count with them. */
    parse_settings(L, get(L, root, "settings"));
    parse_clocks(L, get(L, root, "clocks"));
    parse_decisions(L, get(L, root, "decisions"));
    parse_posts(L, get(L, root, "posts"));
    wf->nkinds = map_len(get(L, root, "workers")) + map_len(get(L, root, "staff_tasks"));
    wf->kinds = alloc_array(L, wf->nkinds, sizeof *wf->kinds);
    if (wf->kinds) {
        parse_kinds(L, get(L, root, "workers"), 1, &at);
        parse_kinds(L, get(L, root, "staff_tasks"), 0, &at);
    }
    parse_events(L, get(L, root, "events"));
    parse_assignment(L, get(L, root, "assignment"));
    parse_returns(L, get(L, root, "returns"));

    states = get(L, root, "states");
    if (!states) {
        ERR(L, pos_of(root), "the workflow has no states");
    } else if (is_map(L, states, "states")) {
        wf->nstates = map_len(states);
        wf->states = alloc_array(L, wf->nstates, sizeof *wf->states);
        for (yaml_node_pair_t *p = PAIRS(states); wf->states && p < PAIRS_END(states); p++, i++)
            parse_state(L, node(L, p->key), node(L, p->value), &wf->states[i]);
    }
    wf->any = parse_transitions(L, get(L, root, "any_state"), &wf->nany, 1);
    if (wf->nany > CF_WORKFLOW_MAX_ANY)
        ERR(L, pos_of(get(L, root, "any_state")),
            "any_state has %zu transitions, more than %d: every event of every case tries them all",
            wf->nany, CF_WORKFLOW_MAX_ANY);
    build_index(L);

    wf->initial = -1;
    if (!(n = get(L, root, "initial"))) {
        ERR(L, pos_of(root), "the workflow has no initial state ('initial: filed')");
    } else {
        wf->initial = cf_workflow_state_index(wf, raw(n));
        if (wf->initial < 0)
            ERR(L, pos_of(n), "unknown state '%s'", raw(n));
    }
    check_workflow(L);
}

cf_workflow *cf_workflow_parse(const char *path, const char *text_, size_t len, cf_diags *diags)
{
    loader L;
    cf_yamldoc_error ye;
    yaml_node_t *root;
    int rc;

    memset(&L, 0, sizeof L);
    L.d = diags;
    L.errors_at_start = diags->count + diags->lost;
    L.ar = cf_arena_new();
    /* The workflow and the head of its list of owned expressions share one allocation. */
    L.wf = L.ar ? cf_arena_alloc(L.ar, sizeof(cf_workflow) + sizeof(struct owned *)) : NULL;
    if (!L.wf) {
        cf_arena_free(L.ar);
        cf_diags_add(diags, path, TOP, "out of memory");
        return NULL;
    }
    L.wf->arena = L.ar;
    L.wf->path = L.file = cf_arena_strdup(L.ar, path);
    L.src = text_;
    L.srclen = len;

    rc = cf_yamldoc_load(&L.doc, text_, len, &ye);
    if (rc) {
        cf_pos p = {ye.line, ye.col};
        if (rc == CF_EPARSE)
            cf_diags_add(diags, path, p, "bad YAML: %s%s%s", ye.problem, ye.context[0] ? " " : "",
                         ye.context);
        else if (rc == CF_ERANGE)
            cf_diags_add(diags, path, p, "refused: %s", ye.problem);
        else
            cf_diags_add(diags, path, TOP, "out of memory");
        goto fail;
    }
    if (!chars_index(&L)) {
        yaml_document_delete(&L.doc);
        cf_diags_add(diags, path, TOP, "out of memory");
        goto fail;
    }
    root = yaml_document_get_root_node(&L.doc);
    if (!root)
        cf_diags_add(diags, path, TOP, "the file is empty");
    else
        parse_top(&L, root);
    yaml_document_delete(&L.doc);
    loader_free(&L);
    diags_sort(diags, L.errors_at_start <= diags->count ? L.errors_at_start : diags->count);
    if (L.skipped)
        cf_diags_add(diags, path, diags->count ? diags->where[diags->count - 1] : TOP,
                     "and %zu more problems, not shown (the first %d are)", L.skipped,
                     MAX_PROBLEMS);
    if (diags->count + diags->lost > L.errors_at_start)
        goto fail;
    return L.wf;
fail:
    loader_free(&L);
    cf_workflow_free(L.wf);
    return NULL;
}

cf_workflow *cf_workflow_load(const char *path, cf_diags *diags)
{
    char err[256], *buf;
    size_t len;
    cf_workflow *wf;

    if (cf_yamldoc_read_file(path, CF_YAML_MAX_BYTES, &buf, &len, err, sizeof err) != 0) {
        cf_diags_add(diags, path, TOP, "%s", err);
        return NULL;
    }
    wf = cf_workflow_parse(path, buf, len, diags);
    free(buf);
    return wf;
}

void cf_workflow_free(cf_workflow *wf)
{
    if (!wf)
        return;
    for (struct owned *o = *owned_list(wf); o; o = o->next) {
        cf_expr_free(o->expr);
        cf_when_free(o->when);
        cf_schedule_free(o->schedule);
        json_decref(o->json);
    }
    cf_calendar_free(wf->calendar);
    cf_schema_set_free(wf->schemas);
    cf_arena_free(wf->arena);
}
