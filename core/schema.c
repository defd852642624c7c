/*
 * JSON Schema draft-07 validator: compiles schema documents into a graph of nodes once (regexes
 * compiled, $refs linked to their target nodes) and validates jansson values against it.
 *
 * A set keeps its own copy of every document; nodes point into those copies for names, enum
 * members and patterns, so nothing is copied twice.  Every compiled node is also indexed by the
 * JSON value it was compiled from, which makes a $ref to an already compiled place (a loop back
 * to "#", two refs to one definition) reuse the node instead of compiling it again.  $refs are
 * linked after the document is compiled, from a work list, so compiling never recurses through a
 * reference.
 */
#include "schema.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

/* How deeply schema objects may nest inside one document. */
#define MAX_COMPILE_DEPTH 512
/* Room for a schema location in compile error messages; longer ones are cut. */
#define PATH_MAX_LEN 400
/* What validation says when it reaches CF_SCHEMA_MAX_DEPTH. */
#define TOO_DEEP "validation nests deeper than " STR(CF_SCHEMA_MAX_DEPTH) " schemas"
/* How many failing alternatives of anyOf/oneOf an error message describes. */
#define MAX_DESCRIBED 3

enum kind { K_TRUE, K_FALSE, K_SCHEMA, K_REF };

enum type_bit {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_INTEGER = 1 << 2,
    T_NUMBER = 1 << 3,
    T_STRING = 1 << 4,
    T_ARRAY = 1 << 5,
    T_OBJECT = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", T_NULL},     {"boolean", T_BOOLEAN}, {"integer", T_INTEGER}, {"number", T_NUMBER},
    {"string", T_STRING}, {"array", T_ARRAY},     {"object", T_OBJECT},
};

enum num_flag {
    N_MINIMUM = 1 << 0,
    N_MAXIMUM = 1 << 1,
    N_XMINIMUM = 1 << 2,
    N_XMAXIMUM = 1 << 3,
    N_MULTIPLE = 1 << 4,
};

enum format { F_NONE, F_DATE_TIME, F_DATE, F_EMAIL };

/* A JSON number kept exactly: integers stay integers so that large ones compare exactly. */
struct num {
    int is_int;
    json_int_t i;
    double d;
};

struct list {
    const cf_schema **v;
    size_t n;
};

struct prop {
    const char *name;
    uint32_t hash;
    const cf_schema *schema;
};

struct patprop {
    pcre2_code *re;
    const cf_schema *schema;
};

struct dep {
    const char *name;
    const cf_schema *schema; /* NULL when the dependency is a list of property names */
    const char **names;
    size_t nnames;
};

struct cf_schema {
    const json_t *src; /* what it was compiled from, inside a document of the set */
    enum kind kind;
    const cf_schema *ref; /* K_REF: draft-07 ignores every keyword beside $ref */
    unsigned types;       /* 0: any type */
    const json_t *const_val;
    const json_t *enum_vals;
    /* numbers */
    unsigned num_flags;
    struct num minimum, maximum, xminimum, xmaximum, multiple_of;
    /* strings */
    size_t min_len, max_len;
    pcre2_code *pattern;
    const char *pattern_src;
    enum format format;
    /* arrays */
    size_t min_items, max_items;
    int unique;
    int items_is_tuple;
    const cf_schema *items;
    struct list tuple;
    const cf_schema *additional_items;
    const cf_schema *contains;
    /* objects */
    size_t min_props, max_props;
    const char **required;
    size_t nrequired;
    struct prop *props;
    size_t nprops;
    uint32_t *prop_slots; /* hash table of 1 + index into props (0: empty); size a power of 2 */
    uint32_t prop_mask;
    struct patprop *patprops;
    size_t npatprops;
    const cf_schema *additional_props;
    const cf_schema *property_names;
    struct dep *deps;
    size_t ndeps;
    /* combinations */
    struct list all_of, any_of, one_of;
    const cf_schema *not_schema, *if_schema, *then_schema, *else_schema;
};

struct doc {
    char *name;
    char *label; /* the file name, or the name when added from memory: for messages */
    char *base;  /* the document's base URI: its $id, or "<name>.json" */
    json_t *json;
    cf_schema *root;
};

/* An identifier a $ref can name: a document's name, an $id, or an $id's "#anchor". */
struct ident {
    char *uri;
    const json_t *json;
    char *base;
    size_t doc;
};

/* A $ref waiting to be linked once the document around it is compiled. */
struct pending {
    cf_schema *node;
    char *ref;   /* as written */
    char *uri;   /* resolved against the base URI */
    char *where; /* "label: #/pointer/$ref", for messages */
};

struct slot {
    const json_t *key;
    cf_schema *node;
};

struct cf_schema_set {
    struct doc *docs;
    size_t ndocs, capdocs;
    struct ident *idents;
    size_t nidents, capidents;
    cf_schema **nodes;
    size_t nnodes, capnodes;
    struct slot *map; /* open addressing, keyed by the JSON value a node was compiled from */
    size_t mapcap;
    struct pending *pending;
    size_t npending, cappending;
};

/* What the set held before an add, so that a failed add can be undone. */
struct mark {
    size_t ndocs, nidents, nnodes;
};

/* State of one compilation: where in which document we are, for messages. */
struct cctx {
    cf_schema_set *set;
    size_t doc;
    char path[PATH_MAX_LEN];
    size_t plen;
    int depth;
    char *err;
    size_t errsz;
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* Returns `p` grown to hold at least `need` elements of `elsz` bytes (updating `*cap`), or
 * NULL when memory runs out, in which case `p` is untouched. */
static void *grow(void *p, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(p, ncap * elsz);
    if (n)
        *cap = ncap;
    return n;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static char *concat(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *d = malloc(alen + blen + 1);
    if (d) {
        memcpy(d, a, alen);
        memcpy(d + alen, b, blen + 1);
    }
    return d;
}

/* Appends `token` to a JSON pointer in `buf`, escaping "~" and "/" (RFC 6901). */
static size_t pointer_append(char *buf, size_t len, size_t cap, const char *token)
{
    if (len + 1 < cap)
        buf[len++] = '/';
    for (const char *t = token; *t && len + 2 < cap; t++) {
        if (*t == '~' || *t == '/') {
            buf[len++] = '~';
            buf[len++] = *t == '~' ? '0' : '1';
        } else {
            buf[len++] = *t;
        }
    }
    buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

/* ---- URIs: just enough of RFC 3986 to resolve $id and $ref against a base --------------- */

static int has_scheme(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (s++; *s && *s != ':'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '+' || *s == '-' || *s == '.'))
            return 0;
    }
    return *s == ':';
}

/*
 * Resolves `ref` against `base`.  Dot segments are not removed: schema identifiers do not use
 * them, and keeping them only makes an exotic reference fail to resolve, never resolve wrongly.
 */
static char *uri_resolve(const char *base, const char *ref)
{
    size_t blen = strcspn(base, "#");
    if (has_scheme(ref))
        return xstrdup(ref);
    if (ref[0] == '\0' || ref[0] == '#')
        return concat(base, blen, ref);
    const char *colon = has_scheme(base) ? strchr(base, ':') : NULL;
    size_t scheme_end = colon ? (size_t)(colon - base) + 1 : 0;
    if (ref[0] == '/' && ref[1] == '/')
        return concat(base, scheme_end, ref);
    if (ref[0] == '/') {
        size_t end = scheme_end;
        if (base[end] == '/' && base[end + 1] == '/') {
            const char *slash = memchr(base + end + 2, '/', blen - end - 2);
            end = slash ? (size_t)(slash - base) : blen;
        }
        return concat(base, end, ref);
    }
    size_t dir = blen;
    while (dir > scheme_end && base[dir - 1] != '/')
        dir--;
    return concat(base, dir, ref);
}

/* Decodes %XX escapes of a URI fragment; returns NULL for a bad escape or when memory runs out. */
static char *percent_decode(const char *s, int *bad)
{
    char *d = malloc(strlen(s) + 1), *o = d;
    *bad = 0;
    if (!d)
        return NULL;
    for (; *s; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        int v = 0;
        for (int k = 1; k <= 2; k++) {
            char h = s[k];
            int x = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (x < 0) {
                *bad = 1;
                free(d);
                return NULL;
            }
            v = v * 16 + x;
        }
        if (v == 0) {
            /* A NUL would end the string early and point somewhere else. */
            *bad = 1;
            free(d);
            return NULL;
        }
        *o++ = (char)v;
        s += 2;
    }
    *o = '\0';
    return d;
}

/* ---- JSON values ------------------------------------------------------------------------ */

static struct num num_of(const json_t *x)
{
    struct num n = {0, 0, 0.0};
    if (json_is_integer(x)) {
        n.is_int = 1;
        n.i = json_integer_value(x);
        n.d = (double)n.i;
    } else {
        n.d = json_real_value(x);
    }
    return n;
}

/* Compares two numbers; integers against reals in long double, which holds any int64. */
static int num_cmp(struct num a, struct num b)
{
    if (a.is_int && b.is_int)
        return (a.i > b.i) - (a.i < b.i);
    long double x = a.is_int ? (long double)a.i : (long double)a.d;
    long double y = b.is_int ? (long double)b.i : (long double)b.d;
    return (x > y) - (x < y);
}

static int is_multiple(struct num x, struct num m)
{
    if (x.is_int && m.is_int)
        return x.i % m.i == 0;
    double q = x.d / m.d;
    if (!isfinite(q))
        return 0;
    /* Decimal steps such as 0.01 are not exact in binary: allow a few ulps of the quotient. */
    return fabs(q - nearbyint(q)) <= 8 * DBL_EPSILON * fmax(1.0, fabs(q));
}

static const char *num_text(struct num n, char *buf, size_t sz)
{
    if (n.is_int)
        snprintf(buf, sz, "%" JSON_INTEGER_FORMAT, n.i);
    else
        snprintf(buf, sz, "%.15g", n.d);
    return buf;
}

static int is_integral(const json_t *x)
{
    if (json_is_integer(x))
        return 1;
    double d = json_real_value(x);
    return isfinite(d) && d == floor(d);
}

/* Equality as JSON Schema defines it: numbers by value (1 equals 1.0), the rest structurally. */
static int json_eq(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return num_cmp(num_of(a), num_of(b)) == 0;
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!json_eq(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        }
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *key;
        json_t *va;
        /* jansson's iterator takes a non-const object, but iterating does not change it. */
        json_object_foreach ((json_t *)a, key, va) {
            const json_t *vb = json_object_get(b, key);
            if (!vb || !json_eq(va, vb))
                return 0;
        }
        return 1;
    }
    default: return 1; /* true, false, null */
    }
}

