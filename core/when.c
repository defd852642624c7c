/*
 * Time expressions and schedules of workflow YAML: a small tokenizer and recursive-descent
 * parser that report the column of each problem, and the evaluation of the legal period rules
 * on a calendar of working days.  The grammar and its meaning are documented in when.h.
 */
#include "when.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Tokens --------------------------------------------------------------------------------- */

enum tok_kind { T_END, T_WORD, T_NUMBER, T_ORDINAL, T_TIME, T_COMMA };

struct token {
    enum tok_kind kind;
    const char *s; /* into the text */
    size_t len;
    int col;    /* 1-based, in characters */
    long value; /* T_NUMBER, T_ORDINAL: the number; T_TIME: the minute of the day */
};

/* The largest N of "N days after": far beyond any legal period, small enough that no
 * arithmetic on it can overflow. */
#define MAX_COUNT 100000L
/* Times of day default to 09:00, the start of office hours. */
#define DEFAULT_MINUTE (9 * 60)

struct parser {
    struct token *toks;
    size_t ntoks, pos;
    char *err;
    size_t errsz;
    int *errcol;
    /* A character the tokenizer could not read ends the tokens; its message is reported only
     * when the parser gets that far, so that the leftmost problem is the one reported. */
    char lex_msg[160];
    int lex_col;
};

/* Reports a problem at column `col`; returns CF_EPARSE. */
static int fail_col(struct parser *p, int col, const char *fmt, ...) CF_PRINTF(3, 4);

static int fail_col(struct parser *p, int col, const char *fmt, ...)
{
    if (p->err && p->errsz > 0) {
        if (p->lex_msg[0] && col == p->lex_col) {
            snprintf(p->err, p->errsz, "%s", p->lex_msg);
        } else {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err, p->errsz, fmt, ap);
            va_end(ap);
        }
    }
    if (p->errcol)
        *p->errcol = col;
    return CF_EPARSE;
}

/* Records the tokenizer's problem at column `col`. */
static void lex_fail(struct parser *p, int col, const char *fmt, ...) CF_PRINTF(3, 4);

static void lex_fail(struct parser *p, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->lex_msg, sizeof p->lex_msg, fmt, ap);
    va_end(ap);
    p->lex_col = col;
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Returns the length of the UTF-8 character at s (1 for a stray byte), so that a message can
 * quote it whole. */
static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return i;
    }
    return n;
}

/* Validates the ordinal suffix of a day number: 1st 2nd 3rd 4th ... 11th 12th 13th 21st. */
static int ordinal_ok(long n, const char *suffix, size_t len)
{
    const char *want = "th";
    if (n % 100 < 11 || n % 100 > 13) {
        if (n % 10 == 1)
            want = "st";
        else if (n % 10 == 2)
            want = "nd";
        else if (n % 10 == 3)
            want = "rd";
    }
    return len == 2 && strncasecmp(suffix, want, 2) == 0;
}

/* Reads one token at s (not at the end, not at a space) into t; returns the end of the token,
 * or NULL after recording a lexical problem. */
static const char *read_token(struct parser *p, const char *s, struct token *t)
{
    const char *start = s;
    if (is_alpha(*s)) {
        while (is_alpha(*s) || is_digit(*s) || *s == '.')
            s++;
        t->kind = T_WORD;
    } else if (is_digit(*s)) {
        long v = 0;
        while (is_digit(*s)) {
            if (v <= MAX_COUNT)
                v = v * 10 + (*s - '0');
            s++;
        }
        t->kind = T_NUMBER;
        t->value = v;
        if (*s == ':') {
            /* A time of day: H:MM or HH:MM. */
            if (s - start > 2 || !is_digit(s[1]) || !is_digit(s[2]) || is_digit(s[3]) || v > 23 ||
                (s[1] - '0') * 10 + (s[2] - '0') > 59) {
                while (is_digit(*s) || *s == ':')
                    s++;
                lex_fail(p, t->col, "'%.*s' is not a time of day (HH:MM, 00:00 to 23:59)",
                         (int)(s - start), start);
                return NULL;
            }
            t->kind = T_TIME;
            t->value = v * 60 + (s[1] - '0') * 10 + (s[2] - '0');
            s += 3;
        } else if (is_alpha(*s)) {
            const char *suffix = s;
            while (is_alpha(*s) || is_digit(*s))
                s++;
            if (!ordinal_ok(v, suffix, (size_t)(s - suffix))) {
                lex_fail(p, t->col,
                         "'%.*s' is neither a number nor an ordinal such as 1st, 2nd, 25th "
                         "(write a space after a number)",
                         (int)(s - start), start);
                return NULL;
            }
            t->kind = T_ORDINAL;
        }
    } else if (*s == ',') {
        s++;
        t->kind = T_COMMA;
    } else {
        lex_fail(p, t->col, "unexpected character '%.*s'", (int)utf8_len(s), s);
        return NULL;
    }
    t->len = (size_t)(s - start);
    return s;
}

