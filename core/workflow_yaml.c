/*
 * The workflow loader's YAML helpers: positions of nodes (down to a character inside a
 * multi-line scalar), typed reads of scalars, mappings and sequences with their keys checked,
 * and the expressions and time expressions that the loaded workflow owns.
 */
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
#include "core/workflow_loader.h"

yaml_node_t *wf_node(loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

cf_pos wf_pos_of(const yaml_node_t *n)
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
int wf_chars_index(loader *L)
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

void wf_loader_free(loader *L)
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
cf_pos wf_pos_in(const loader *L, const yaml_node_t *n, int col)
{
    cf_pos p = wf_pos_of(n);
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

int wf_is_map(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_MAPPING_NODE)
        return 1;
    if (n)
        ERR(L, wf_pos_of(n), "%s must be a mapping, not %s", what, kind_name(n));
    return 0;
}

int wf_is_seq(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_SEQUENCE_NODE)
        return 1;
    if (n)
        ERR(L, wf_pos_of(n), "%s must be a list, not %s", what, kind_name(n));
    return 0;
}

/* Returns the scalar's text owned by the arena, or NULL (reported) when it is no scalar. */
const char *wf_text(loader *L, yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_SCALAR_NODE)
        return cf_arena_strdup(L->ar, (const char *)n->data.scalar.value);
    if (n)
        ERR(L, wf_pos_of(n), "%s must be a text, not %s", what, kind_name(n));
    return NULL;
}

const char *wf_raw(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

int wf_boolean(loader *L, yaml_node_t *n, const char *what)
{
    const char *s = wf_raw(n);
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
        return 1;
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
        return 0;
    ERR(L, wf_pos_of(n), "%s must be true or false, not '%s'", what, s);
    return 0;
}

size_t wf_map_len(yaml_node_t *n)
{
    return n && n->type == YAML_MAPPING_NODE ? (size_t)(PAIRS_END(n) - PAIRS(n)) : 0;
}

size_t wf_seq_len(yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE ? (size_t)(ITEMS_END(n) - ITEMS(n)) : 0;
}

/* Returns the value of `key` in mapping `n`, or NULL. */
yaml_node_t *wf_get(loader *L, yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++)
        if (strcmp(wf_raw(wf_node(L, p->key)), key) == 0)
            return wf_node(L, p->value);
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
void wf_check_keys(loader *L, yaml_node_t *n, const char *const *allowed, const char *what)
{
    const yaml_node_t *first[32] = {0};
    struct unknown *unknown = NULL;
    size_t nunknown = 0, nallowed = 0;

    if (!n || n->type != YAML_MAPPING_NODE)
        return;
    while (allowed[nallowed])
        nallowed++;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = wf_node(L, p->key);
        const char *key = wf_raw(k);
        size_t a = 0;
        while (a < nallowed && strcmp(allowed[a], key) != 0)
            a++;
        if (a < nallowed) {
            /* Every list of allowed keys is far shorter than `first`. */
            if (a < sizeof first / sizeof first[0] && first[a])
                ERR(L, wf_pos_of(k), "'%s' is given twice in %s", key, what);
            else if (a < sizeof first / sizeof first[0])
                first[a] = k;
            continue;
        }
        ERR(L, wf_pos_of(k), "unknown key '%s' in %s", key, what);
        if (!unknown && !(unknown = malloc(wf_map_len(n) * sizeof *unknown)))
            continue;
        unknown[nunknown++] = (struct unknown){key, k, (size_t)(p - PAIRS(n))};
    }
    if (nunknown > 1) {
        qsort(unknown, nunknown, sizeof *unknown, unknown_cmp);
        for (size_t i = 1; i < nunknown; i++)
            if (strcmp(unknown[i].key, unknown[i - 1].key) == 0)
                ERR(L, wf_pos_of(unknown[i].node), "'%s' is given twice in %s", unknown[i].key,
                    what);
    }
    free(unknown);
}

void *wf_alloc_array(loader *L, size_t n, size_t size)
{
    return n ? cf_arena_alloc(L->ar, n * size) : NULL;
}