static const char *instance_type(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static unsigned instance_bits(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT: return T_OBJECT;
    case JSON_ARRAY: return T_ARRAY;
    case JSON_STRING: return T_STRING;
    case JSON_INTEGER: return T_INTEGER | T_NUMBER;
    case JSON_REAL: return T_NUMBER | (is_integral(x) ? T_INTEGER : 0);
    case JSON_TRUE:
    case JSON_FALSE: return T_BOOLEAN;
    default: return T_NULL;
    }
}

static size_t utf8_length(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* ---- formats ---------------------------------------------------------------------------- */

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The formats name what is wrong with a value in words that fit after "is not a date-time: ".
 * Beyond RFC 3339, years run 0001-9999 and UTC offsets within -15:59 and +15:59: what
 * PostgreSQL stores.  A value that passes here and fails in the database would stop every
 * event behind it. */
#define FORMAT_OK NULL

static const char *date_problem(const char *s, size_t len)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return "";
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return "";
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return "";
    if (y == 0)
        return "the year must be 0001 to 9999";
    return FORMAT_OK;
}

/* RFC 3339 date-time: an offset is required, "T" and "Z" in either case. */
static const char *date_time_problem(const char *s, size_t len)
{
    const char *why;
    if (len < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return "";
    if ((why = date_problem(s, 10)))
        return why;
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return "";
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return "";
    }
    int offset = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        offset = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return "";
        if (oh > 15)
            return "the UTC offset must be within -15:59 and +15:59";
        offset = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
    } else {
        return "";
    }
    /* A leap second exists only as 23:59:60 UTC. */
    if (sec == 60 && ((h * 60 + mi - offset) % 1440 + 1440) % 1440 != 23 * 60 + 59)
        return "";
    return FORMAT_OK;
}

/* Deliberately loose: one "@" between a local part and a domain, no spaces or controls. */
static int is_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || at == s || at == s + len - 1 || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return 0;
    }
    return 1;
}

/* ---- the set: nodes, the value-to-node index, identifiers -------------------------------- */

static size_t slot_of(const json_t *key, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 17) & (cap - 1);
}

static cf_schema *map_get(const cf_schema_set *set, const json_t *key)
{
    if (!set->mapcap)
        return NULL;
    for (size_t i = slot_of(key, set->mapcap);; i = (i + 1) & (set->mapcap - 1)) {
        if (!set->map[i].key)
            return NULL;
        if (set->map[i].key == key)
            return set->map[i].node;
    }
}

static void map_put(cf_schema_set *set, cf_schema *node)
{
    size_t i = slot_of(node->src, set->mapcap);
    while (set->map[i].key)
        i = (i + 1) & (set->mapcap - 1);
    set->map[i].key = node->src;
    set->map[i].node = node;
}

/* Rebuilds the index for all nodes with room for at least `want` of them. */
static int map_rebuild(cf_schema_set *set, size_t want)
{
    size_t cap = 16;
    while (cap < want * 2)
        cap *= 2;
    struct slot *map = calloc(cap, sizeof *map);
    if (!map)
        return CF_ENOMEM;
    free(set->map);
    set->map = map;
    set->mapcap = cap;
    for (size_t i = 0; i < set->nnodes; i++)
        map_put(set, set->nodes[i]);
    return 0;
}

static void node_free(cf_schema *n)
{
    pcre2_code_free(n->pattern);
    for (size_t i = 0; i < n->npatprops; i++)
        pcre2_code_free(n->patprops[i].re);
    for (size_t i = 0; i < n->ndeps; i++)
        free(n->deps[i].names);
    free(n->patprops);
    free(n->deps);
    free(n->props);
    free(n->prop_slots);
    free(n->required);
    free(n->tuple.v);
    free(n->all_of.v);
    free(n->any_of.v);
    free(n->one_of.v);
    free(n);
}

static const struct ident *ident_find(const cf_schema_set *set, const char *uri, size_t len)
{
    for (size_t i = 0; i < set->nidents; i++) {
        if (strncmp(set->idents[i].uri, uri, len) == 0 && set->idents[i].uri[len] == '\0')
            return &set->idents[i];
    }
    return NULL;
}

static void pending_clear(cf_schema_set *set)
{
    for (size_t i = 0; i < set->npending; i++) {
        free(set->pending[i].ref);
        free(set->pending[i].uri);
        free(set->pending[i].where);
    }
    set->npending = 0;
}

static struct mark mark_take(const cf_schema_set *set)
{
    struct mark m = {set->ndocs, set->nidents, set->nnodes};
    return m;
}

/* Undoes everything added since `m`.  Older nodes never point to newer ones, which is why
 * this is safe: every add links all of its references before it returns. */
static void rollback(cf_schema_set *set, struct mark m)
{
    pending_clear(set);
    while (set->nnodes > m.nnodes)
        node_free(set->nodes[--set->nnodes]);
    while (set->nidents > m.nidents) {
        struct ident *id = &set->idents[--set->nidents];
        free(id->uri);
        free(id->base);
    }
    while (set->ndocs > m.ndocs) {
        struct doc *d = &set->docs[--set->ndocs];
        free(d->name);
        free(d->label);
        free(d->base);
        json_decref(d->json);
    }
    /* Shrinking never needs memory: the old table is kept if a new one cannot be had. */
    if (map_rebuild(set, set->nnodes) != 0 && set->map) {
        memset(set->map, 0, set->mapcap * sizeof *set->map);
        for (size_t i = 0; i < set->nnodes; i++)
            map_put(set, set->nodes[i]);
    }
}

/* ---- compiling ---------------------------------------------------------------------------- */

static int cfail(struct cctx *c, int code, const char *fmt, ...) CF_PRINTF(3, 4);

static int cfail(struct cctx *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_errf(c->err, c->errsz, code, "%s: #%s: %s", c->set->docs[c->doc].label, c->path, msg);
}

static int nomem(struct cctx *c)
{
    return cfail(c, CF_ENOMEM, "out of memory");
}

static size_t path_push(struct cctx *c, const char *token)
{
    size_t old = c->plen;
    c->plen = pointer_append(c->path, c->plen, sizeof c->path, token);
    return old;
}

static size_t path_push_index(struct cctx *c, size_t i)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%zu", i);
    return path_push(c, buf);
}

static void path_pop(struct cctx *c, size_t old)
{
    c->plen = old;
    c->path[old < sizeof c->path ? old : sizeof c->path - 1] = '\0';
}

static int node_new(struct cctx *c, const json_t *src, cf_schema **out)
{
    cf_schema_set *set = c->set;
    void *grown = grow(set->nodes, &set->capnodes, set->nnodes + 1, sizeof *set->nodes);
    if (!grown)
        return nomem(c);
    set->nodes = grown;
    if ((set->nnodes + 1) * 2 > set->mapcap && map_rebuild(set, set->nnodes + 1) != 0)
        return nomem(c);
    cf_schema *n = calloc(1, sizeof *n);
    if (!n)
        return nomem(c);
    n->src = src;
    n->kind = K_SCHEMA;
    n->max_len = n->max_items = n->max_props = SIZE_MAX;
    set->nodes[set->nnodes++] = n;
    map_put(set, n);
    *out = n;
    return 0;
}

static int compile(struct cctx *c, const json_t *s, const char *base, cf_schema **out);

/* Compiles the subschema s[key] (which must exist) with `key` on the path. */
static int compile_sub(struct cctx *c, const json_t *s, const char *key, const char *base,
                       const cf_schema **out)
{
    cf_schema *n = NULL;
    size_t old = path_push(c, key);
    int rc = compile(c, json_object_get(s, key), base, &n);
    path_pop(c, old);
    *out = n;
    return rc;
}

