/*
 * The expression language of guards and computed values (see expr.h for the language): a
 * Pratt parser from text to a tree of nodes held in one array (expr_tree.h); the tree-walking
 * evaluator over jansson values is expr_eval.c.  A parsed expression is never changed again,
 * which is what makes evaluating it from many threads at once safe.
 */
#include "core/expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/expr_tree.h"

/* ---- Tokens and functions ---------------------------------------------------------------- */

const char *const expr_tok_text[] = {
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

const struct func expr_funcs[] = {
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
#define NFUNCS (sizeof expr_funcs / sizeof expr_funcs[0])

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
    return expr_tok_text[p->tok.type];
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
    const struct func *f = &expr_funcs[fn];
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
    while (fn < NFUNCS && !(strlen(expr_funcs[fn].name) == len &&
                            memcmp(expr_funcs[fn].name, p->text + start, len) == 0))
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
    e->calls[call] = (struct call){.name = expr_funcs[fn].name, .arg = NULL};
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