/* Splits text into tokens, ending with T_END at the end of the text or at the first character
 * that is not part of the language.  Returns 0, or CF_ENOMEM. */
static int tokenize(struct parser *p, const char *text)
{
    size_t cap = 16;
    int col = 1;
    const char *s = text;
    if (!(p->toks = malloc(cap * sizeof *p->toks)))
        return fail_col(p, 1, "out of memory");
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            s++;
            col++;
        }
        if (p->ntoks + 1 >= cap) {
            struct token *grown = realloc(p->toks, 2 * cap * sizeof *grown);
            if (!grown)
                return fail_col(p, col, "out of memory");
            p->toks = grown;
            cap *= 2;
        }
        struct token *t = &p->toks[p->ntoks++];
        *t = (struct token){.kind = T_END, .s = s, .col = col};
        if (*s == '\0')
            return 0;
        const char *after = read_token(p, s, t);
        if (!after) {
            *t = (struct token){.kind = T_END, .s = s, .col = col};
            return 0;
        }
        /* Tokens are ASCII and the first other character ends the scan, so up to any reported
         * problem a byte is a character and columns need no UTF-8 decoding. */
        col += (int)(after - s);
        s = after;
    }
}

static const struct token *peek(const struct parser *p)
{
    return &p->toks[p->pos];
}

static const struct token *next(struct parser *p)
{
    const struct token *t = &p->toks[p->pos];
    if (t->kind != T_END)
        p->pos++;
    return t;
}

static int is_word(const struct token *t, const char *kw)
{
    return t->kind == T_WORD && t->len == strlen(kw) && strncasecmp(t->s, kw, t->len) == 0;
}

/* Consumes the keyword when it is next; returns 1 when it was. */
static int accept(struct parser *p, const char *kw)
{
    if (!is_word(peek(p), kw))
        return 0;
    p->pos++;
    return 1;
}

/* Quotes a token for a message: 'text', or "the end". */
static const char *quote(const struct token *t, char *buf, size_t n)
{
    if (t->kind == T_END)
        snprintf(buf, n, "the end");
    else
        snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
    return buf;
}

/* Requires a sequence of keywords ("of the month"); `what` describes the whole phrase. */
static int expect_words(struct parser *p, const char *const *words, const char *what)
{
    for (size_t i = 0; words[i]; i++) {
        const struct token *t = peek(p);
        if (!accept(p, words[i])) {
            char q[64];
            return fail_col(p, t->col, "expected '%s' (in '%s'), found %s", words[i], what,
                            quote(t, q, sizeof q));
        }
    }
    return 0;
}

/* Reads a number within lo..hi; `what` says what it counts. */
static int expect_number(struct parser *p, long lo, long hi, const char *what, long *out)
{
    const struct token *t = peek(p);
    char q[64];
    if (t->kind != T_NUMBER)
        return fail_col(p, t->col, "expected %s (a number), found %s", what, quote(t, q, sizeof q));
    if (t->value < lo || t->value > hi)
        return fail_col(p, t->col, "%s must be %ld to %ld, found %s", what, lo, hi,
                        quote(t, q, sizeof q));
    p->pos++;
    *out = t->value;
    return 0;
}

static int expect_time(struct parser *p, int *minute)
{
    const struct token *t = peek(p);
    char q[64];
    if (t->kind != T_TIME)
        return fail_col(p, t->col, "expected a time of day HH:MM after 'at', found %s",
                        quote(t, q, sizeof q));
    p->pos++;
    *minute = (int)t->value;
    return 0;
}

/* ---- Time expressions ----------------------------------------------------------------------- */