/* A keyword whose value is a non-empty array of schemas (allOf, anyOf, oneOf, items). */
static int compile_list(struct cctx *c, const json_t *s, const char *key, const char *base,
                        struct list *out)
{
    const json_t *a = json_object_get(s, key);
    int rc = 0;
    size_t old = path_push(c, key);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rc = cfail(c, CF_EINVAL, "'%s' must be a non-empty array of schemas", key);
        goto out;
    }
    out->v = calloc(json_array_size(a), sizeof *out->v);
    if (!out->v) {
        rc = nomem(c);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        cf_schema *n = NULL;
        size_t o = path_push_index(c, i);
        rc = compile(c, json_array_get(a, i), base, &n);
        path_pop(c, o);
        if (rc)
            goto out;
        out->v[out->n++] = n;
    }
out:
    path_pop(c, old);
    return rc;
}

/* An optional keyword whose value is a non-negative integer (1.0 counts as an integer). */
static int get_count(struct cctx *c, const json_t *s, const char *key, size_t *out)
{
    const json_t *v = json_object_get(s, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || !is_integral(v) || json_number_value(v) < 0) {
        size_t old = path_push(c, key);
        int rc = cfail(c, CF_EINVAL, "'%s' must be a non-negative integer", key);
        path_pop(c, old);
        return rc;
    }
    double d = json_number_value(v);
    *out = json_is_integer(v)      ? (size_t)json_integer_value(v)
           : d >= (double)SIZE_MAX ? SIZE_MAX
                                   : (size_t)d;
    return 0;
}

static int get_num(struct cctx *c, cf_schema *n, const char *key, unsigned flag, struct num *out)
{
    const json_t *v = json_object_get(n->src, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || (flag == N_MULTIPLE && json_number_value(v) <= 0)) {
        size_t old = path_push(c, key);
        int rc = cfail(c, CF_EINVAL, "'%s' must be a %snumber", key,
                       flag == N_MULTIPLE ? "positive " : "");
        path_pop(c, old);
        return rc;
    }
    *out = num_of(v);
    n->num_flags |= flag;
    return 0;
}

/* An array of unique strings (required, or a property dependency).  The strings stay in the
 * document, which lives as long as the set. */
static int get_names(struct cctx *c, const json_t *a, const char *what, const char ***out,
                     size_t *nout)
{
    if (!json_is_array(a))
        return cfail(c, CF_EINVAL, "%s must be an array of strings", what);
    size_t n = json_array_size(a);
    const char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            free(v);
            return cfail(c, CF_EINVAL, "%s must be an array of strings", what);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v[j], json_string_value(e)) == 0) {
                free(v);
                return cfail(c, CF_EINVAL, "%s names '%s' twice", what, json_string_value(e));
            }
        }
        v[i] = json_string_value(e);
    }
    *out = v;
    *nout = n;
    return 0;
}

static int compile_regex(struct cctx *c, const char *src, size_t len, pcre2_code **out)
{
    int code;
    PCRE2_SIZE off;
    /* DOLLAR_ENDONLY: in ECMAScript, which JSON Schema regexes follow, "$" does not match before
     * a final newline, so "^[0-9]{17}[0-9X]$" must not accept an ID number followed by "\n". */
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)src, len, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof msg);
        return cfail(c, CF_EINVAL, "invalid regular expression '%s' at offset %zu: %s", src,
                     (size_t)off, (const char *)msg);
    }
    /* Without JIT support the interpreter is used; slower, but correct. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return 0;
}

static int compile_type(struct cctx *c, cf_schema *n, const json_t *t)
{
    size_t count = json_is_array(t) ? json_array_size(t) : 1;
    if (!json_is_string(t) && (!json_is_array(t) || count == 0))
        return cfail(c, CF_EINVAL, "'type' must be a type name or a non-empty array of them");
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_is_array(t) ? json_array_get(t, i) : t;
        unsigned bit = 0;
        for (size_t k = 0; json_is_string(e) && k < sizeof type_names / sizeof *type_names; k++) {
            if (strcmp(json_string_value(e), type_names[k].name) == 0)
                bit = type_names[k].bit;
        }
        if (!bit)
            return cfail(c, CF_EINVAL, "'type' has an unknown type %s%s%s",
                         json_is_string(e) ? "'" : "",
                         json_is_string(e) ? json_string_value(e) : "that is not a string",
                         json_is_string(e) ? "'" : "");
        if (n->types & bit)
            return cfail(c, CF_EINVAL, "'type' names '%s' twice", json_string_value(e));
        n->types |= bit;
    }
    return 0;
}

/* FNV-1a: member names are short, and this is what every member of every object is looked up
 * with, so it must be cheap rather than strong. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Builds the hash table over `properties` that validation looks each member name up in. */
static int index_props(struct cctx *c, cf_schema *n)
{
    size_t cap = 4;
    while (cap < n->nprops * 2)
        cap *= 2;
    n->prop_slots = calloc(cap, sizeof *n->prop_slots);
    if (!n->prop_slots)
        return nomem(c);
    n->prop_mask = (uint32_t)(cap - 1);
    for (size_t i = 0; i < n->nprops; i++) {
        uint32_t k = n->props[i].hash = name_hash(n->props[i].name);
        while (n->prop_slots[k & n->prop_mask])
            k++;
        n->prop_slots[k & n->prop_mask] = (uint32_t)i + 1;
    }
    return 0;
}

static int compile_object_keywords(struct cctx *c, cf_schema *n, const char *base)
{
    const json_t *s = n->src, *v;
    const char *key;
    json_t *sub;
    int rc = 0;
    size_t old = c->plen;

    if ((rc = get_count(c, s, "minProperties", &n->min_props)) ||
        (rc = get_count(c, s, "maxProperties", &n->max_props)))
        return rc;
    if ((v = json_object_get(s, "required"))) {
        path_push(c, "required");
        rc = get_names(c, v, "'required'", &n->required, &n->nrequired);
        path_pop(c, old);
        if (rc)
            return rc;
    }
    if ((v = json_object_get(s, "properties"))) {
        path_push(c, "properties");
        if (!json_is_object(v)) {
            rc = cfail(c, CF_EINVAL, "'properties' must be an object of schemas");
            goto out;
        }
        n->props = calloc(json_object_size(v) + 1, sizeof *n->props);
        if (!n->props) {
            rc = nomem(c);
            goto out;
        }
        json_object_foreach ((json_t *)v, key, sub) {
            cf_schema *p = NULL;
            size_t o = path_push(c, key);
            rc = compile(c, sub, base, &p);
            path_pop(c, o);
            if (rc)
                goto out;
            n->props[n->nprops].name = key;
            n->props[n->nprops++].schema = p;
        }
        if ((rc = index_props(c, n)))
            goto out;
        path_pop(c, old);
    }
    if ((v = json_object_get(s, "patternProperties"))) {
        path_push(c, "patternProperties");
        if (!json_is_object(v)) {
            rc = cfail(c, CF_EINVAL, "'patternProperties' must be an object of schemas");
            goto out;
        }
        n->patprops = calloc(json_object_size(v) + 1, sizeof *n->patprops);
        if (!n->patprops) {
            rc = nomem(c);
            goto out;
        }
        json_object_foreach ((json_t *)v, key, sub) {
            struct patprop *pp = &n->patprops[n->npatprops];
            cf_schema *p = NULL;
            size_t o = path_push(c, key);
            rc = compile_regex(c, key, strlen(key), &pp->re);
            if (!rc)
                n->npatprops++;
            if (!rc)
                rc = compile(c, sub, base, &p);
            path_pop(c, o);
            if (rc)
                goto out;
            pp->schema = p;
        }
        path_pop(c, old);
    }
    if (json_object_get(s, "additionalProperties") &&
        (rc = compile_sub(c, s, "additionalProperties", base, &n->additional_props)))
        return rc;
    if (json_object_get(s, "propertyNames") &&
        (rc = compile_sub(c, s, "propertyNames", base, &n->property_names)))
        return rc;
    if ((v = json_object_get(s, "dependencies"))) {
        path_push(c, "dependencies");
        if (!json_is_object(v)) {
            rc = cfail(c, CF_EINVAL, "'dependencies' must be an object");
            goto out;
        }
        n->deps = calloc(json_object_size(v) + 1, sizeof *n->deps);
        if (!n->deps) {
            rc = nomem(c);
            goto out;
        }
        json_object_foreach ((json_t *)v, key, sub) {
            struct dep *d = &n->deps[n->ndeps++];
            size_t o = path_push(c, key);
            d->name = key;
            if (json_is_array(sub)) {
                rc = get_names(c, sub, "a property dependency", &d->names, &d->nnames);
            } else {
                cf_schema *p = NULL;
                rc = compile(c, sub, base, &p);
                d->schema = p;
            }
            path_pop(c, o);
            if (rc)
                goto out;
        }
        path_pop(c, old);
    }
out:
    path_pop(c, old);
    return rc;
}

