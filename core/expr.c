/*
 * The expression language of guards and computed values (see expr.h for the language): a
 * Pratt parser from text to a tree of nodes held in one array, and a tree-walking evaluator
 * over jansson values.  A parsed expression is never changed again, which is what makes
 * evaluating it from many threads at once safe.
 */
#include "core/expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- The tree ---------------------------------------------------------------------------- */

enum tok {
    T_EOF,
    T_NUM,
    T_STR,
    T_NAME,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_IN,
    T_NOTIN,
    T_AND,
    T_OR,
    T_NOT,
    T_TRUE,
    T_FALSE,
    T_NULL
};

static const char *const tok_text[] = {
    [T_EOF] = "the end of the expression",
    [T_NUM] = "a number",
    [T_STR] = "a string",
    [T_NAME] = "a name",
    [T_LPAREN] = "'('",
    [T_RPAREN] = "')'",
    [T_LBRACK] = "'['",
    [T_RBRACK] = "']'",
    [T_COMMA] = "','",
    [T_PLUS] = "'+'",
    [T_MINUS] = "'-'",
    [T_STAR] = "'*'",
    [T_SLASH] = "'/'",
    [T_EQ] = "'=='",
    [T_NE] = "'!='",
    [T_LT] = "'<'",
    [T_LE] = "'<='",
    [T_GT] = "'>'",
    [T_GE] = "'>='",
    [T_IN] = "'in'",
    [T_NOTIN] = "'not in'",
    [T_AND] = "'and'",
    [T_OR] = "'or'",
    [T_NOT] = "'not'",
    [T_TRUE] = "'true'",
    [T_FALSE] = "'false'",
    [T_NULL] = "'null'",
};

enum kind {
    N_LIT,  /* a constant: lit */
    N_PATH, /* a read of root: paths.v[idx] */
    N_ACT,  /* an activity name given to done() and friends: acts.v[idx] */
    N_LIST, /* [kids...] */
    N_NEG,  /* -kid */
    N_NOT,  /* not kid */
    N_AND,  /* kid and kid and ... (chains are one node, so they do not deepen the tree) */
    N_OR,   /* kid or kid or ... */
    N_BIN,  /* kid op kid, op a comparison or arithmetic token */
    N_CALL, /* fn(kids...) */
};

enum fn {
    F_DONE,
    F_FAILED,
    F_OPEN,
    F_ALL_DONE,
    F_ANY_DONE,
    F_EXISTS,
    F_LEN,
    F_LOWER,
    F_STARTS,
    F_COALESCE,
    F_CHOOSE
};

static const struct func {
    const char *name;
    int min, max;   /* argument counts; max -1 is unbounded */
    int activities; /* the arguments are activity names, not expressions */
} funcs[] = {
    [F_DONE] = {"done", 1, 1, 1},
    [F_FAILED] = {"failed", 1, 1, 1},
    [F_OPEN] = {"open", 1, 1, 1},
    [F_ALL_DONE] = {"all_done", 1, -1, 1},
    [F_ANY_DONE] = {"any_done", 1, -1, 1},
    [F_EXISTS] = {"exists", 1, 1, 0},
    [F_LEN] = {"len", 1, 1, 0},
    [F_LOWER] = {"lower", 1, 1, 0},
    [F_STARTS] = {"starts_with", 2, 2, 0},
    [F_COALESCE] = {"coalesce", 2, -1, 0},
    [F_CHOOSE] = {"choose", 3, 3, 0},
};
#define NFUNCS (sizeof funcs / sizeof funcs[0])

/* Children are a linked list through the node array: kid is the first, last the last (so that
 * appending to an and/or chain is constant time), next the following sibling; -1 is none. */
struct node {
    unsigned char kind;
    unsigned char op; /* N_BIN: enum tok; N_CALL: enum fn */
    int col;          /* where it was written, for runtime messages */
    int kid, last, next;
    int height; /* 1 for a leaf; bounded by CF_EXPR_MAX_DEPTH, which bounds evaluation */
    json_t *lit;
    size_t idx;
};

/* A set of strings in order of first appearance. */
struct strs {
    char **v;
    size_t n, cap;
};

struct call {
    const char *name; /* static, from funcs */
    char *arg;        /* first argument's text, or NULL */
};

struct cf_expr {
    struct node *nodes;
    size_t nnodes, capnodes;
    int root;
    struct strs paths, acts;
    struct call *calls;
    size_t ncalls, capcalls;
};

/* ---- Small helpers ----------------------------------------------------------------------- */

/* Returns v with room for `need` elements of `size` bytes (doubling), or NULL when memory runs
 * out, v then being unchanged. */
static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *nv = realloc(v, ncap * size);
    if (nv)
        *cap = ncap;
    return nv;
}

/* Adds s[0..n) to the set unless present; *idx is its position.  Returns -1 out of memory. */
static int strs_add(struct strs *set, const char *s, size_t n, size_t *idx)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strlen(set->v[i]) == n && memcmp(set->v[i], s, n) == 0) {
            *idx = i;
            return 0;
        }
    }
    char **v = grow(set->v, &set->cap, set->n + 1, sizeof *v);
    if (!v)
        return -1;
    set->v = v;
    char *copy = strndup(s, n);
    if (!copy)
        return -1;
    set->v[set->n] = copy;
    *idx = set->n++;
    return 0;
}

static void strs_free(struct strs *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i]);
    free(set->v);
}