enum alt_kind { K_REF, K_OFFSET, K_DAY_OF_MONTH, K_FIRST_WORKING_DAY };
enum unit { U_DAYS, U_WORKING_DAYS, U_WEEKS, U_MONTHS, U_HOURS };

struct alternative {
    enum alt_kind kind;
    enum unit unit; /* K_OFFSET */
    long n;         /* K_OFFSET: the count, signed by direction; K_DAY_OF_MONTH: the day */
    int next_month; /* K_DAY_OF_MONTH, K_FIRST_WORKING_DAY: 1 "of the month after", 0 "of" */
    size_t ref;     /* index into cf_when.refs */
    int minute;     /* "at HH:MM", or -1 */
    int exact;      /* "exact": no rolling */
    long count;     /* K_OFFSET counted by a setting: its index in cf_when.counts, else -1 */
    int negative;   /* K_OFFSET counted by a setting: "before" */
};

struct cf_when {
    struct alternative *alts;
    size_t nalts;
    char **refs; /* distinct, owned */
    size_t nrefs;
    char **counts; /* the settings that counts name ("settings.extension_lead_days"), owned */
    size_t ncounts;
    int unbound; /* counts named by settings that cf_when_bind_count has not given a value */
};

/* Checks FIELD := NAME { "." NAME }. */
static int field_ok(const char *s, size_t len)
{
    int need_start = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (need_start)
                return 0;
            need_start = 1;
        } else if (need_start) {
            if (!is_alpha(s[i]))
                return 0;
            need_start = 0;
        }
    }
    return !need_start;
}

/* Reads a reference and records it in w->refs (roots in lower case); sets *index. */
static int parse_ref(struct parser *p, cf_when *w, size_t *index)
{
    static const char *const roots[] = {"case.", "event.", "clock.", "record."};
    const struct token *t = peek(p);
    char q[64];
    size_t rl = 0;
    if (is_word(t, "now")) {
        rl = 3;
    } else {
        for (size_t r = 0; r < sizeof roots / sizeof roots[0] && !rl; r++) {
            size_t n = strlen(roots[r]);
            if (t->kind == T_WORD && t->len >= n && strncasecmp(t->s, roots[r], n) == 0)
                rl = n;
        }
        if (!rl)
            return fail_col(p, t->col,
                            "expected a reference (now, case.<field>, event.<field>, "
                            "record.<field> or clock.<name>), found %s",
                            quote(t, q, sizeof q));
        if (!field_ok(t->s + rl, t->len - rl))
            return fail_col(p, t->col + (int)rl,
                            "'%.*s' needs a field name after the dot, such as case.filed_at or "
                            "event.time",
                            (int)t->len, t->s);
    }
    /* The root is a keyword, written in lower case; the field stays as written. */
    char *ref = malloc(t->len + 1);
    if (!ref)
        return fail_col(p, t->col, "out of memory");
    for (size_t i = 0; i < t->len; i++)
        ref[i] = i < rl && t->s[i] >= 'A' && t->s[i] <= 'Z' ? (char)(t->s[i] - 'A' + 'a') : t->s[i];
    ref[t->len] = '\0';
    p->pos++;
    for (size_t i = 0; i < w->nrefs; i++) {
        if (strcmp(w->refs[i], ref) == 0) {
            free(ref);
            *index = i;
            return 0;
        }
    }
    char **grown = realloc(w->refs, (w->nrefs + 1) * sizeof *grown);
    if (!grown) {
        free(ref);
        return fail_col(p, t->col, "out of memory");
    }
    w->refs = grown;
    w->refs[w->nrefs] = ref;
    *index = w->nrefs++;
    return 0;
}

/* Reads "of the month" ("after" | "of") REF, the tail of the day-of-month forms. */
static int parse_month_tail(struct parser *p, cf_when *w, struct alternative *a, const char *what)
{
    static const char *const words[] = {"of", "the", "month", NULL};
    int rc = expect_words(p, words, what);
    if (rc)
        return rc;
    const struct token *t = peek(p);
    if (accept(p, "after")) {
        a->next_month = 1;
    } else if (accept(p, "of")) {
        a->next_month = 0;
    } else {
        char q[64];
        return fail_col(p, t->col, "expected 'after' or 'of' after 'of the month', found %s",
                        quote(t, q, sizeof q));
    }
    return parse_ref(p, w, &a->ref);
}