static int compile_array_keywords(struct cctx *c, cf_schema *n, const char *base)
{
    const json_t *s = n->src, *v;
    int rc;

    if ((rc = get_count(c, s, "minItems", &n->min_items)) ||
        (rc = get_count(c, s, "maxItems", &n->max_items)))
        return rc;
    if ((v = json_object_get(s, "uniqueItems"))) {
        if (!json_is_boolean(v)) {
            size_t old = path_push(c, "uniqueItems");
            rc = cfail(c, CF_EINVAL, "'uniqueItems' must be a boolean");
            path_pop(c, old);
            return rc;
        }
        n->unique = json_is_true(v);
    }
    if ((v = json_object_get(s, "items"))) {
        if (json_is_array(v)) {
            n->items_is_tuple = 1;
            if ((rc = compile_list(c, s, "items", base, &n->tuple)))
                return rc;
        } else if ((rc = compile_sub(c, s, "items", base, &n->items))) {
            return rc;
        }
    }
    if (json_object_get(s, "additionalItems") &&
        (rc = compile_sub(c, s, "additionalItems", base, &n->additional_items)))
        return rc;
    if (json_object_get(s, "contains") && (rc = compile_sub(c, s, "contains", base, &n->contains)))
        return rc;
    return 0;
}

static int compile_scalar_keywords(struct cctx *c, cf_schema *n)
{
    const json_t *s = n->src, *v;
    int rc;
    size_t old = c->plen;

    if ((v = json_object_get(s, "type"))) {
        path_push(c, "type");
        rc = compile_type(c, n, v);
        path_pop(c, old);
        if (rc)
            return rc;
    }
    if ((v = json_object_get(s, "enum"))) {
        if (!json_is_array(v)) {
            path_push(c, "enum");
            rc = cfail(c, CF_EINVAL, "'enum' must be an array");
            path_pop(c, old);
            return rc;
        }
        n->enum_vals = v;
    }
    n->const_val = json_object_get(s, "const");
    if ((rc = get_num(c, n, "minimum", N_MINIMUM, &n->minimum)) ||
        (rc = get_num(c, n, "maximum", N_MAXIMUM, &n->maximum)) ||
        (rc = get_num(c, n, "exclusiveMinimum", N_XMINIMUM, &n->xminimum)) ||
        (rc = get_num(c, n, "exclusiveMaximum", N_XMAXIMUM, &n->xmaximum)) ||
        (rc = get_num(c, n, "multipleOf", N_MULTIPLE, &n->multiple_of)) ||
        (rc = get_count(c, s, "minLength", &n->min_len)) ||
        (rc = get_count(c, s, "maxLength", &n->max_len)))
        return rc;
    if ((v = json_object_get(s, "pattern"))) {
        path_push(c, "pattern");
        rc = json_is_string(v)
                 ? compile_regex(c, json_string_value(v), json_string_length(v), &n->pattern)
                 : cfail(c, CF_EINVAL, "'pattern' must be a string");
        path_pop(c, old);
        if (rc)
            return rc;
        n->pattern_src = json_string_value(v);
    }
    if ((v = json_object_get(s, "format"))) {
        if (!json_is_string(v)) {
            path_push(c, "format");
            rc = cfail(c, CF_EINVAL, "'format' must be a string");
            path_pop(c, old);
            return rc;
        }
        const char *f = json_string_value(v);
        n->format = strcmp(f, "date-time") == 0 ? F_DATE_TIME
                    : strcmp(f, "date") == 0    ? F_DATE
                    : strcmp(f, "email") == 0   ? F_EMAIL
                                                : F_NONE;
    }
    return 0;
}

/* definitions and $defs are compiled although nothing may refer to them, so that a mistake in
 * an unused definition is still reported when the schema is loaded. */
static int compile_definitions(struct cctx *c, const json_t *s, const char *key, const char *base)
{
    const json_t *defs = json_object_get(s, key);
    const char *name;
    json_t *sub;
    int rc = 0;
    if (!defs)
        return 0;
    size_t old = path_push(c, key);
    if (!json_is_object(defs)) {
        rc = cfail(c, CF_EINVAL, "'%s' must be an object of schemas", key);
        goto out;
    }
    json_object_foreach ((json_t *)defs, name, sub) {
        cf_schema *p = NULL;
        size_t o = path_push(c, name);
        rc = compile(c, sub, base, &p);
        path_pop(c, o);
        if (rc)
            goto out;
    }
out:
    path_pop(c, old);
    return rc;
}

static int add_pending(struct cctx *c, cf_schema *n, const json_t *ref, const char *base)
{
    cf_schema_set *set = c->set;
    size_t old = path_push(c, "$ref");
    int rc = 0;
    if (!json_is_string(ref)) {
        rc = cfail(c, CF_EINVAL, "'$ref' must be a string");
        goto out;
    }
    void *grown = grow(set->pending, &set->cappending, set->npending + 1, sizeof *set->pending);
    if (!grown) {
        rc = nomem(c);
        goto out;
    }
    set->pending = grown;
    struct pending *p = &set->pending[set->npending];
    size_t wlen = strlen(set->docs[c->doc].label) + strlen(c->path) + 4;
    p->node = n;
    p->ref = xstrdup(json_string_value(ref));
    p->uri = uri_resolve(base, json_string_value(ref));
    p->where = malloc(wlen);
    if (p->where)
        snprintf(p->where, wlen, "%s: #%s", set->docs[c->doc].label, c->path);
    set->npending++;
    if (!p->ref || !p->uri || !p->where)
        rc = nomem(c);
out:
    path_pop(c, old);
    return rc;
}

static int compile_keywords(struct cctx *c, cf_schema *n, const char *base)
{
    const json_t *s = n->src, *v;
    char *own_base = NULL;
    int rc = 0;

    if ((v = json_object_get(s, "$ref"))) {
        /* In draft-07 "$ref" overrides its siblings; only definitions may still be its targets. */
        n->kind = K_REF;
        if ((rc = add_pending(c, n, v, base)) ||
            (rc = compile_definitions(c, s, "definitions", base)))
            goto out;
        rc = compile_definitions(c, s, "$defs", base);
        goto out;
    }
    if ((v = json_object_get(s, "$id"))) {
        if (!json_is_string(v)) {
            size_t old = path_push(c, "$id");
            rc = cfail(c, CF_EINVAL, "'$id' must be a string");
            path_pop(c, old);
            goto out;
        }
        if (json_string_value(v)[0] != '#') {
            if (!(own_base = uri_resolve(base, json_string_value(v)))) {
                rc = nomem(c);
                goto out;
            }
            base = own_base;
        }
    }
    if ((rc = compile_definitions(c, s, "definitions", base)) ||
        (rc = compile_definitions(c, s, "$defs", base)) || (rc = compile_scalar_keywords(c, n)) ||
        (rc = compile_array_keywords(c, n, base)) || (rc = compile_object_keywords(c, n, base)))
        goto out;
    if ((json_object_get(s, "allOf") && (rc = compile_list(c, s, "allOf", base, &n->all_of))) ||
        (json_object_get(s, "anyOf") && (rc = compile_list(c, s, "anyOf", base, &n->any_of))) ||
        (json_object_get(s, "oneOf") && (rc = compile_list(c, s, "oneOf", base, &n->one_of))) ||
        (json_object_get(s, "not") && (rc = compile_sub(c, s, "not", base, &n->not_schema))) ||
        (json_object_get(s, "if") && (rc = compile_sub(c, s, "if", base, &n->if_schema))) ||
        (json_object_get(s, "then") && (rc = compile_sub(c, s, "then", base, &n->then_schema))) ||
        (json_object_get(s, "else") && (rc = compile_sub(c, s, "else", base, &n->else_schema))))
        goto out;
out:
    free(own_base);
    return rc;
}

/* Compiles the schema `s` found under `base`, or returns the node already compiled from it. */
static int compile(struct cctx *c, const json_t *s, const char *base, cf_schema **out)
{
    cf_schema *n = map_get(c->set, s);
    int rc;
    if (n) {
        *out = n;
        return 0;
    }
    if (!json_is_object(s) && !json_is_boolean(s))
        return cfail(c, CF_EINVAL, "a schema must be an object or a boolean");
    if (c->depth >= MAX_COMPILE_DEPTH)
        return cfail(c, CF_EINVAL, "schemas nest deeper than %d levels", MAX_COMPILE_DEPTH);
    if ((rc = node_new(c, s, &n)))
        return rc;
    if (json_is_boolean(s)) {
        n->kind = json_is_true(s) ? K_TRUE : K_FALSE;
        *out = n;
        return 0;
    }
    c->depth++;
    rc = compile_keywords(c, n, base);
    c->depth--;
    *out = n;
    return rc;
}

/* ---- identifiers and references ------------------------------------------------------------ */

static int ident_add(struct cctx *c, const char *uri, const json_t *json, const char *base)
{
    cf_schema_set *set = c->set;
    const struct ident *old = ident_find(set, uri, strlen(uri));
    if (old) {
        if (old->json == json)
            return 0;
        return cfail(c, CF_EDUP, "'%s' already identifies another schema (in %s)", uri,
                     set->docs[old->doc].label);
    }
    void *grown = grow(set->idents, &set->capidents, set->nidents + 1, sizeof *set->idents);
    if (!grown)
        return nomem(c);
    set->idents = grown;
    struct ident *id = &set->idents[set->nidents];
    id->uri = xstrdup(uri);
    id->base = xstrdup(base);
    id->json = json;
    id->doc = c->doc;
    if (!id->uri || !id->base) {
        free(id->uri);
        free(id->base);
        return nomem(c);
    }
    set->nidents++;
    return 0;
}