/* Parses an expression from a scalar; reports the problem at its column. */
cf_expr *wf_expression(loader *L, yaml_node_t *n, const char *what)
{
    char err[256];
    int col = 0;
    cf_expr *e;

    if (!n)
        return NULL;
    if (n->type != YAML_SCALAR_NODE) {
        ERR(L, wf_pos_of(n), "%s must be an expression, not %s", what, kind_name(n));
        return NULL;
    }
    e = cf_expr_parse(wf_raw(n), err, sizeof err, &col);
    if (!e)
        ERR(L, wf_pos_in(L, n, col), "%s: %s", what, err);
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
        ERR(L, wf_pos_of(n), "%s must be a time expression, not %s", what, kind_name(n));
        return NULL;
    }
    w = cf_when_parse(wf_raw(n), err, sizeof err, &col);
    if (!w)
        ERR(L, wf_pos_in(L, n, col), "%s: bad time expression: %s", what, err);
    return w;
}

/* ---- expressions and time expressions owned by the workflow ---- */

struct owned **wf_owned_list(cf_workflow *wf)
{
    /* Stored in the first arena allocation, see cf_workflow_parse. */
    return (struct owned **)(void *)((char *)wf + sizeof *wf);
}

void wf_own(loader *L, cf_expr *e, cf_when *w, cf_schedule *s)
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
    o->next = *wf_owned_list(L->wf);
    *wf_owned_list(L->wf) = o;
}

void wf_own_json(loader *L, json_t *j)
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
    o->next = *wf_owned_list(L->wf);
    *wf_owned_list(L->wf) = o;
}

int wf_quoted(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE &&
           (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

/* Literal data from YAML: quoted texts stay texts, plain ones that read as numbers, true, false
 * or null become those. */
json_t *wf_literal(loader *L, yaml_node_t *n, int depth)
{
    json_t *v = NULL;
    if (!n || depth > 32)
        return json_null();
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = wf_raw(n);
        char *end;
        if (wf_quoted(n))
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
            json_array_append_new(v, wf_literal(L, wf_node(L, *it), depth + 1));
    } else if (n->type == YAML_MAPPING_NODE) {
        v = json_object();
        for (yaml_node_pair_t *p = PAIRS(n); v && p < PAIRS_END(n); p++)
            json_object_set_new(v, wf_raw(wf_node(L, p->key)),
                                wf_literal(L, wf_node(L, p->value), depth + 1));
    }
    return v ? v : json_null();
}

cf_expr *wf_owned_expr(loader *L, yaml_node_t *n, const char *what)
{
    cf_expr *e = wf_expression(L, n, what);
    wf_own(L, e, NULL, NULL);
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

int wf_expr_at_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct expr_at *)a)->e;
    uintptr_t y = (uintptr_t)((const struct expr_at *)b)->e;
    return x < y ? -1 : x > y;
}

/* The scalar an expression was parsed from, or NULL.  The checks run after every expression is
 * parsed and sorted (check_workflow). */
const yaml_node_t *wf_expr_node(loader *L, const cf_expr *e)
{
    struct expr_at key = {e, NULL}, *found;
    if (!e || !L->exprs)
        return NULL;
    found = bsearch(&key, L->exprs, L->nexprs, sizeof *L->exprs, wf_expr_at_cmp);
    return found ? found->n : NULL;
}

/*
 * The column (1-based, in characters) where `word` first stands in an expression's text as a
 * name of its own, outside quotes and not as a later segment of a path; 1 when it does not.
 */
int wf_word_column(const char *text, const char *word)
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
            ERR(L, wf_pos_in(L, n, wf_word_column(wf_raw(n), word)),
                "%s counts 'settings.%s', but no setting is named so (declare it under settings)",
                what, name);
        } else if (!json_is_integer(st->value) ||
                   cf_when_bind_count(w, i, (long)json_integer_value(st->value)) != 0) {
            ERR(L, wf_pos_in(L, n, wf_word_column(wf_raw(n), word)),
                "%s counts 'settings.%s', which must be a whole number from 0 to 100000", what,
                name);
        }
    }
}

cf_when *wf_owned_when(loader *L, yaml_node_t *n, const char *what)
{
    cf_when *w = time_expression(L, n, what);
    wf_own(L, NULL, w, NULL);
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
cf_pos wf_when_word_pos(loader *L, const cf_when *w, const char *word, cf_pos pos)
{
    for (size_t i = 0; i < L->nwhens; i++)
        if (L->whens[i].w == w)
            return wf_pos_in(L, L->whens[i].n,
                             wf_word_column(wf_raw((yaml_node_t *)L->whens[i].n), word));
    return pos;
}