/* Reads the unit after a count: day(s), working day(s), week(s), month(s), hour(s). */
static int parse_unit(struct parser *p, enum unit *unit)
{
    static const struct {
        const char *one, *many;
        enum unit unit;
    } units[] = {
        {"day", "days", U_DAYS},
        {"week", "weeks", U_WEEKS},
        {"month", "months", U_MONTHS},
        {"hour", "hours", U_HOURS},
    };
    const struct token *t = peek(p);
    char q[64];
    if (accept(p, "working")) {
        const struct token *d = peek(p);
        if (!accept(p, "days") && !accept(p, "day"))
            return fail_col(p, d->col, "expected 'days' after 'working', found %s",
                            quote(d, q, sizeof q));
        *unit = U_WORKING_DAYS;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (accept(p, units[i].one) || accept(p, units[i].many)) {
            *unit = units[i].unit;
            return 0;
        }
    }
    return fail_col(p, t->col,
                    "expected a unit after the number: days, working days, weeks, months or "
                    "hours, found %s",
                    quote(t, q, sizeof q));
}

/* Reads the suffixes "at HH:MM" and "exact", in any order, each at most once. */
static int parse_suffixes(struct parser *p, int *minute, int *exact, int hours)
{
    for (;;) {
        const struct token *t = peek(p);
        if (accept(p, "at")) {
            if (*minute >= 0)
                return fail_col(p, t->col, "'at' is given twice");
            if (hours)
                return fail_col(p, t->col,
                                "'at' does not go with hours: N hours after an instant is that "
                                "instant plus N hours");
            int rc = expect_time(p, minute);
            if (rc)
                return rc;
        } else if (accept(p, "exact")) {
            if (*exact)
                return fail_col(p, t->col, "'exact' is given twice");
            *exact = 1;
        } else {
            return 0;
        }
    }
}

/* Reads a count named by a setting ("settings.extension_lead_days") and records the name in
 * w->counts; the value comes later from cf_when_bind_count. */
static int add_count(struct parser *p, cf_when *w, struct alternative *a)
{
    const struct token *t = peek(p);
    if (!field_ok(t->s + 9, t->len - 9) || memchr(t->s + 9, '.', t->len - 9))
        return fail_col(p, t->col, "'%.*s' must name one setting: settings.<name>", (int)t->len,
                        t->s);
    for (size_t i = 0; i < w->ncounts; i++)
        if (strlen(w->counts[i]) == t->len - 9 &&
            strncmp(w->counts[i], t->s + 9, t->len - 9) == 0) {
            a->count = (long)i;
            p->pos++;
            w->unbound = 1;
            return 0;
        }
    char **grown = realloc(w->counts, (w->ncounts + 1) * sizeof *grown);
    if (!grown)
        return fail_col(p, t->col, "out of memory");
    w->counts = grown;
    if (!(w->counts[w->ncounts] = strndup(t->s + 9, t->len - 9)))
        return fail_col(p, t->col, "out of memory");
    a->count = (long)w->ncounts++;
    w->unbound = 1;
    p->pos++;
    return 0;
}