static int walk_ids(struct cctx *c, const json_t *s, const char *base);

static int walk_child(struct cctx *c, const json_t *s, const char *key, const char *base)
{
    static const char *const maps[] = {"properties", "patternProperties", "definitions", "$defs",
                                       "dependencies"};
    const json_t *v = json_object_get(s, key);
    const char *name;
    json_t *sub;
    int rc = 0;
    size_t old = path_push(c, key);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
            size_t o = path_push_index(c, i);
            rc = walk_ids(c, json_array_get(v, i), base);
            path_pop(c, o);
        }
    } else if (json_is_object(v)) {
        int is_map = 0;
        for (size_t i = 0; i < sizeof maps / sizeof *maps; i++)
            is_map |= strcmp(key, maps[i]) == 0;
        if (!is_map) {
            rc = walk_ids(c, v, base);
        } else {
            json_object_foreach ((json_t *)v, name, sub) {
                size_t o = path_push(c, name);
                rc = walk_ids(c, sub, base);
                path_pop(c, o);
                if (rc)
                    break;
            }
        }
    }
    path_pop(c, old);
    return rc;
}

/* Registers every $id of a document, so that a $ref can name a subschema by its $id. */
static int walk_ids(struct cctx *c, const json_t *s, const char *base)
{
    static const char *const keys[] = {"additionalItems",
                                       "additionalProperties",
                                       "contains",
                                       "propertyNames",
                                       "not",
                                       "if",
                                       "then",
                                       "else",
                                       "items",
                                       "allOf",
                                       "anyOf",
                                       "oneOf",
                                       "properties",
                                       "patternProperties",
                                       "definitions",
                                       "$defs",
                                       "dependencies"};
    const json_t *id = json_object_get(s, "$id");
    char *own = NULL;
    int rc = 0;
    if (!json_is_object(s))
        return 0;
    if (c->depth >= MAX_COMPILE_DEPTH)
        return cfail(c, CF_EINVAL, "schemas nest deeper than %d levels", MAX_COMPILE_DEPTH);
    if (json_is_string(id) && !json_object_get(s, "$ref")) {
        if (!(own = uri_resolve(base, json_string_value(id))))
            return nomem(c);
        if (json_string_value(id)[0] == '#') {
            rc = ident_add(c, own, s, base);
        } else {
            /* "http://x/schema#" names the same resource as "http://x/schema". */
            own[strcspn(own, "#")] = '\0';
            rc = ident_add(c, own, s, own);
            base = own;
        }
    }
    c->depth++;
    for (size_t i = 0; i < sizeof keys / sizeof *keys && !rc; i++) {
        if (json_object_get(s, keys[i]))
            rc = walk_child(c, s, keys[i], base);
    }
    c->depth--;
    free(own);
    return rc;
}

/* Follows the JSON pointer `ptr` (already percent-decoded) from `root`; `*base` is updated for
 * each $id passed on the way.  Returns the value, or NULL when the pointer leads nowhere. */