/* Returns the length of the longest valid UTF-8 prefix of s[0..n) (so n when all is valid),
 * refusing overlong forms, surrogates and code points past U+10FFFF as jansson does. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

/* Decodes the code point at s, which is valid UTF-8, and sets *n to its length in bytes. */
static uint32_t utf8_decode(const unsigned char *s, size_t *n)
{
    if (s[0] < 0x80)
        return *n = 1, s[0];
    if (s[0] < 0xE0)
        return *n = 2, (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    if (s[0] < 0xF0)
        return *n = 3, (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    return *n = 4, (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                       (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80)
        return out[0] = (char)cp, 1;
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Staff type expressions with a Chinese input method, which puts full-width punctuation and
 * curly quotes in easily; name the ASCII character meant instead of just "unexpected".
 * Returns the ASCII character for cp, or 0.
 */
static char fullwidth_ascii(uint32_t cp)
{
    static const struct {
        uint32_t cp;
        char ascii;
    } extra[] = {
        {0x3000, ' '}, {0x201C, '"'}, {0x201D, '"'}, {0x2018, '\''}, {0x2019, '\''}, {0x300C, '"'},
        {0x300D, '"'}, {0x3001, ','}, {0x3002, '.'}, {0x3010, '['},  {0x3011, ']'},
    };
    if (cp >= 0xFF01 && cp <= 0xFF5E) /* the full-width forms of ASCII '!' to '~' */
        return (char)(cp - 0xFEE0);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i].cp == cp)
            return extra[i].ascii;
    return 0;
}

static int is_name_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(int c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* ---- Lexer ------------------------------------------------------------------------------- */

struct token {
    enum tok type;
    size_t start, len; /* bytes of the text */
    int col;
    int nseg;    /* T_NAME: dot-separated segments */
    json_t *val; /* T_NUM, T_STR: owned here until a node takes it */
};

struct parser {
    const char *text;
    size_t len;
    size_t pos; /* the lexer's cursor ... */
    int col;    /* ... and its column in characters */
    struct token tok;
    char *buf; /* len + 1 bytes: decoded strings are never longer than their source */
    cf_expr *e;
    int depth;
    int failed, errcol;
    char *err;
    size_t errsz;
};

static int perr(struct parser *p, int col, const char *fmt, ...) CF_PRINTF(3, 4);

/* Records the first error (later ones are consequences) and returns -1. */
static int perr(struct parser *p, int col, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    p->errcol = col;
    if (p->err && p->errsz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int nomem(struct parser *p)
{
    perr(p, 0, "out of memory");
    return -1;
}

static int at(const struct parser *p, size_t off)
{
    return p->pos + off < p->len ? (unsigned char)p->text[p->pos + off] : 0;
}

/* Moves the cursor n bytes on, counting characters by their first bytes. */
static void adv(struct parser *p, size_t n)
{
    for (; n > 0 && p->pos < p->len; n--, p->pos++)
        if (((unsigned char)p->text[p->pos] & 0xC0) != 0x80)
            p->col++;
}

static int lex_unexpected(struct parser *p)
{
    size_t n;
    uint32_t cp = utf8_decode((const unsigned char *)p->text + p->pos, &n);
    char ascii = fullwidth_ascii(cp);
    if (ascii == ' ')
        return perr(p, p->col, "full-width space: write an ASCII space");
    if (ascii)
        return perr(p, p->col, "full-width '%.*s': write the ASCII '%c'", (int)n, p->text + p->pos,
                    ascii);
    if (cp >= 0x80)
        return perr(p, p->col, "unexpected '%.*s': text must be in quotes", (int)n,
                    p->text + p->pos);
    if (cp < 0x20 || cp == 0x7F)
        return perr(p, p->col, "unexpected control character U+%04X", (unsigned)cp);
    return perr(p, p->col, "unexpected '%c'", (char)cp);
}

static int hex4(const struct parser *p, size_t off, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        int c = at(p, off + i);
        int d = is_digit(c)                              ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                         : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Lexes a quoted string at the cursor into tok.val. */
static int lex_string(struct parser *p)
{
    int quote = at(p, 0), open_col = p->col;
    size_t n = 0;
    adv(p, 1);
    for (;;) {
        int c = at(p, 0);
        if (p->pos >= p->len)
            return perr(p, open_col, "string is not closed: %c missing", quote);
        if (c == quote) {
            adv(p, 1);
            break;
        }
        if (c < 0x20)
            return perr(p, p->col, "control character in a string: write \\n or \\t");
        if (c != '\\') {
            p->buf[n++] = (char)c;
            adv(p, 1);
            continue;
        }
        int esc = at(p, 1), esc_col = p->col;
        uint32_t cp;
        switch (esc) {
        case '"':
        case '\'':
        case '\\':
        case '/': p->buf[n++] = (char)esc; break;
        case 'b': p->buf[n++] = '\b'; break;
        case 'f': p->buf[n++] = '\f'; break;
        case 'n': p->buf[n++] = '\n'; break;
        case 'r': p->buf[n++] = '\r'; break;
        case 't': p->buf[n++] = '\t'; break;
        case 'u':
            if (hex4(p, 2, &cp) < 0)
                return perr(p, esc_col, "\\u needs four hex digits");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return perr(p, esc_col, "\\u%04X is half of a surrogate pair", (unsigned)cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (at(p, 6) != '\\' || at(p, 7) != 'u' || hex4(p, 8, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return perr(p, esc_col,
                                "\\u%04X must be followed by a low surrogate \\uDC00-\\uDFFF",
                                (unsigned)cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                adv(p, 6);
            }
            /* NUL would cut the string short for every C consumer of call arguments. */
            if (cp == 0)
                return perr(p, esc_col, "\\u0000 is not allowed in a string");
            n += utf8_encode(cp, p->buf + n);
            adv(p, 4);
            break;
        default:
            if (esc == 0 && p->pos + 1 >= p->len)
                return perr(p, open_col, "string is not closed: %c missing", quote);
            return perr(p, esc_col, "unknown escape '\\%c': use \\\" \\' \\\\ \\n \\t or \\uXXXX",
                        esc >= 0x20 && esc < 0x7F ? (char)esc : '?');
        }
        adv(p, 2);
    }
    p->tok.val = json_stringn_nocheck(p->buf, n);
    return p->tok.val ? 0 : nomem(p);
}

static int lex_number(struct parser *p)
{
    size_t start = p->pos;
    int col = p->col;
    if (at(p, 0) == '0' && is_digit(at(p, 1)))
        return perr(p, col,
                    "a number cannot start with 0 (write a code such as \"0381\" in quotes)");
    while (is_digit(at(p, 0)))
        adv(p, 1);
    if (at(p, 0) == '.') {
        if (!is_digit(at(p, 1)))
            return perr(p, col, "malformed number: digits must follow '.'");
        adv(p, 1);
        while (is_digit(at(p, 0)))
            adv(p, 1);
    }
    if (is_name_char(at(p, 0)) || at(p, 0) == '.')
        return perr(p, col, "malformed number");
    /* jansson converts exactly and independently of the locale's decimal point. */
    json_error_t jerr;
    p->tok.val = json_loadb(p->text + start, p->pos - start, JSON_DECODE_ANY, &jerr);
    if (!p->tok.val)
        return perr(p, col, "number out of range (integers are at most 9223372036854775807)");
    return 0;
}

static int lex_name(struct parser *p)
{
    static const struct {
        const char *word;
        enum tok type;
    } keywords[] = {
        {"and", T_AND},   {"or", T_OR},       {"not", T_NOT},   {"in", T_IN},
        {"true", T_TRUE}, {"false", T_FALSE}, {"null", T_NULL},
    };
    size_t n = 0;
    while (is_name_char(at(p, n)))
        n++;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].word) != n)
            continue;
        if (memcmp(keywords[i].word, p->text + p->pos, n) == 0) {
            p->tok.type = keywords[i].type;
            adv(p, n);
            /* `x not in y` reads better to staff than `not (x in y)`: one token, so the parser
             * needs no second token of lookahead. */
            size_t k = 0;
            while (at(p, k) == ' ' || at(p, k) == '\t' || at(p, k) == '\n' || at(p, k) == '\r')
                k++;
            if (p->tok.type == T_NOT && k > 0 && at(p, k) == 'i' && at(p, k + 1) == 'n' &&
                !is_name_char(at(p, k + 2))) {
                p->tok.type = T_NOTIN;
                adv(p, k + 2);
            }
            return 0;
        }
        if (strncasecmp(keywords[i].word, p->text + p->pos, n) == 0)
            return perr(p, p->col, "write '%s' in lower case", keywords[i].word);
    }
    p->tok.type = T_NAME;
    p->tok.nseg = 1;
    adv(p, n);
    while (at(p, 0) == '.') {
        adv(p, 1);
        if (!is_name_char(at(p, 0)))
            return perr(p, p->col, "a name or index must follow '.' (no spaces in a path)");
        while (is_name_char(at(p, 0)))
            adv(p, 1);
        p->tok.nseg++;
    }
    return 0;
}

/* Reads the next token into p->tok, dropping a value the parser did not take. */
static int lex(struct parser *p)
{
    json_decref(p->tok.val);
    p->tok.val = NULL;
    while (at(p, 0) == ' ' || at(p, 0) == '\t' || at(p, 0) == '\n' || at(p, 0) == '\r')
        adv(p, 1);
    p->tok.start = p->pos;
    p->tok.col = p->col;
    int c = at(p, 0), c1 = at(p, 1), rc = 0;
    if (p->pos >= p->len) {
        p->tok.type = T_EOF;
    } else if (c == '"' || c == '\'') {
        p->tok.type = T_STR;
        rc = lex_string(p);
    } else if (is_digit(c)) {
        p->tok.type = T_NUM;
        rc = lex_number(p);
    } else if (is_name_start(c)) {
        rc = lex_name(p);
    } else {
        static const char singles[] = "()[],+-*/<>";
        static const enum tok single_tok[] = {T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK,
                                              T_COMMA,  T_PLUS,   T_MINUS,  T_STAR,
                                              T_SLASH,  T_LT,     T_GT};
        const char *s = c ? strchr(singles, c) : NULL;
        if (c == '=' && c1 == '=')
            p->tok.type = T_EQ, adv(p, 2);
        else if (c == '!' && c1 == '=')
            p->tok.type = T_NE, adv(p, 2);
        else if (c == '<' && c1 == '=')
            p->tok.type = T_LE, adv(p, 2);
        else if (c == '>' && c1 == '=')
            p->tok.type = T_GE, adv(p, 2);
        else if (s)
            p->tok.type = single_tok[s - singles], adv(p, 1);
        else if (c == '=')
            rc = perr(p, p->col, "use '==' to compare ('=' alone is not an operator)");
        else if (c == '!')
            rc = perr(p, p->col, "use 'not' to negate");
        else if (c == '&')
            rc = perr(p, p->col, "use 'and'");
        else if (c == '|')
            rc = perr(p, p->col, "use 'or'");
        else
            rc = lex_unexpected(p);
    }
    p->tok.len = p->pos - p->tok.start;
    return rc;
}

/* ---- Parser ------------------------------------------------------------------------------ */

/* Binding powers: the higher binds tighter.  `not` sits between `and` and the comparisons. */
enum { BP_OR = 1, BP_AND = 2, BP_NOT = 3, BP_CMP = 4, BP_SUM = 5, BP_PRODUCT = 6, BP_NEG = 7 };

static int infix_bp(enum tok t)
{
    switch (t) {
    case T_OR: return BP_OR;
    case T_AND: return BP_AND;
    case T_EQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
    case T_IN:
    case T_NOTIN: return BP_CMP;
    case T_PLUS:
    case T_MINUS: return BP_SUM;
    case T_STAR:
    case T_SLASH: return BP_PRODUCT;
    default: return 0;
    }
}

/* Describes the current token for a message, e.g. "name 'case.x'" or "')'". */
static const char *describe(const struct parser *p, char *buf, size_t n)
{
    if (p->tok.type == T_NAME) {
        snprintf(buf, n, "name '%.*s'", (int)(p->tok.len > 40 ? 40 : p->tok.len),
                 p->text + p->tok.start);
        return buf;
    }
    return tok_text[p->tok.type];
}

static int new_node(struct parser *p, enum kind kind, int col)
{
    cf_expr *e = p->e;
    struct node *nodes = grow(e->nodes, &e->capnodes, e->nnodes + 1, sizeof *nodes);
    if (!nodes)
        return nomem(p);
    e->nodes = nodes;
    e->nodes[e->nnodes] = (struct node){
        .kind = (unsigned char)kind, .col = col, .kid = -1, .last = -1, .next = -1, .height = 1};
    return (int)e->nnodes++;
}

/* Appends child c to node n; fails when that makes the tree deeper than the evaluator may go. */
static int add_kid(struct parser *p, int n, int c)
{
    struct node *nodes = p->e->nodes;
    if (nodes[n].last < 0)
        nodes[n].kid = c;
    else
        nodes[nodes[n].last].next = c;
    nodes[n].last = c;
    if (nodes[c].height + 1 > nodes[n].height)
        nodes[n].height = nodes[c].height + 1;
    if (nodes[n].height > CF_EXPR_MAX_DEPTH)
        return perr(p, nodes[n].col, "expression nested too deeply (more than %d levels)",
                    CF_EXPR_MAX_DEPTH);
    return 0;
}

static int expect(struct parser *p, enum tok t, const char *what)
{
    char buf[64];
    if (p->tok.type != t)
        return perr(p, p->tok.col, "expected %s, found %s", what, describe(p, buf, sizeof buf));
    return lex(p);
}

static int parse_expr(struct parser *p, int minbp);

/* The arguments of a call, the cursor just past '('. */
static int parse_args(struct parser *p, int n, enum fn fn, size_t call)
{
    const struct func *f = &funcs[fn];
    cf_expr *e = p->e;
    int nargs = 0;
    char buf[64];
    while (p->tok.type != T_RPAREN) {
        if (nargs > 0 && expect(p, T_COMMA, "',' or ')'") < 0)
            return -1;
        if (f->max >= 0 && nargs == f->max)
            return perr(p, p->tok.col, "%s() takes %d argument%s", f->name, f->max,
                        f->max == 1 ? "" : "s");
        int a;
        if (f->activities) {
            if (p->tok.type == T_STR)
                return perr(p, p->tok.col, "write the activity name without quotes: %s(notices)",
                            f->name);
            if (p->tok.type != T_NAME || p->tok.nseg != 1)
                return perr(p, p->tok.col,
                            "%s() takes activity names such as %s(notices), found %s", f->name,
                            f->name, describe(p, buf, sizeof buf));
            size_t idx;
            if ((a = new_node(p, N_ACT, p->tok.col)) < 0)
                return -1;
            if (strs_add(&e->acts, p->text + p->tok.start, p->tok.len, &idx) < 0)
                return nomem(p);
            e->nodes[a].idx = idx;
            if (lex(p) < 0)
                return -1;
        } else if ((a = parse_expr(p, 0)) < 0) {
            return -1;
        }
        if (nargs == 0) {
            /* The checker wants the first argument's text when it is a name or a string. */
            const struct node *an = &e->nodes[a];
            const char *text =
                an->kind == N_ACT                                         ? e->acts.v[an->idx]
                : an->kind == N_PATH && !strchr(e->paths.v[an->idx], '.') ? e->paths.v[an->idx]
                : an->kind == N_LIT && json_is_string(an->lit) ? json_string_value(an->lit)
                                                               : NULL;
            if (text && !(e->calls[call].arg = strdup(text)))
                return nomem(p);
        }
        if (add_kid(p, n, a) < 0)
            return -1;
        nargs++;
    }
    if (nargs < f->min)
        return perr(p, p->tok.col, "%s() takes %s%d argument%s", f->name,
                    f->max == f->min ? "" : "at least ", f->min, f->min == 1 ? "" : "s");
    return lex(p);
}

/* A name at the cursor: a path, or a call when '(' follows. */
static int parse_name(struct parser *p)
{
    cf_expr *e = p->e;
    size_t start = p->tok.start, len = p->tok.len;
    int col = p->tok.col, n;
    if (lex(p) < 0)
        return -1;
    if (p->tok.type != T_LPAREN) {
        size_t idx;
        if ((n = new_node(p, N_PATH, col)) < 0)
            return -1;
        if (strs_add(&e->paths, p->text + start, len, &idx) < 0)
            return nomem(p);
        e->nodes[n].idx = idx;
        return n;
    }
    size_t fn = 0;
    while (fn < NFUNCS &&
           !(strlen(funcs[fn].name) == len && memcmp(funcs[fn].name, p->text + start, len) == 0))
        fn++;
    if (fn == NFUNCS)
        return perr(p, col,
                    "unknown function '%.*s' (known: done, failed, open, all_done, any_done, "
                    "exists, len, lower, starts_with, coalesce, choose)",
                    (int)(len > 40 ? 40 : len), p->text + start);
    if ((n = new_node(p, N_CALL, col)) < 0)
        return -1;
    e->nodes[n].op = (unsigned char)fn;
    struct call *calls = grow(e->calls, &e->capcalls, e->ncalls + 1, sizeof *calls);
    if (!calls)
        return nomem(p);
    e->calls = calls;
    size_t call = e->ncalls++;
    e->calls[call] = (struct call){.name = funcs[fn].name, .arg = NULL};
    if (lex(p) < 0 || parse_args(p, n, (enum fn)fn, call) < 0)
        return -1;
    return n;
}

static int parse_prefix(struct parser *p, int minbp)
{
    cf_expr *e = p->e;
    int col = p->tok.col, n, a;
    char buf[64];
    switch (p->tok.type) {
    case T_NUM:
    case T_STR:
    case T_TRUE:
    case T_FALSE:
    case T_NULL:
        if ((n = new_node(p, N_LIT, col)) < 0)
            return -1;
        e->nodes[n].lit = p->tok.type == T_TRUE    ? json_true()
                          : p->tok.type == T_FALSE ? json_false()
                          : p->tok.type == T_NULL  ? json_null()
                                                   : p->tok.val;
        p->tok.val = NULL;
        return lex(p) < 0 ? -1 : n;
    case T_NAME: return parse_name(p);
    case T_LPAREN:
        if (lex(p) < 0 || (n = parse_expr(p, 0)) < 0)
            return -1;
        if (p->tok.type != T_RPAREN)
            return perr(p, p->tok.col, "expected ')' to close the '(' at column %d, found %s", col,
                        describe(p, buf, sizeof buf));
        return lex(p) < 0 ? -1 : n;
    case T_LBRACK:
        if ((n = new_node(p, N_LIST, col)) < 0 || lex(p) < 0)
            return -1;
        while (p->tok.type != T_RBRACK) {
            if (e->nodes[n].kid >= 0 && expect(p, T_COMMA, "',' or ']'") < 0)
                return -1;
            if ((a = parse_expr(p, 0)) < 0 || add_kid(p, n, a) < 0)
                return -1;
        }
        return lex(p) < 0 ? -1 : n;
    case T_MINUS:
        if (lex(p) < 0 || (a = parse_expr(p, BP_NEG)) < 0)
            return -1;
        /* A negative literal is a constant, not an operation (the lexer never makes one, and
         * cannot make INT64_MIN, so negating a literal integer cannot overflow). */
        if (e->nodes[a].kind == N_LIT && json_is_number(e->nodes[a].lit)) {
            json_t *lit = e->nodes[a].lit;
            if (json_is_integer(lit))
                json_integer_set(lit, -json_integer_value(lit));
            else
                json_real_set(lit, -json_real_value(lit));
            return a;
        }
        if ((n = new_node(p, N_NEG, col)) < 0 || add_kid(p, n, a) < 0)
            return -1;
        return n;
    case T_NOT:
        if (minbp > BP_NOT)
            return perr(p, col, "put 'not ...' in parentheses here");
        if (lex(p) < 0 || (a = parse_expr(p, BP_NOT)) < 0)
            return -1;
        if ((n = new_node(p, N_NOT, col)) < 0 || add_kid(p, n, a) < 0)
            return -1;
        return n;
    case T_EOF: return perr(p, col, "the expression ends where a value is expected");
    default: return perr(p, col, "expected a value, found %s", describe(p, buf, sizeof buf));
    }
}

/* Parses operators binding tighter than minbp (Pratt): the loop builds left-associative
 * chains, the recursion handles tighter operators on the right. */
static int parse_expr(struct parser *p, int minbp)
{
    int lhs = -1, compared = 0;
    if (++p->depth > CF_EXPR_MAX_DEPTH) {
        perr(p, p->tok.col, "expression nested too deeply (more than %d levels)",
             CF_EXPR_MAX_DEPTH);
        goto out;
    }
    if ((lhs = parse_prefix(p, minbp)) < 0)
        goto out;
    for (;;) {
        enum tok op = p->tok.type;
        int bp = infix_bp(op), col = p->tok.col, rhs, n;
        if (bp == 0 || bp <= minbp)
            break;
        if (bp == BP_CMP && compared) {
            lhs = perr(p, col, "comparisons do not chain: join them with 'and'");
            goto out;
        }
        if (lex(p) < 0 || (rhs = parse_expr(p, bp)) < 0) {
            lhs = -1;
            goto out;
        }
        enum kind kind = op == T_OR ? N_OR : op == T_AND ? N_AND : N_BIN;
        if (kind != N_BIN && p->e->nodes[lhs].kind == kind) {
            n = lhs; /* extend the chain */
        } else if ((n = new_node(p, kind, col)) < 0 || add_kid(p, n, lhs) < 0) {
            lhs = -1;
            goto out;
        }
        p->e->nodes[n].op = (unsigned char)op;
        if (add_kid(p, n, rhs) < 0) {
            lhs = -1;
            goto out;
        }
        lhs = n;
        compared = bp == BP_CMP;
    }
out:
    p->depth--;
    return lhs;
}

cf_expr *cf_expr_parse(const char *text, char *err, size_t errsz, int *errcol)
{
    struct parser p = {.text = text ? text : "", .col = 1, .err = err, .errsz = errsz};
    char buf[64];
    if (errcol)
        *errcol = 0;
    p.e = calloc(1, sizeof *p.e);
    if (!p.e) {
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    p.len = strlen(p.text);
    if (p.len > CF_EXPR_MAX_LEN) {
        perr(&p, 1, "expression longer than %d bytes", CF_EXPR_MAX_LEN);
        goto out;
    }
    size_t valid = utf8_valid_prefix((const unsigned char *)p.text, p.len);
    if (valid < p.len) {
        adv(&p, valid);
        perr(&p, p.col, "invalid UTF-8");
        goto out;
    }
    if (!(p.buf = malloc(p.len + 1))) {
        nomem(&p);
        goto out;
    }
    if (lex(&p) < 0)
        goto out;
    if (p.tok.type == T_EOF) {
        perr(&p, 1, "empty expression");
        goto out;
    }
    if ((p.e->root = parse_expr(&p, 0)) < 0)
        goto out;
    if (p.tok.type != T_EOF)
        perr(&p, p.tok.col, "expected an operator or the end of the expression, found %s",
             describe(&p, buf, sizeof buf));
out:
    free(p.buf);
    json_decref(p.tok.val);
    if (p.failed) {
        if (errcol)
            *errcol = p.errcol;
        cf_expr_free(p.e);
        return NULL;
    }
    return p.e;
}

void cf_expr_free(cf_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nnodes; i++)
        json_decref(e->nodes[i].lit);
    free(e->nodes);
    strs_free(&e->paths);
    strs_free(&e->acts);
    for (size_t i = 0; i < e->ncalls; i++)
        free(e->calls[i].arg);
    free(e->calls);
    free(e);
}

size_t cf_expr_path_count(const cf_expr *e)
{
    return e ? e->paths.n : 0;
}

const char *cf_expr_path(const cf_expr *e, size_t i)
{
    return e && i < e->paths.n ? e->paths.v[i] : NULL;
}

size_t cf_expr_call_count(const cf_expr *e)
{
    return e ? e->ncalls : 0;
}

const char *cf_expr_call_name(const cf_expr *e, size_t i)
{
    return e && i < e->ncalls ? e->calls[i].name : NULL;
}

const char *cf_expr_call_arg(const cf_expr *e, size_t i)
{
    return e && i < e->ncalls ? e->calls[i].arg : NULL;
}

size_t cf_expr_activity_count(const cf_expr *e)
{
    return e ? e->acts.n : 0;
}

const char *cf_expr_activity(const cf_expr *e, size_t i)
{
    return e && i < e->acts.n ? e->acts.v[i] : NULL;
}

/* ---- Values ------------------------------------------------------------------------------ */

/* Type names as staff know them: a JSON array is a list. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

static int truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return json_object_size(v) > 0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_TRUE: return 1;
    case JSON_FALSE:
    case JSON_NULL: return 0;
    }
    return 0;
}

/* Compares an integer with a double exactly; converting the integer to a double would round
 * above 2^53 and call different amounts equal.  jansson never holds NaN or infinities. */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0) /* 2^63: above every integer */
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    json_int_t t = (json_int_t)d; /* in range now; truncates toward zero */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = d - (double)t; /* exact: t is d without its fraction */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int cmp_numbers(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_integer(a))
        return cmp_int_real(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b))
        return -cmp_int_real(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return (x > y) - (x < y);
}

static int cmp_strings(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return c != 0 ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
}

/* Returns 1 when equal, 0 when not, -1 when the values nest deeper than we compare (case data
 * is parsed by jansson, which allows 2048 levels; the stack should not depend on that). */
static int equal(const json_t *a, const json_t *b, int depth)
{
    if (depth > 256)
        return -1;
    if (json_is_number(a) && json_is_number(b))
        return cmp_numbers(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_string(a))
        return cmp_strings(a, b) == 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            int r = equal(json_array_get(a, i), json_array_get(b, i), depth + 1);
            if (r != 1)
                return r;
        }
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            const json_t *vb =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            int r = vb ? equal(json_object_iter_value(it), vb, depth + 1) : 0;
            if (r != 1)
                return r;
        }
        return 1;
    }
    return 1; /* true, false, null */
}