static int parse_alternative(struct parser *p, cf_when *w, struct alternative *a)
{
    const struct token *t = peek(p);
    char q[64];
    int rc;
    *a = (struct alternative){.minute = -1, .count = -1};

    if (t->kind == T_NUMBER ||
        (t->kind == T_WORD && t->len > 9 && strncasecmp(t->s, "settings.", 9) == 0 &&
         p->pos + 1 < p->ntoks && p->toks[p->pos + 1].kind == T_WORD &&
         !memchr(p->toks[p->pos + 1].s, '.', p->toks[p->pos + 1].len))) {
        a->kind = K_OFFSET;
        if (t->kind == T_NUMBER) {
            if (t->value > MAX_COUNT)
                return fail_col(p, t->col, "the number must be at most %ld", MAX_COUNT);
            a->n = next(p)->value;
        } else if ((rc = add_count(p, w, a))) {
            return rc;
        }
        if ((rc = parse_unit(p, &a->unit)))
            return rc;
        const struct token *dir = peek(p);
        if (accept(p, "before")) {
            a->n = -a->n;
            a->negative = 1;
        } else if (!accept(p, "after"))
            return fail_col(p, dir->col, "expected 'after' or 'before', found %s",
                            quote(dir, q, sizeof q));
        rc = parse_ref(p, w, &a->ref);
    } else if (accept(p, "day")) {
        a->kind = K_DAY_OF_MONTH;
        if ((rc = expect_number(p, 1, 31, "the day of the month", &a->n)))
            return rc;
        rc = parse_month_tail(p, w, a, "day D of the month");
    } else if (accept(p, "the")) {
        const struct token *o = peek(p);
        if (o->kind == T_ORDINAL) {
            if (o->value < 1 || o->value > 31)
                return fail_col(p, o->col, "the day of the month must be 1st to 31st, found %s",
                                quote(o, q, sizeof q));
            a->kind = K_DAY_OF_MONTH;
            a->n = next(p)->value;
            rc = parse_month_tail(p, w, a, "the Dth of the month");
        } else if (accept(p, "first")) {
            static const char *const words[] = {"working", "day", NULL};
            a->kind = K_FIRST_WORKING_DAY;
            if ((rc = expect_words(p, words, "the first working day of the month")))
                return rc;
            rc = parse_month_tail(p, w, a, "the first working day of the month");
        } else {
            return fail_col(p, o->col,
                            "expected 'first working day' or a day such as '25th' after 'the', "
                            "found %s",
                            quote(o, q, sizeof q));
        }
    } else if (t->kind == T_WORD && (is_word(t, "now") || memchr(t->s, '.', t->len))) {
        a->kind = K_REF;
        rc = parse_ref(p, w, &a->ref);
    } else {
        return fail_col(p, t->col,
                        "expected a time expression such as '15 days after case.filed_at', "
                        "found %s",
                        quote(t, q, sizeof q));
    }
    if (rc)
        return rc;
    return parse_suffixes(p, &a->minute, &a->exact, a->kind == K_OFFSET && a->unit == U_HOURS);
}

static int parse_expression(struct parser *p, cf_when *w)
{
    char q[64];
    if (peek(p)->kind == T_END)
        return fail_col(p, p->lex_msg[0] ? p->lex_col : 1, "empty time expression");
    for (;;) {
        struct alternative *grown = realloc(w->alts, (w->nalts + 1) * sizeof *grown);
        if (!grown)
            return fail_col(p, peek(p)->col, "out of memory");
        w->alts = grown;
        int rc = parse_alternative(p, w, &w->alts[w->nalts]);
        if (rc)
            return rc;
        w->nalts++;
        if (!accept(p, "or"))
            break;
    }
    const struct token *t = peek(p);
    if (t->kind == T_COMMA || is_word(t, "whichever")) {
        if (t->kind == T_COMMA)
            next(p);
        const struct token *wh = peek(p);
        if (!accept(p, "whichever"))
            return fail_col(p, wh->col, "expected 'whichever is earlier' after ',', found %s",
                            quote(wh, q, sizeof q));
        if (!accept(p, "is"))
            return fail_col(p, peek(p)->col, "expected 'whichever is earlier'");
        const struct token *e = peek(p);
        if (is_word(e, "later") || is_word(e, "latest"))
            return fail_col(p, e->col,
                            "only 'whichever is earlier' is supported: alternatives "
                            "joined by 'or' take the earliest");
        if (!accept(p, "earlier") && !accept(p, "earliest"))
            return fail_col(p, e->col, "expected 'earlier' in 'whichever is earlier', found %s",
                            quote(e, q, sizeof q));
        if (w->nalts < 2)
            return fail_col(p, wh->col, "'whichever is earlier' needs alternatives joined by 'or'");
    }
    t = peek(p);
    if (t->kind != T_END || p->lex_msg[0])
        return fail_col(p, t->col,
                        "unexpected %s: the expression should end here (join alternatives with "
                        "'or')",
                        quote(t, q, sizeof q));
    return 0;
}

void cf_when_free(cf_when *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nrefs; i++)
        free(w->refs[i]);
    free(w->refs);
    for (size_t i = 0; i < w->ncounts; i++)
        free(w->counts[i]);
    free(w->counts);
    free(w->alts);
    free(w);
}