static const json_t *pointer_walk(const json_t *root, const char *ptr, char **base, int *nomem)
{
    const json_t *cur = root;
    *nomem = 0;
    while (*ptr == '/' && cur) {
        const char *end = strchr(ptr + 1, '/');
        size_t len = end ? (size_t)(end - ptr - 1) : strlen(ptr + 1);
        char tok[256];
        size_t n = 0;
        for (size_t i = 1; i <= len; i++) {
            char ch = ptr[i];
            if (ch == '~') {
                if (ptr[i + 1] != '0' && ptr[i + 1] != '1')
                    return NULL;
                ch = ptr[++i] == '0' ? '~' : '/';
            }
            if (n + 1 >= sizeof tok)
                return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        ptr += len + 1;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *e;
            unsigned long i = strtoul(tok, &e, 10);
            cur = n > 0 && *e == '\0' && (tok[0] != '0' || n == 1) ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
        const json_t *id = json_object_get(cur, "$id");
        if (*ptr && json_is_string(id) && json_string_value(id)[0] != '#' &&
            !json_object_get(cur, "$ref")) {
            char *nb = uri_resolve(*base, json_string_value(id));
            if (!nb) {
                *nomem = 1;
                return NULL;
            }
            free(*base);
            *base = nb;
        }
    }
    return *ptr ? NULL : cur;
}

/* `p` is a copy: compiling the target may add pending entries and so move the array. */
static int link_one(struct cctx *c, const struct pending *p)
{
    cf_schema_set *set = c->set;
    const char *hash = strchr(p->uri, '#');
    size_t doclen = hash ? (size_t)(hash - p->uri) : strlen(p->uri);
    const struct ident *id = ident_find(set, p->uri, doclen);
    char *frag = NULL, *base = NULL;
    const json_t *target = NULL;
    cf_schema *n = NULL;
    int bad = 0, rc = 0;

    if (!id) {
        /* A document of the set may be named by its file name alone, whatever the base. */
        const char *slash = p->uri + doclen;
        while (slash > p->uri && slash[-1] != '/')
            slash--;
        id = ident_find(set, slash, doclen - (size_t)(slash - p->uri));
    }
    if (!id) {
        rc = cf_errf(c->err, c->errsz, CF_EINVAL,
                     "%s: cannot resolve '%s': no schema '%.*s' in the set", p->where, p->ref,
                     (int)doclen, p->uri);
        goto out;
    }
    if (!hash || hash[1] == '\0') {
        target = id->json;
    } else if (hash[1] != '/') {
        const struct ident *anchor = ident_find(set, p->uri, strlen(p->uri));
        target = anchor ? anchor->json : NULL;
        id = anchor ? anchor : id;
    } else {
        if (!(frag = percent_decode(hash + 1, &bad))) {
            rc = bad ? cf_errf(c->err, c->errsz, CF_EINVAL, "%s: bad percent-encoding in '%s'",
                               p->where, p->ref)
                     : cf_errf(c->err, c->errsz, CF_ENOMEM, "%s: out of memory", p->where);
            goto out;
        }
        if (!(base = xstrdup(id->base))) {
            rc = cf_errf(c->err, c->errsz, CF_ENOMEM, "%s: out of memory", p->where);
            goto out;
        }
        target = pointer_walk(id->json, frag, &base, &bad);
        if (bad) {
            rc = cf_errf(c->err, c->errsz, CF_ENOMEM, "%s: out of memory", p->where);
            goto out;
        }
    }
    if (!target) {
        rc = cf_errf(c->err, c->errsz, CF_EINVAL, "%s: cannot resolve '%s': no such place in %s",
                     p->where, p->ref, set->docs[id->doc].label);
        goto out;
    }
    /* The target may lie where nothing compiled it yet (an unused definition of another
     * document, "#/items/0"): compile it there, reporting errors at its own location. */
    c->doc = id->doc;
    c->plen = 0;
    c->path[0] = '\0';
    if (frag) {
        snprintf(c->path, sizeof c->path, "%s", frag);
        c->plen = strlen(c->path);
    }
    if ((rc = compile(c, target, base ? base : id->base, &n)))
        goto out;
    p->node->ref = n;
out:
    free(frag);
    free(base);
    return rc;
}

/* Links every pending $ref (linking may compile more schemas and so add more), then rejects
 * chains of $refs that come back to themselves: those could never validate anything. */
static int link_all(struct cctx *c)
{
    cf_schema_set *set = c->set;
    int rc = 0;
    for (size_t i = 0; i < set->npending && !rc; i++) {
        struct pending p = set->pending[i];
        rc = link_one(c, &p);
    }
    for (size_t i = 0; i < set->npending && !rc; i++) {
        const cf_schema *n = set->pending[i].node;
        for (size_t steps = 0; n && n->kind == K_REF; steps++) {
            n = n->ref;
            if (n == set->pending[i].node || steps > set->nnodes) {
                rc = cf_errf(c->err, c->errsz, CF_EINVAL,
                             "%s: '%s' leads back to itself through $refs alone",
                             set->pending[i].where, set->pending[i].ref);
                break;
            }
        }
    }
    /* Point each $ref straight at the end of its chain, so validation takes one step. */
    for (size_t i = 0; i < set->npending && !rc; i++) {
        cf_schema *n = set->pending[i].node;
        while (n->ref->kind == K_REF)
            n->ref = n->ref->ref;
    }
    pending_clear(set);
    return rc;
}

/* Takes over `json` (also on failure) and makes it a document of the set, its $ids known. */
static int register_doc(cf_schema_set *set, const char *name, const char *label, json_t *json,
                        char *err, size_t errsz)
{
    struct cctx c = {.set = set, .doc = set->ndocs, .err = err, .errsz = errsz};
    struct doc *d;
    const json_t *id;
    int rc = 0;

    for (size_t i = 0; i < set->ndocs; i++) {
        if (strcmp(set->docs[i].name, name) == 0) {
            json_decref(json);
            return cf_errf(err, errsz, CF_EDUP, "%s: a schema named '%s' is already loaded (%s)",
                           label, name, set->docs[i].label);
        }
    }
    void *grown = grow(set->docs, &set->capdocs, set->ndocs + 1, sizeof *set->docs);
    if (!grown) {
        json_decref(json);
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", label);
    }
    set->docs = grown;
    d = &set->docs[set->ndocs++];
    memset(d, 0, sizeof *d);
    d->json = json;
    d->name = xstrdup(name);
    d->label = xstrdup(label);
    d->base = concat(name, strlen(name), ".json");
    if (!d->name || !d->label || !d->base)
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", label);
    id = json_object_get(json, "$id");
    if (json_is_string(id) && json_string_value(id)[0] != '#' && !json_object_get(json, "$ref")) {
        char *b = uri_resolve(d->base, json_string_value(id));
        if (!b)
            return nomem(&c);
        b[strcspn(b, "#")] = '\0';
        free(d->base);
        d->base = b;
    }
    if ((rc = walk_ids(&c, json, d->base)) || (rc = ident_add(&c, name, json, d->base)))
        return rc;
    char *file = concat(name, strlen(name), ".json");
    if (!file)
        return nomem(&c);
    rc = ident_add(&c, file, json, d->base);
    free(file);
    return rc;
}

static int compile_doc(cf_schema_set *set, size_t doc, char *err, size_t errsz)
{
    struct cctx c = {.set = set, .doc = doc, .err = err, .errsz = errsz};
    cf_schema *root = NULL;
    int rc = compile(&c, set->docs[doc].json, set->docs[doc].base, &root);
    if (rc == 0)
        rc = link_all(&c);
    set->docs[doc].root = root;
    return rc;
}

/* ---- public: building the set ----------------------------------------------------------- */

cf_schema_set *cf_schema_set_new(void)
{
    return calloc(1, sizeof(cf_schema_set));
}

int cf_schema_set_add(cf_schema_set *set, const char *name, const json_t *schema, char *err,
                      size_t errsz)
{
    if (!set || !name || !*name || !schema)
        return cf_errf(err, errsz, CF_EINVAL, "cf_schema_set_add: no set, name or schema");
    struct mark m = mark_take(set);
    json_t *copy = json_deep_copy(schema);
    int rc;
    if (!copy)
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", name);
    rc = register_doc(set, name, name, copy, err, errsz);
    if (rc == 0)
        rc = compile_doc(set, set->ndocs - 1, err, errsz);
    if (rc)
        rollback(set, m);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cf_schema_set_load_dir(cf_schema_set *set, const char *dir, char *err, size_t errsz)
{
    if (!set || !dir)
        return cf_errf(err, errsz, CF_EINVAL, "cf_schema_set_load_dir: no set or folder");
    struct mark m = mark_take(set);
    DIR *dp = opendir(dir);
    struct dirent *de;
    char **files = NULL;
    size_t nfiles = 0, capfiles = 0;
    int rc = 0;

    if (!dp)
        return cf_errf(err, errsz, CF_EIO, "%s: cannot open folder", dir);
    while ((de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        void *grown = grow(files, &capfiles, nfiles + 1, sizeof *files);
        if (grown)
            files = grown;
        if (!grown || !(files[nfiles] = xstrdup(de->d_name))) {
            rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", dir);
            goto out;
        }
        nfiles++;
    }
    /* Sorted, so that which of two bad files is reported does not depend on the file system. */
    if (nfiles > 1) /* qsort may not be given the NULL of an empty directory */
        qsort(files, nfiles, sizeof *files, name_cmp);
    for (size_t i = 0; i < nfiles; i++) {
        size_t len = strlen(dir) + strlen(files[i]) + 2;
        char *path = malloc(len);
        json_error_t jerr;
        json_t *json;
        if (!path) {
            rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", dir);
            goto out;
        }
        snprintf(path, len, "%s/%s", dir, files[i]);
        json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!json) {
            int code = json_error_code(&jerr) == json_error_cannot_open_file ? CF_EIO : CF_EPARSE;
            rc = cf_errf(err, errsz, code, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
            free(path);
            goto out;
        }
        files[i][strlen(files[i]) - 5] = '\0';
        rc = register_doc(set, files[i], path, json, err, errsz);
        free(path);
        if (rc)
            goto out;
    }
    for (size_t i = m.ndocs; i < set->ndocs && !rc; i++)
        rc = compile_doc(set, i, err, errsz);
out:
    if (rc)
        rollback(set, m);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    closedir(dp);
    return rc;
}

const cf_schema *cf_schema_set_get(const cf_schema_set *set, const char *name)
{
    if (!set || !name)
        return NULL;
    for (size_t i = 0; i < set->ndocs; i++) {
        if (strcmp(set->docs[i].name, name) == 0)
            return set->docs[i].root;
    }
    return NULL;
}

void cf_schema_set_free(cf_schema_set *set)
{
    if (!set)
        return;
    struct mark none = {0, 0, 0};
    rollback(set, none);
    free(set->docs);
    free(set->idents);
    free(set->nodes);
    free(set->map);
    free(set->pending);
    free(set);
}

/* ---- validating ------------------------------------------------------------------------- */

/* One step of the instance location: an object member or an array index. */
struct seg {
    const char *key; /* NULL for an array index */
    size_t index;
};

struct vctx {
    char *err; /* where the next message goes: the caller's buffer, or a scratch one */
    size_t errsz;
    char *top_err; /* the caller's buffer, for errors that end the whole validation */
    size_t top_errsz;
    int quiet; /* > 0 inside anyOf, oneOf, not, if, contains: only valid or not matters */
    int fatal; /* too deep, or out of memory: every enclosing schema fails too */
    int nomem;
    int depth;
    size_t npath;
    pcre2_match_data *md; /* created at the first regex match of a validation */
    struct seg path[CF_SCHEMA_MAX_DEPTH + 1];
};

static int validate(struct vctx *v, const cf_schema *s, const json_t *x);

/* Writes the instance location as a JSON pointer.  A location too long for `buf` keeps its
 * first and last members with "/..." between them, so that the message after it survives. */
static void where_text(const struct vctx *v, char *buf, size_t sz)
{
    char full[2048];
    size_t len = 0;
    if (v->npath == 0) {
        snprintf(buf, sz, "(root)");
        return;
    }
    full[0] = '\0';
    for (size_t i = 0; i < v->npath && len + 1 < sizeof full; i++) {
        if (v->path[i].key) {
            len = pointer_append(full, len, sizeof full, v->path[i].key);
        } else {
            int k = snprintf(full + len, sizeof full - len, "/%zu", v->path[i].index);
            len = k < 0 ? len : len + (size_t)k;
        }
    }
    len = strlen(full);
    if (len < sz) {
        memcpy(buf, full, len + 1);
        return;
    }
    size_t head = sz / 3, tail;
    while (head > 0 && full[head] != '/')
        head--;
    tail = len - (sz - head - sizeof "/...");
    while (tail < len && full[tail] != '/')
        tail++;
    if (head == 0 || tail >= len) {
        /* One enormous member name: cut it, but not inside a UTF-8 sequence. */
        size_t cut = sz - 1;
        while (cut > 0 && ((unsigned char)full[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(buf, full, cut);
        buf[cut] = '\0';
        return;
    }
    snprintf(buf, sz, "%.*s/...%s", (int)head, full, full + tail);
}

static int vfail(struct vctx *v, const char *fmt, ...) CF_PRINTF(2, 3);

/* Reports a violation at the current location and returns -1.  Inside a quiet part only the
 * outcome matters, so nothing is formatted there: this keeps anyOf and oneOf cheap. */
static int vfail(struct vctx *v, const char *fmt, ...)
{
    if (v->quiet || v->fatal)
        return -1;
    char where[256], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    where_text(v, where, sizeof where);
    cf_errf(v->err, v->errsz, CF_ESCHEMA, "%s: %s", where, msg);
    return -1;
}

static int vfatal(struct vctx *v, const char *what)
{
    if (!v->fatal) {
        char where[256];
        where_text(v, where, sizeof where);
        cf_errf(v->top_err, v->top_errsz, CF_ESCHEMA, "%s: %s", where, what);
        v->fatal = 1;
    }
    return -1;
}

static int validate_at_key(struct vctx *v, const cf_schema *s, const json_t *x, const char *key)
{
    v->path[v->npath].key = key;
    v->npath++;
    int rc = validate(v, s, x);
    v->npath--;
    return rc;
}

static int validate_at_index(struct vctx *v, const cf_schema *s, const json_t *x, size_t i)
{
    v->path[v->npath].key = NULL;
    v->path[v->npath].index = i;
    v->npath++;
    int rc = validate(v, s, x);
    v->npath--;
    return rc;
}

/* Returns 1 when `re` matches somewhere in the string, 0 when not, -1 when memory ran out. */
static int re_match(struct vctx *v, const pcre2_code *re, const char *str, size_t len)
{
    if (!v->md && !(v->md = pcre2_match_data_create(1, NULL))) {
        v->nomem = 1;
        return vfatal(v, "out of memory");
    }
    /* Errors other than "no match" (a backtracking limit hit) count as no match: the value is
     * rejected rather than let through unchecked. */
    return pcre2_match(re, (PCRE2_SPTR)str, len, 0, 0, v->md, NULL) >= 0;
}

static void types_text(unsigned types, char *buf, size_t sz)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof type_names / sizeof *type_names; k++) {
        if (types & type_names[k].bit) {
            int n = snprintf(buf + len, sz - len, "%s%s", len ? " or " : "", type_names[k].name);
            if (n < 0 || (size_t)n >= sz - len)
                return;
            len += (size_t)n;
        }
    }
}

static void put(char *buf, size_t sz, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *len + 1 < sz; i++)
        buf[(*len)++] = s[i];
    buf[*len] = '\0';
}

static void render_string(const char *str, size_t n, char *buf, size_t sz, size_t *len)
{
    put(buf, sz, len, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)str[i];
        if (ch == '"' || ch == '\\') {
            put(buf, sz, len, "\\", 1);
            put(buf, sz, len, str + i, 1);
        } else if (ch < 0x20) {
            char tmp[8];
            snprintf(tmp, sizeof tmp, "\\u%04x", ch);
            put(buf, sz, len, tmp, strlen(tmp));
        } else {
            put(buf, sz, len, str + i, 1);
        }
    }
    put(buf, sz, len, "\"", 1);
}

static void render(const json_t *j, char *buf, size_t sz, size_t *len, int depth)
{
    char tmp[40];
    switch (json_typeof(j)) {
    case JSON_STRING:
        render_string(json_string_value(j), json_string_length(j), buf, sz, len);
        return;
    case JSON_INTEGER:
    case JSON_REAL:
        num_text(num_of(j), tmp, sizeof tmp);
        put(buf, sz, len, tmp, strlen(tmp));
        return;
    case JSON_TRUE: put(buf, sz, len, "true", 4); return;
    case JSON_FALSE: put(buf, sz, len, "false", 5); return;
    case JSON_NULL: put(buf, sz, len, "null", 4); return;
    case JSON_ARRAY:
        put(buf, sz, len, "[", 1);
        for (size_t i = 0; i < json_array_size(j) && depth < 8; i++) {
            if (i)
                put(buf, sz, len, ",", 1);
            render(json_array_get(j, i), buf, sz, len, depth + 1);
        }
        put(buf, sz, len, "]", 1);
        return;
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        put(buf, sz, len, "{", 1);
        json_object_foreach ((json_t *)j, key, val) {
            if (depth >= 8)
                break;
            if (!first)
                put(buf, sz, len, ",", 1);
            first = 0;
            render_string(key, strlen(key), buf, sz, len);
            put(buf, sz, len, ":", 1);
            render(val, buf, sz, len, depth + 1);
        }
        put(buf, sz, len, "}", 1);
        return;
    }
    }
}

/* A schema value for a message ("[\"money\",\"act\"]"), cut to fit.  jansson's encoder is not
 * used: it marks containers while encoding, which is unsafe while other threads validate
 * against the same schema. */
static void value_text(const json_t *j, char *buf, size_t sz)
{
    size_t len = 0;
    buf[0] = '\0';
    render(j, buf, sz, &len, 0);
    if (len + 1 >= sz && sz > 4) {
        /* Cut, but not inside a UTF-8 sequence. */
        size_t cut = sz - 4;
        while (cut > 0 && ((unsigned char)buf[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(buf + cut, "...", 4);
    }
}

static int check_number(struct vctx *v, const cf_schema *s, const json_t *x)
{
    struct num n = num_of(x);
    const struct num *bound = NULL;
    const char *what = NULL;
    char b[40];
    unsigned f = s->num_flags;
    if ((f & N_MINIMUM) && num_cmp(n, s->minimum) < 0)
        bound = &s->minimum, what = ">=";
    else if ((f & N_MAXIMUM) && num_cmp(n, s->maximum) > 0)
        bound = &s->maximum, what = "<=";
    else if ((f & N_XMINIMUM) && num_cmp(n, s->xminimum) <= 0)
        bound = &s->xminimum, what = ">";
    else if ((f & N_XMAXIMUM) && num_cmp(n, s->xmaximum) >= 0)
        bound = &s->xmaximum, what = "<";
    else if ((f & N_MULTIPLE) && !is_multiple(n, s->multiple_of))
        bound = &s->multiple_of, what = "a multiple of";
    if (!bound)
        return 0;
    if (v->quiet)
        return -1;
    return vfail(v, "must be %s %s", what, num_text(*bound, b, sizeof b));
}

static int check_string(struct vctx *v, const cf_schema *s, const json_t *x)
{
    const char *str = json_string_value(x), *why;
    size_t bytes = json_string_length(x);
    /* A code point takes 1 to 4 bytes: most strings are within bounds by their byte length
     * alone, and need not be counted. */
    if ((s->min_len > 0 && bytes / 4 < s->min_len) ||
        (s->max_len != SIZE_MAX && bytes > s->max_len)) {
        size_t len = utf8_length(str, bytes);
        if (len < s->min_len)
            return vfail(v, "is shorter than %zu character%s", s->min_len,
                         s->min_len == 1 ? "" : "s");
        if (len > s->max_len)
            return vfail(v, "is longer than %zu character%s", s->max_len,
                         s->max_len == 1 ? "" : "s");
    }
    if (s->pattern) {
        int m = re_match(v, s->pattern, str, bytes);
        if (m < 0)
            return -1;
        if (!m)
            return vfail(v, "does not match pattern %s", s->pattern_src);
    }
    switch (s->format) {
    case F_DATE_TIME:
        if ((why = date_time_problem(str, bytes)))
            return *why ? vfail(v, "is not a date-time: %s", why)
                        : vfail(v, "is not a date-time (RFC 3339, e.g. 2026-03-01T09:30:00+08:00)");
        break;
    case F_DATE:
        if ((why = date_problem(str, bytes)))
            return *why ? vfail(v, "is not a date: %s", why)
                        : vfail(v, "is not a date (RFC 3339 full-date, e.g. 2026-03-01)");
        break;
    case F_EMAIL:
        if (!is_email(str, bytes))
            return vfail(v, "is not an e-mail address");
        break;
    case F_NONE: break;
    }
    return 0;
}

static int check_array(struct vctx *v, const cf_schema *s, const json_t *x)
{
    size_t n = json_array_size(x);
    if (n < s->min_items)
        return vfail(v, "has %zu item%s, fewer than %zu", n, n == 1 ? "" : "s", s->min_items);
    if (n > s->max_items)
        return vfail(v, "has %zu item%s, more than %zu", n, n == 1 ? "" : "s", s->max_items);
    if (s->items_is_tuple) {
        for (size_t i = 0; i < n && i < s->tuple.n; i++) {
            if (validate_at_index(v, s->tuple.v[i], json_array_get(x, i), i))
                return -1;
        }
        if (s->additional_items && n > s->tuple.n) {
            if (s->additional_items->kind == K_FALSE)
                return vfail(v, "has %zu items, at most %zu allowed", n, s->tuple.n);
            for (size_t i = s->tuple.n; i < n; i++) {
                if (validate_at_index(v, s->additional_items, json_array_get(x, i), i))
                    return -1;
            }
        }
    } else if (s->items) {
        for (size_t i = 0; i < n; i++) {
            if (validate_at_index(v, s->items, json_array_get(x, i), i))
                return -1;
        }
    }
    if (s->unique) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (json_eq(json_array_get(x, i), json_array_get(x, j)))
                    return vfail(v, "items %zu and %zu are equal, but items must be unique", i, j);
            }
        }
    }
    if (s->contains) {
        int found = 0;
        v->quiet++;
        for (size_t i = 0; i < n && !found && !v->fatal; i++)
            found = validate_at_index(v, s->contains, json_array_get(x, i), i) == 0;
        v->quiet--;
        if (v->fatal)
            return -1;
        if (!found)
            return vfail(v, "has no item that matches 'contains'");
    }
    return 0;
}

static const struct prop *prop_find(const cf_schema *s, const char *key)
{
    uint32_t h = name_hash(key);
    for (uint32_t k = h, i; (i = s->prop_slots[k & s->prop_mask]) != 0; k++) {
        const struct prop *p = &s->props[i - 1];
        if (p->hash == h && strcmp(p->name, key) == 0)
            return p;
    }
    return NULL;
}

static int check_object(struct vctx *v, const cf_schema *s, const json_t *x)
{
    size_t n = json_object_size(x);
    const char *key;
    json_t *val;

    if (n < s->min_props)
        return vfail(v, "has %zu propert%s, fewer than %zu", n, n == 1 ? "y" : "ies", s->min_props);
    if (n > s->max_props)
        return vfail(v, "has %zu propert%s, more than %zu", n, n == 1 ? "y" : "ies", s->max_props);
    for (size_t i = 0; i < s->nrequired; i++) {
        if (!json_object_get(x, s->required[i]))
            return vfail(v, "missing required property '%s'", s->required[i]);
    }
    if (s->nprops || s->npatprops || s->additional_props) {
        /* jansson's iterator takes a non-const object, but iterating does not change it. */
        json_object_foreach ((json_t *)x, key, val) {
            int matched = 0;
            const struct prop *p = s->prop_slots ? prop_find(s, key) : NULL;
            if (p) {
                matched = 1;
                if (validate_at_key(v, p->schema, val, key))
                    return -1;
            }
            for (size_t i = 0; i < s->npatprops; i++) {
                int m = re_match(v, s->patprops[i].re, key, strlen(key));
                if (m < 0)
                    return -1;
                if (m) {
                    matched = 1;
                    if (validate_at_key(v, s->patprops[i].schema, val, key))
                        return -1;
                }
            }
            if (!matched && s->additional_props) {
                if (s->additional_props->kind == K_FALSE)
                    return vfail(v, "property '%s' is not allowed", key);
                if (validate_at_key(v, s->additional_props, val, key))
                    return -1;
            }
        }
    }
    if (s->property_names) {
        json_object_foreach ((json_t *)x, key, val) {
            json_t *name = json_string(key);
            if (!name) {
                v->nomem = 1;
                return vfatal(v, "out of memory");
            }
            v->quiet++;
            int rc = validate(v, s->property_names, name);
            v->quiet--;
            json_decref(name);
            if (rc)
                return v->fatal ? -1 : vfail(v, "property name '%s' is not allowed", key);
        }
    }
    for (size_t i = 0; i < s->ndeps; i++) {
        const struct dep *d = &s->deps[i];
        if (!json_object_get(x, d->name))
            continue;
        if (d->schema && validate(v, d->schema, x))
            return -1;
        for (size_t k = 0; k < d->nnames; k++) {
            if (!json_object_get(x, d->names[k]))
                return vfail(v, "property '%s' requires property '%s'", d->name, d->names[k]);
        }
    }
    return 0;
}

/* Explains why none of the alternatives matched: each one's own first violation. */
static int fail_alternatives(struct vctx *v, const struct list *l, const json_t *x, const char *kw)
{
    char msg[1024], sub[320];
    char *save = v->err;
    size_t savesz = v->errsz;
    if (v->quiet || v->fatal)
        return -1;
    int len = snprintf(msg, sizeof msg, "matches none of the %zu alternatives of %s", l->n, kw);
    for (size_t i = 0; i < l->n && i < MAX_DESCRIBED && len > 0 && (size_t)len < sizeof msg; i++) {
        sub[0] = '\0';
        v->err = sub;
        v->errsz = sizeof sub;
        (void)validate(v, l->v[i], x);
        v->err = save;
        v->errsz = savesz;
        if (v->fatal)
            return -1;
        len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", i ? "; " : ": ", sub);
    }
    if (l->n > MAX_DESCRIBED && len > 0 && (size_t)len < sizeof msg)
        snprintf(msg + len, sizeof msg - (size_t)len, "; ...");
    return vfail(v, "%s", msg);
}

static int check_combinations(struct vctx *v, const cf_schema *s, const json_t *x)
{
    for (size_t i = 0; i < s->all_of.n; i++) {
        if (validate(v, s->all_of.v[i], x))
            return -1;
    }
    if (s->any_of.n) {
        int ok = 0;
        v->quiet++;
        for (size_t i = 0; i < s->any_of.n && !ok && !v->fatal; i++)
            ok = validate(v, s->any_of.v[i], x) == 0;
        v->quiet--;
        if (v->fatal)
            return -1;
        if (!ok)
            return fail_alternatives(v, &s->any_of, x, "anyOf");
    }
    if (s->one_of.n) {
        size_t count = 0, first = 0, second = 0;
        v->quiet++;
        for (size_t i = 0; i < s->one_of.n && count < 2 && !v->fatal; i++) {
            if (validate(v, s->one_of.v[i], x) == 0)
                *(count++ == 0 ? &first : &second) = i;
        }
        v->quiet--;
        if (v->fatal)
            return -1;
        if (count == 0)
            return fail_alternatives(v, &s->one_of, x, "oneOf");
        if (count > 1)
            return vfail(v, "matches alternatives %zu and %zu of oneOf, but must match one only",
                         first, second);
    }
    if (s->not_schema) {
        v->quiet++;
        int rc = validate(v, s->not_schema, x);
        v->quiet--;
        if (v->fatal)
            return -1;
        if (rc == 0)
            return vfail(v, "must not match the schema of 'not'");
    }
    if (s->if_schema && (s->then_schema || s->else_schema)) {
        v->quiet++;
        int rc = validate(v, s->if_schema, x);
        v->quiet--;
        if (v->fatal)
            return -1;
        const cf_schema *next = rc == 0 ? s->then_schema : s->else_schema;
        if (next && validate(v, next, x))
            return -1;
    }
    return 0;
}

static int check(struct vctx *v, const cf_schema *s, const json_t *x)
{
    /* The messages below quote the schema; they are only worth formatting outside quiet parts. */
    if (s->types && !(s->types & instance_bits(x))) {
        char want[80];
        if (v->quiet)
            return -1;
        types_text(s->types, want, sizeof want);
        return vfail(v, "expected %s, got %s", want, instance_type(x));
    }
    if (s->const_val && !json_eq(s->const_val, x)) {
        char b[200];
        if (v->quiet)
            return -1;
        value_text(s->const_val, b, sizeof b);
        return vfail(v, "must be %s", b);
    }
    if (s->enum_vals) {
        size_t i, n = json_array_size(s->enum_vals);
        for (i = 0; i < n && !json_eq(json_array_get(s->enum_vals, i), x); i++)
            ;
        if (i == n) {
            char b[300];
            if (v->quiet)
                return -1;
            value_text(s->enum_vals, b, sizeof b);
            return vfail(v, "must be one of %s", b);
        }
    }
    int rc = 0;
    switch (json_typeof(x)) {
    case JSON_INTEGER:
    case JSON_REAL: rc = s->num_flags ? check_number(v, s, x) : 0; break;
    case JSON_STRING: rc = check_string(v, s, x); break;
    case JSON_ARRAY: rc = check_array(v, s, x); break;
    case JSON_OBJECT: rc = check_object(v, s, x); break;
    default: break;
    }
    return rc ? rc : check_combinations(v, s, x);
}

static int validate(struct vctx *v, const cf_schema *s, const json_t *x)
{
    if (v->fatal)
        return -1;
    /* Linked to the end of its chain of $refs (loops of $refs alone are refused at load). */
    if (s->kind == K_REF)
        s = s->ref;
    if (s->kind == K_TRUE)
        return 0;
    if (s->kind == K_FALSE)
        return vfail(v, "no value is allowed here");
    if (v->depth >= CF_SCHEMA_MAX_DEPTH)
        return vfatal(v, TOO_DEEP " (does a schema refer to itself?)");
    v->depth++;
    int rc = check(v, s, x);
    v->depth--;
    return rc;
}

int cf_schema_validate(const cf_schema *schema, const json_t *instance, char *err, size_t errsz)
{
    struct vctx v;
    int rc;
    if (!schema || !instance)
        return cf_errf(err, errsz, CF_EINVAL, "cf_schema_validate: no schema or no instance");
    /* The path array stays uninitialised: only entries below npath are ever read. */
    v.err = v.top_err = err;
    v.errsz = v.top_errsz = errsz;
    v.quiet = v.fatal = v.nomem = v.depth = 0;
    v.npath = 0;
    v.md = NULL;
    if (err && errsz)
        err[0] = '\0';
    rc = validate(&v, schema, instance);
    pcre2_match_data_free(v.md);
    if (v.nomem)
        return CF_ENOMEM;
    return rc ? CF_ESCHEMA : 0;
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* Walks `v` with its location in path[0, len); returns 1 when every number is sane. */
static int numbers_sane(const json_t *v, char *path, size_t len, size_t cap, char *err,
                        size_t errsz)
{
    const char *why = NULL;

    switch (json_typeof(v)) {
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i > (json_int_t)CF_JSON_NUMBER_MAX || i < -(json_int_t)CF_JSON_NUMBER_MAX)
            why = "the number's magnitude exceeds 1e15";
        break;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            why = "the number is not finite";
        else if (d > CF_JSON_NUMBER_MAX || d < -CF_JSON_NUMBER_MAX)
            why = "the number's magnitude exceeds 1e15";
        break;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *m;
        json_object_foreach ((json_t *)v, key, m) {
            size_t l = pointer_append(path, len, cap, key);
            if (!numbers_sane(m, path, l, cap, err, errsz))
                return 0;
        }
        path[len] = '\0';
        return 1;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *m;
        json_array_foreach (v, i, m) {
            char index[24];
            snprintf(index, sizeof index, "%zu", i);
            if (!numbers_sane(m, path, pointer_append(path, len, cap, index), cap, err, errsz))
                return 0;
        }
        path[len] = '\0';
        return 1;
    }
    default: return 1;
    }
    if (!why)
        return 1;
    cf_errf(err, errsz, CF_ERANGE, "%s: %s", len ? path : "(root)", why);
    return 0;
}

int cf_json_numbers_sane(const json_t *v, char *err, size_t errsz)
{
    char path[1024] = "";
    if (err && errsz)
        err[0] = '\0';
    return v ? numbers_sane(v, path, 0, sizeof path, err, errsz) : 1;
}