/* Follows a dotted path from root; NULL when any step is missing. */
static const json_t *lookup(const json_t *root, const char *path)
{
    const json_t *cur = root;
    for (const char *s = path;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, s, n);
        } else if (json_is_array(cur)) {
            /* Only a canonical index ("0", "12", never "012") indexes a list. */
            size_t i = 0, k = 0;
            for (; k < n && is_digit(s[k]) && i <= SIZE_MAX / 10 - 1; k++)
                i = i * 10 + (size_t)(s[k] - '0');
            int canonical = k == n && n > 0 && !(n > 1 && s[0] == '0');
            cur = canonical ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
        if (!cur || !dot)
            return cur;
        s = dot + 1;
    }
}

/* ---- Evaluator --------------------------------------------------------------------------- */

struct ev {
    const cf_expr *e;
    const json_t *root;
    char *err;
    size_t errsz;
};

static int fail(const struct ev *v, int rc, int col, const char *fmt, ...) CF_PRINTF(4, 5);

/* Writes "column N: message" and returns rc. */
static int fail(const struct ev *v, int rc, int col, const char *fmt, ...)
{
    if (v->err && v->errsz > 0) {
        int n = snprintf(v->err, v->errsz, "column %d: ", col);
        if (n >= 0 && (size_t)n < v->errsz) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(v->err + n, v->errsz - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* Hands a value built here to *out, or reports that building it ran out of memory. */
static int give(const struct ev *v, int col, json_t *val, json_t **out)
{
    *out = val;
    return val ? 0 : fail(v, CF_ENOMEM, col, "out of memory");
}

static int eval(const struct ev *v, int n, int depth, json_t **out);

static int arith(const struct ev *v, const struct node *nd, const json_t *a, const json_t *b,
                 json_t **out)
{
    enum tok op = (enum tok)nd->op;
    if (op == T_PLUS && json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        char *s = malloc(la + lb + 1);
        if (!s)
            return fail(v, CF_ENOMEM, nd->col, "out of memory");
        memcpy(s, json_string_value(a), la);
        memcpy(s + la, json_string_value(b), lb);
        int rc = give(v, nd->col, json_stringn_nocheck(s, la + lb), out);
        free(s);
        return rc;
    }
    if (op == T_PLUS && json_is_array(a) && json_is_array(b)) {
        json_t *list = json_array();
        if (list && (json_array_extend(list, (json_t *)a) < 0 ||
                     json_array_extend(list, (json_t *)b) < 0)) {
            json_decref(list);
            list = NULL;
        }
        return give(v, nd->col, list, out);
    }
    if (!json_is_number(a) || !json_is_number(b))
        return fail(v, CF_EINVAL, nd->col, "%s needs two numbers%s, got %s and %s", tok_text[op],
                    op == T_PLUS ? ", two strings or two lists" : "", type_name(a), type_name(b));
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b), r;
        int over = 0;
        switch (op) {
        case T_PLUS: over = __builtin_add_overflow(x, y, &r); break;
        case T_MINUS: over = __builtin_sub_overflow(x, y, &r); break;
        case T_STAR: over = __builtin_mul_overflow(x, y, &r); break;
        default:
            if (y == 0)
                return fail(v, CF_EINVAL, nd->col, "division by zero");
            if (x == INT64_MIN && y == -1)
                over = 1, r = 0;
            else if (x % y == 0)
                r = x / y;
            else
                return give(v, nd->col, json_real((double)x / (double)y), out);
        }
        if (over)
            return fail(v, CF_EINVAL, nd->col, "integer overflow in %s", tok_text[op]);
        return give(v, nd->col, json_integer(r), out);
    }
    double x = json_number_value(a), y = json_number_value(b), r;
    switch (op) {
    case T_PLUS: r = x + y; break;
    case T_MINUS: r = x - y; break;
    case T_STAR: r = x * y; break;
    default:
        if (y == 0.0)
            return fail(v, CF_EINVAL, nd->col, "division by zero");
        r = x / y;
    }
    if (!isfinite(r))
        return fail(v, CF_EINVAL, nd->col, "number out of range in %s", tok_text[op]);
    return give(v, nd->col, json_real(r), out);
}

static int member(const struct ev *v, const struct node *nd, const json_t *x, const json_t *y,
                  json_t **out)
{
    if (json_is_array(y)) {
        for (size_t i = 0; i < json_array_size(y); i++) {
            int r = equal(x, json_array_get(y, i), 0);
            if (r < 0)
                return fail(v, CF_EINVAL, nd->col, "values nest too deeply to compare");
            if (r)
                return give(v, nd->col, json_true(), out);
        }
        return give(v, nd->col, json_false(), out);
    }
    if (json_is_string(y) && !json_is_string(x))
        return fail(v, CF_EINVAL, nd->col, "'in' a string needs a string on the left, got %s",
                    type_name(x));
    if (json_is_object(y) && !json_is_string(x))
        return fail(v, CF_EINVAL, nd->col,
                    "'in' an object needs a member name (a string) on the left, got %s",
                    type_name(x));
    if (json_is_object(y))
        return give(v, nd->col,
                    json_boolean(json_object_getn(y, json_string_value(x), json_string_length(x))),
                    out);
    if (!json_is_string(y))
        return fail(v, CF_EINVAL, nd->col,
                    "'in' needs a list, string or object on the right, got %s", type_name(y));
    size_t lx = json_string_length(x), ly = json_string_length(y);
    const char *sx = json_string_value(x), *sy = json_string_value(y);
    int found = lx == 0;
    for (size_t i = 0; !found && lx <= ly && i <= ly - lx; i++)
        found = memcmp(sy + i, sx, lx) == 0;
    return give(v, nd->col, json_boolean(found), out);
}

static int binary(const struct ev *v, const struct node *nd, const json_t *a, const json_t *b,
                  json_t **out)
{
    enum tok op = (enum tok)nd->op;
    int c, r;
    switch (op) {
    case T_EQ:
    case T_NE:
        if ((r = equal(a, b, 0)) < 0)
            return fail(v, CF_EINVAL, nd->col, "values nest too deeply to compare");
        return give(v, nd->col, json_boolean(op == T_EQ ? r : !r), out);
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
        if (json_is_number(a) && json_is_number(b))
            c = cmp_numbers(a, b);
        else if (json_is_string(a) && json_is_string(b))
            c = cmp_strings(a, b);
        else
            return fail(v, CF_EINVAL, nd->col, "%s needs two numbers or two strings, got %s and %s",
                        tok_text[op], type_name(a), type_name(b));
        r = op == T_LT ? c < 0 : op == T_LE ? c <= 0 : op == T_GT ? c > 0 : c >= 0;
        return give(v, nd->col, json_boolean(r), out);
    case T_IN: return member(v, nd, a, b, out);
    case T_NOTIN:
        if ((r = member(v, nd, a, b, out)) == 0) {
            int found = json_is_true(*out);
            json_decref(*out);
            *out = json_boolean(!found);
        }
        return r;
    default: return arith(v, nd, a, b, out);
    }
}

static const char *activity_status(const struct ev *v, const char *name)
{
    const json_t *act = json_object_get(json_object_get(v->root, "activities"), name);
    return json_string_value(json_object_get(act, "status"));
}

/* Evaluates argument `kid` of the call `nd` and checks that it is a string. */
static int string_arg(const struct ev *v, const struct node *nd, int kid, int depth, json_t **out)
{
    int rc = eval(v, kid, depth, out);
    if (rc == 0 && !json_is_string(*out)) {
        rc = fail(v, CF_EINVAL, nd->col, "%s() needs a string, got %s", funcs[nd->op].name,
                  type_name(*out));
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int eval_call(const struct ev *v, const struct node *nd, int depth, json_t **out)
{
    const struct node *nodes = v->e->nodes;
    json_t *a = NULL, *b = NULL;
    int rc = 0, k;
    switch ((enum fn)nd->op) {
    case F_DONE:
    case F_FAILED:
    case F_OPEN:
    case F_ALL_DONE:
    case F_ANY_DONE: {
        const char *want = nd->op == F_FAILED ? "failed" : nd->op == F_OPEN ? "open" : "done";
        int any = nd->op == F_ANY_DONE, r = !any;
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            const char *status = activity_status(v, v->e->acts.v[nodes[k].idx]);
            int match = status && strcmp(status, want) == 0;
            if (match == any) {
                r = any;
                break;
            }
        }
        rc = give(v, nd->col, json_boolean(r), out);
        break;
    }
    case F_EXISTS:
        if ((rc = eval(v, nd->kid, depth, &a)) == 0)
            rc = give(v, nd->col, json_boolean(!json_is_null(a)), out);
        break;
    case F_LEN:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        if (json_is_string(a)) {
            /* Characters, not bytes: a party's name 张三 has length 2. */
            size_t chars = 0, len = json_string_length(a);
            const char *s = json_string_value(a);
            for (size_t i = 0; i < len; i++)
                chars += ((unsigned char)s[i] & 0xC0) != 0x80;
            rc = give(v, nd->col, json_integer((json_int_t)chars), out);
        } else if (json_is_array(a)) {
            rc = give(v, nd->col, json_integer((json_int_t)json_array_size(a)), out);
        } else if (json_is_object(a)) {
            rc = give(v, nd->col, json_integer((json_int_t)json_object_size(a)), out);
        } else {
            rc = fail(v, CF_EINVAL, nd->col, "len() needs a string, list or object, got %s",
                      type_name(a));
        }
        break;
    case F_LOWER: {
        if ((rc = string_arg(v, nd, nd->kid, depth, &a)) < 0)
            break;
        size_t len = json_string_length(a);
        char *s = malloc(len + 1);
        if (!s) {
            rc = fail(v, CF_ENOMEM, nd->col, "out of memory");
            break;
        }
        memcpy(s, json_string_value(a), len);
        for (size_t i = 0; i < len; i++)
            if (s[i] >= 'A' && s[i] <= 'Z')
                s[i] = (char)(s[i] - 'A' + 'a');
        rc = give(v, nd->col, json_stringn_nocheck(s, len), out);
        free(s);
        break;
    }
    case F_STARTS:
        if ((rc = string_arg(v, nd, nd->kid, depth, &a)) < 0 ||
            (rc = string_arg(v, nd, nodes[nd->kid].next, depth, &b)) < 0)
            break;
        rc = give(v, nd->col,
                  json_boolean(json_string_length(b) <= json_string_length(a) &&
                               memcmp(json_string_value(a), json_string_value(b),
                                      json_string_length(b)) == 0),
                  out);
        break;
    case F_COALESCE:
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            if (!json_is_null(a)) {
                *out = a;
                return 0;
            }
            json_decref(a);
            a = NULL;
        }
        if (rc == 0)
            rc = give(v, nd->col, json_null(), out);
        break;
    case F_CHOOSE:
        /* choose(c, a, b): a when c holds, else b; the other is not evaluated. */
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        k = nodes[nd->kid].next;
        if (!truthy(a))
            k = nodes[k].next;
        json_decref(a);
        return eval(v, k, depth, out);
    default: rc = fail(v, CF_EINVAL, nd->col, "unknown function");
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

static int eval(const struct ev *v, int n, int depth, json_t **out)
{
    const struct node *nd = &v->e->nodes[n], *nodes = v->e->nodes;
    json_t *a = NULL, *b = NULL;
    int rc = 0, k;
    *out = NULL;
    /* The parser bounds the tree's height, so this only guards against a broken tree. */
    if (depth > CF_EXPR_MAX_DEPTH)
        return fail(v, CF_EINVAL, nd->col, "expression nested too deeply");
    depth++;
    switch ((enum kind)nd->kind) {
    case N_LIT: *out = json_incref(nd->lit); return 0;
    case N_PATH: {
        const json_t *found = lookup(v->root, v->e->paths.v[nd->idx]);
        *out = found ? json_incref((json_t *)found) : json_null();
        return 0;
    }
    case N_LIST: {
        json_t *list = json_array();
        if (!list)
            return fail(v, CF_ENOMEM, nd->col, "out of memory");
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            if (json_array_append_new(list, a) < 0) {
                rc = fail(v, CF_ENOMEM, nd->col, "out of memory");
                break;
            }
            a = NULL;
        }
        if (rc < 0)
            json_decref(list);
        else
            *out = list;
        return rc;
    }
    case N_NEG:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0)
            break;
        if (json_is_integer(a) && json_integer_value(a) != INT64_MIN)
            rc = give(v, nd->col, json_integer(-json_integer_value(a)), out);
        else if (json_is_integer(a))
            rc = fail(v, CF_EINVAL, nd->col, "integer overflow in '-'");
        else if (json_is_real(a))
            rc = give(v, nd->col, json_real(-json_real_value(a)), out);
        else
            rc = fail(v, CF_EINVAL, nd->col, "'-' needs a number, got %s", type_name(a));
        break;
    case N_NOT:
        if ((rc = eval(v, nd->kid, depth, &a)) == 0)
            rc = give(v, nd->col, json_boolean(!truthy(a)), out);
        break;
    case N_AND:
    case N_OR: {
        /* Stop at the first operand that decides, so later operands may rely on earlier ones
         * (`exists(x) and x > 1`) and their errors are not raised. */
        int decide = nd->kind == N_OR;
        for (k = nd->kid; k >= 0; k = nodes[k].next) {
            if ((rc = eval(v, k, depth, &a)) < 0)
                break;
            int t = truthy(a);
            json_decref(a);
            a = NULL;
            if (t == decide)
                break;
        }
        if (rc == 0)
            rc = give(v, nd->col, json_boolean(k >= 0 ? decide : !decide), out);
        break;
    }
    case N_BIN:
        if ((rc = eval(v, nd->kid, depth, &a)) < 0 ||
            (rc = eval(v, nodes[nd->kid].next, depth, &b)) < 0)
            break;
        rc = binary(v, nd, a, b, out);
        break;
    case N_CALL: rc = eval_call(v, nd, depth, out); break;
    case N_ACT: rc = fail(v, CF_EINVAL, nd->col, "an activity name is not a value"); break;
    }
    json_decref(a);
    json_decref(b);
    return rc;
}

int cf_expr_eval(const cf_expr *e, const json_t *root, json_t **result, char *err, size_t errsz)
{
    struct ev v = {.e = e, .root = root, .err = err, .errsz = errsz};
    *result = NULL;
    if (!e)
        return cf_errf(err, errsz, CF_EINVAL, "no expression");
    if (root && !json_is_object(root))
        return cf_errf(err, errsz, CF_EINVAL,
                       "the root of an evaluation must be a JSON object, "
                       "not a %s",
                       type_name(root));
    return eval(&v, e->root, 0, result);
}

int cf_expr_test(const cf_expr *e, const json_t *root, int *truth, char *err, size_t errsz)
{
    json_t *result;
    int rc = cf_expr_eval(e, root, &result, err, errsz);
    *truth = rc == 0 && truthy(result);
    json_decref(result);
    return rc;
}