cf_when *cf_when_parse(const char *text, char *err, size_t errsz, int *errcol)
{
    struct parser p = {.err = err, .errsz = errsz, .errcol = errcol};
    cf_when *w = calloc(1, sizeof *w);
    int rc;
    if (!text)
        rc = fail_col(&p, 1, "no time expression");
    else if (!w)
        rc = fail_col(&p, 1, "out of memory");
    else if ((rc = tokenize(&p, text)) == 0)
        rc = parse_expression(&p, w);
    free(p.toks);
    if (rc) {
        cf_when_free(w);
        return NULL;
    }
    return w;
}

size_t cf_when_ref_count(const cf_when *w)
{
    return w ? w->nrefs : 0;
}

const char *cf_when_ref(const cf_when *w, size_t i)
{
    return w && i < w->nrefs ? w->refs[i] : NULL;
}

size_t cf_when_count_count(const cf_when *w)
{
    return w ? w->ncounts : 0;
}

const char *cf_when_count_name(const cf_when *w, size_t i)
{
    return w && i < w->ncounts ? w->counts[i] : NULL;
}

int cf_when_bind_count(cf_when *w, size_t i, long value)
{
    int unbound = 0;
    if (!w || i >= w->ncounts || value < 0 || value > MAX_COUNT)
        return CF_ERANGE;
    for (size_t k = 0; k < w->nalts; k++) {
        struct alternative *a = &w->alts[k];
        if (a->count == (long)i) {
            a->n = a->negative ? -value : value;
            a->count = -2; /* bound */
        }
        unbound |= a->count >= 0;
    }
    w->unbound = unbound;
    return 0;
}

/* The first day of d's month, or of the month after it. */
static cf_date month_start(cf_date d, int next_month)
{
    int y, m;
    cf_date_to_ymd(d, &y, &m, NULL);
    cf_date first = cf_date_from_ymd(y, m, 1);
    return next_month ? cf_date_add_months(first, 1) : first;
}

static int eval_alternative(const cf_when *w, const struct alternative *a, const cf_calendar *cal,
                            cf_when_resolver resolve, void *ctx, cf_time *out)
{
    cf_time t0;
    int rc = resolve(ctx, w->refs[a->ref], &t0);
    if (rc)
        return rc < 0 ? rc : CF_EINVAL;
    int off = cf_calendar_utc_offset(cal);
    cf_date d = cf_time_date(t0, off);
    switch (a->kind) {
    case K_REF:
        if (a->minute < 0) {
            *out = t0;
            return 0;
        }
        break;
    case K_OFFSET:
        switch (a->unit) {
        case U_HOURS: *out = t0 + (cf_time)a->n * CF_MS_PER_HOUR; return 0;
        case U_DAYS: d += (cf_date)a->n; break;
        case U_WEEKS: d += (cf_date)(7 * a->n); break;
        case U_MONTHS: d = cf_date_add_months(d, (int)a->n); break;
        case U_WORKING_DAYS: d = cf_calendar_add_working_days(cal, d, (int)a->n); break;
        }
        break;
    case K_DAY_OF_MONTH: {
        int y, m;
        cf_date_to_ymd(month_start(d, a->next_month), &y, &m, NULL);
        int dim = cf_date_days_in_month(y, m);
        d = cf_date_from_ymd(y, m, a->n > dim ? dim : (int)a->n);
        break;
    }
    case K_FIRST_WORKING_DAY: d = cf_calendar_next_working_day(cal, month_start(d, a->next_month));
    }
    if (!a->exact)
        d = cf_calendar_next_working_day(cal, d);
    *out = cf_time_at(d, a->minute >= 0 ? a->minute : DEFAULT_MINUTE, off);
    return 0;
}

int cf_when_eval(const cf_when *w, const cf_calendar *cal, cf_when_resolver resolve, void *ctx,
                 cf_time *out)
{
    if (!w || !resolve || !out || w->nalts == 0 || w->unbound)
        return CF_EINVAL;
    cf_time best = INT64_MAX;
    for (size_t i = 0; i < w->nalts; i++) {
        cf_time t;
        int rc = eval_alternative(w, &w->alts[i], cal, resolve, ctx, &t);
        if (rc)
            return rc;
        if (t < best)
            best = t;
    }
    *out = best;
    return 0;
}

/* ---- Schedules ------------------------------------------------------------------------------ */

enum sched_kind { S_EVERY_DAY, S_WORKING_DAY, S_WEEKDAYS, S_MONTH_DAYS };

struct cf_schedule {
    enum sched_kind kind;
    unsigned weekdays;   /* S_WEEKDAYS: bit w set for ISO weekday w (1 = Monday) */
    uint32_t month_days; /* S_MONTH_DAYS: bit d set for day d of the month (1-31) */
    int minute;          /* the local time of day */
    int exact;           /* no moving to working days */
};

static const struct {
    const char *name;
    int day;
} weekday_words[] = {
    {"mon", 1},       {"monday", 1}, {"tue", 2},      {"tues", 2},  {"tuesday", 2},  {"wed", 3},
    {"wednesday", 3}, {"thu", 4},    {"thur", 4},     {"thurs", 4}, {"thursday", 4}, {"fri", 5},
    {"friday", 5},    {"sat", 6},    {"saturday", 6}, {"sun", 7},   {"sunday", 7},
};

static int weekday_of(const struct token *t)
{
    for (size_t i = 0; i < sizeof weekday_words / sizeof weekday_words[0]; i++) {
        if (is_word(t, weekday_words[i].name))
            return weekday_words[i].day;
    }
    return 0;
}

/* Consumes a list separator: ",", "and" or ", and"; returns 1 when there was one. */
static int accept_separator(struct parser *p)
{
    if (peek(p)->kind == T_COMMA) {
        p->pos++;
        accept(p, "and");
        return 1;
    }
    return accept(p, "and");
}

static int parse_weekdays(struct parser *p, cf_schedule *s)
{
    char q[64];
    s->kind = S_WEEKDAYS;
    do {
        const struct token *t = peek(p);
        int wd = weekday_of(t);
        if (!wd)
            return fail_col(p, t->col, "expected a day of the week (Mon ... Sun), found %s",
                            quote(t, q, sizeof q));
        if (s->weekdays & (1u << wd))
            return fail_col(p, t->col, "%s is listed twice", quote(t, q, sizeof q));
        s->weekdays |= 1u << wd;
        p->pos++;
    } while (accept_separator(p));
    return 0;
}

/* Adds day d (1-31) of the token t to the set of days of the month. */
static int add_month_day(struct parser *p, cf_schedule *s, const struct token *t)
{
    char q[64];
    if (t->value < 1 || t->value > 31)
        return fail_col(p, t->col, "a day of the month must be 1 to 31, found %s",
                        quote(t, q, sizeof q));
    if (s->month_days & (UINT32_C(1) << t->value))
        return fail_col(p, t->col, "day %ld is listed twice", t->value);
    s->month_days |= UINT32_C(1) << t->value;
    return 0;
}

static int parse_schedule(struct parser *p, cf_schedule *s)
{
    char q[64];
    int rc;
    const struct token *t = peek(p);
    if (t->kind == T_END)
        return fail_col(p, p->lex_msg[0] ? p->lex_col : 1, "empty schedule");
    if (accept(p, "every")) {
        const struct token *u = peek(p);
        if (accept(p, "day")) {
            s->kind = S_EVERY_DAY;
        } else if (accept(p, "working")) {
            const struct token *d = peek(p);
            if (!accept(p, "day"))
                return fail_col(p, d->col, "expected 'day' after 'every working', found %s",
                                quote(d, q, sizeof q));
            s->kind = S_WORKING_DAY;
        } else if (accept(p, "week")) {
            const struct token *o = peek(p);
            if (!accept(p, "on"))
                return fail_col(p, o->col,
                                "expected 'on' and days of the week after "
                                "'every week', such as 'every week on Mon'");
            if ((rc = parse_weekdays(p, s)))
                return rc;
        } else if (accept(p, "month")) {
            static const char *const on[] = {"on", NULL};
            if ((rc = expect_words(p, on, "every month on day D")))
                return rc;
            const struct token *d = peek(p);
            if (!accept(p, "day") && !accept(p, "days"))
                return fail_col(p, d->col, "expected 'day' in 'every month on day D', found %s",
                                quote(d, q, sizeof q));
            s->kind = S_MONTH_DAYS;
            do {
                const struct token *n = peek(p);
                if (n->kind != T_NUMBER)
                    return fail_col(p, n->col, "expected a day of the month (1-31), found %s",
                                    quote(n, q, sizeof q));
                if ((rc = add_month_day(p, s, n)))
                    return rc;
                p->pos++;
            } while (accept_separator(p));
        } else if (weekday_of(u)) {
            if ((rc = parse_weekdays(p, s)))
                return rc;
        } else {
            return fail_col(p, u->col,
                            "expected day, working day, a day of the week, week on ... or "
                            "month on day ... after 'every', found %s",
                            quote(u, q, sizeof q));
        }
    } else if (accept(p, "the")) {
        s->kind = S_MONTH_DAYS;
        do {
            const struct token *o = peek(p);
            if (o->kind != T_ORDINAL)
                return fail_col(p, o->col, "expected a day of the month such as 1st, found %s",
                                quote(o, q, sizeof q));
            if ((rc = add_month_day(p, s, o)))
                return rc;
            p->pos++;
        } while (accept_separator(p));
        static const char *const tail[] = {"of", "every", "month", NULL};
        if ((rc = expect_words(p, tail, "the 1st of every month")))
            return rc;
    } else {
        return fail_col(p, t->col,
                        "expected a schedule such as 'every working day at 09:00', found %s",
                        quote(t, q, sizeof q));
    }
    if ((rc = parse_suffixes(p, &s->minute, &s->exact, 0)))
        return rc;
    t = peek(p);
    if (t->kind != T_END || p->lex_msg[0])
        return fail_col(p, t->col, "unexpected %s: the schedule should end here",
                        quote(t, q, sizeof q));
    if (s->minute < 0)
        s->minute = DEFAULT_MINUTE;
    return 0;
}

cf_schedule *cf_schedule_parse(const char *text, char *err, size_t errsz, int *errcol)
{
    struct parser p = {.err = err, .errsz = errsz, .errcol = errcol};
    cf_schedule *s = calloc(1, sizeof *s);
    int rc;
    if (!text)
        rc = fail_col(&p, 1, "no schedule");
    else if (!s)
        rc = fail_col(&p, 1, "out of memory");
    else if ((s->minute = -1, rc = tokenize(&p, text)) == 0)
        rc = parse_schedule(&p, s);
    free(p.toks);
    if (rc) {
        free(s);
        return NULL;
    }
    return s;
}

void cf_schedule_free(cf_schedule *s)
{
    free(s);
}

/* Returns 1 when date d is a nominal occurrence (before any moving to a working day). */
static int nominal(const cf_schedule *s, const cf_calendar *cal, cf_date d)
{
    switch (s->kind) {
    case S_EVERY_DAY: return 1;
    case S_WORKING_DAY: return cf_calendar_is_working_day(cal, d);
    case S_WEEKDAYS: return (s->weekdays >> cf_date_weekday(d)) & 1;
    case S_MONTH_DAYS: {
        int y, m, day;
        cf_date_to_ymd(d, &y, &m, &day);
        if ((s->month_days >> day) & 1)
            return 1;
        /* Days past a short month's end happen on its last day. */
        int dim = cf_date_days_in_month(y, m);
        return day == dim && dim < 31 && (s->month_days >> (dim + 1)) != 0;
    }
    }
    return 0;
}

/*
 * Returns 1 when some nominal occurrence moves to working day x: x itself, or one of the
 * non-working days just before it (the days since the previous working day).
 */
static int moves_to(const cf_schedule *s, const cf_calendar *cal, cf_date x)
{
    for (cf_date d = x;; d--) {
        if (d != x && cf_calendar_is_working_day(cal, d))
            return 0;
        if (nominal(s, cal, d))
            return 1;
    }
}

/*
 * Walks forward day by day from the date of `after`.  Every schedule has a nominal occurrence
 * in each month, so the walk ends within about a month plus the longest run of non-working
 * days; each step costs a few table lookups.
 */
cf_time cf_schedule_next(const cf_schedule *s, const cf_calendar *cal, cf_time after)
{
    int off = cf_calendar_utc_offset(cal);
    cf_date d = cf_time_date(after, off);
    for (;; d++) {
        if (!s->exact)
            d = cf_calendar_next_working_day(cal, d);
        cf_time t = cf_time_at(d, s->minute, off);
        if (t > after && (s->exact ? nominal(s, cal, d) : moves_to(s, cal, d)))
            return t;
    }
}
