/*
 * Matching a voluntary payment to its case by remark and payer (core/paymatch.h has the scoring).
 * Pure: the candidates come in, the proposals go out.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "paymatch.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "core/caseno.h"

enum { MAX_TEXT = 2000, MAX_TOKENS = 16, MAX_CP = 128 };

/* A case-number-like fragment: "(2026)豫0381执1234号" is 2026, 豫0381, 执, 1234. */
typedef struct token {
    char year[8], court[40], type[16], seq[16];
    int has_year, has_court;
} token;

/*
 * Year (3-5 digits, so that a typo in it still makes a token), court (a province and 1-5
 * digits, 最高法, or the place of the old form before 字第), type, 字第 of the old form, sequence,
 * 号.  The text has been normalized: ASCII parentheses and digits, no spaces.
 */
static const char token_re[] =
    "(?:\\(?([0-9]{3,5})\\)?)?"
    "(?:([京津冀晋内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔云藏陕甘青宁新兵][0-9]{1,5}|最高法)"
    "|(\\p{Han})(?=(?:执[恢保异复监]?|[民刑行][初终再特申监])字第))?"
    "(执[恢保异复监]?|[民刑行][初终再特申监])(?:字第)?([0-9]{1,7})号?";

/* Brackets that cf_caseno_normalize keeps but payers use for the year: 【】［］[] and ﹝﹞. */
static const char *const extra_open[] = {"【", "［", "[", "﹝"};
static const char *const extra_close[] = {"】", "］", "]", "﹞"};

static size_t replace_all(char *s, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), changed = 0;
    char *p = s;

    /* `to` is never longer than `from`, so the text only shrinks. */
    while ((p = strstr(p, from))) {
        memmove(p + nt, p + nf, strlen(p + nf) + 1);
        memcpy(p, to, nt);
        p += nt;
        changed++;
    }
    return changed;
}

/* The normalized form of `in` (see paymatch.h) into `out` of MAX_TEXT + 1 bytes. */
static int normalize(const char *in, char *out)
{
    size_t len = in ? strlen(in) : 0;

    if (len > MAX_TEXT || cf_utf8_whole(in ? in : "", len) != len)
        return CF_EINVAL;
    if (cf_caseno_normalize(in ? in : "", out, MAX_TEXT + 1) != 0)
        return CF_EINVAL;
    for (size_t i = 0; i < sizeof extra_open / sizeof extra_open[0]; i++) {
        replace_all(out, extra_open[i], "(");
        replace_all(out, extra_close[i], ")");
    }
    return 0;
}

int cf_paymatch_normalize(const char *in, char *out, size_t outsz)
{
    char text[MAX_TEXT + 1];

    if (normalize(in, text) != 0 || strlen(text) >= outsz)
        return CF_EINVAL;
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

/* The code points of the UTF-8 text `s` (well-formed), at most MAX_CP; returns their count. */
static size_t decode(const char *s, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    while (*p && n < MAX_CP) {
        uint32_t c = *p;
        int more = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
        c &= more == 0 ? 0x7F : more == 1 ? 0x1F : more == 2 ? 0x0F : 0x07;
        p++;
        for (int k = 0; k < more && *p; k++)
            c = (c << 6) | (*p++ & 0x3F);
        cp[n++] = c;
    }
    return n;
}

/* The edit distance (Levenshtein, in characters) of two texts, counted up to 2: "more". */
static int distance(const char *a, const char *b)
{
    uint32_t x[MAX_CP], y[MAX_CP];
    size_t nx = decode(a, x), ny = decode(b, y);
    int row[MAX_CP + 1], best = 0;

    if ((nx > ny ? nx - ny : ny - nx) > 1)
        return 2;
    for (size_t j = 0; j <= ny; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= nx; i++) {
        int diag = row[0];
        row[0] = (int)i;
        best = row[0];
        for (size_t j = 1; j <= ny; j++) {
            int up = row[j], v = diag + (x[i - 1] != y[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            diag = up;
            row[j] = v;
            if (v < best)
                best = v;
        }
        if (best > 1)
            return 2;
    }
    return row[ny] > 2 ? 2 : row[ny];
}

static size_t chars(const char *s)
{
    uint32_t cp[MAX_CP];
    return decode(s, cp);
}

static void group(const char *s, PCRE2_SIZE *ov, int g, char *out, size_t n)
{
    size_t len = ov[2 * g] == PCRE2_UNSET ? 0 : ov[2 * g + 1] - ov[2 * g];
    if (len >= n)
        len = n - 1;
    memcpy(out, s + (ov[2 * g] == PCRE2_UNSET ? 0 : ov[2 * g]), len);
    out[len] = '\0';
}

/* The case-number tokens of the normalized text `s`, at most MAX_TOKENS; returns their count. */
static size_t tokens_of(const char *s, token *t)
{
    int errcode;
    PCRE2_SIZE erroff, at = 0, len = strlen(s);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)token_re, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    size_t n = 0;

    while (md && n < MAX_TOKENS && at < len &&
           pcre2_match(re, (PCRE2_SPTR)s, len, at, 0, md, NULL) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        token *k = &t[n++];
        char old_court[16];
        memset(k, 0, sizeof *k);
        group(s, ov, 1, k->year, sizeof k->year);
        group(s, ov, 2, k->court, sizeof k->court);
        group(s, ov, 3, old_court, sizeof old_court);
        group(s, ov, 4, k->type, sizeof k->type);
        group(s, ov, 5, k->seq, sizeof k->seq);
        if (!k->court[0])
            memcpy(k->court, old_court, sizeof old_court);
        k->has_year = k->year[0] != '\0';
        k->has_court = k->court[0] != '\0';
        at = ov[1] > at ? ov[1] : at + 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return n;
}

/* year + court + type + sequence, the court filled in with `court` when the token has none. */
static void key_of(const token *t, const char *court, char *out, size_t n)
{
    /* The widths of a token's parts: a court code handed in is never longer than a token's. */
    snprintf(out, n, "%.7s%.39s%.15s%.15s", t->year, t->has_court ? t->court : court, t->type,
             t->seq);
}

/* The first token of a case number, or 0 when it has none. */
static int parse_number(const char *no, token *t)
{
    char norm[MAX_TEXT + 1];
    token all[MAX_TOKENS];

    if (!no || normalize(no, norm) != 0 || tokens_of(norm, all) == 0)
        return 0;
    *t = all[0];
    return 1;
}

/* The points of token `t` against number `c` (the case's own, or the judgment's). */
static int number_points(const token *t, const token *c, const char *court, int judgment,
                         const char **why)
{
    char tk[128], ck[128];
    int d;

    if (!t->has_year) {
        if (judgment || strcmp(t->type, c->type) != 0 || strcmp(t->seq, c->seq) != 0)
            return 0;
        *why = "执行案号类型与序号一致（未写年份）";
        return 30;
    }
    key_of(t, court, tk, sizeof tk);
    key_of(c, court, ck, sizeof ck);
    d = distance(tk, ck);
    if (d == 0 && judgment)
        *why = "备注为本案执行依据的案号";
    else if (d == 0)
        *why = t->has_court ? "案号一致" : "案号一致（未写法院代字）";
    else if (d == 1)
        *why = judgment ? "与执行依据案号相差一个字符" : "与案号相差一个字符";
    else
        return 0;
    return d == 0 ? (judgment || !t->has_court ? 60 : 70) : (judgment ? 40 : 50);
}

static int party_points(const char *remark, const char *payer, const cf_paycase *c,
                        const char **why)
{
    int best = 0;

    for (size_t i = 0; i < c->nrespondents; i++) {
        char r[MAX_TEXT + 1];
        int p = 0;
        const char *w = "";
        if (!c->respondents[i] || normalize(c->respondents[i], r) != 0 || !r[0])
            continue;
        if (payer[0] && strcmp(payer, r) == 0) {
            p = 30;
            w = "付款人是本案被执行人";
        } else if (chars(r) >= 2 && strstr(remark, r)) {
            p = 25;
            w = "备注中有被执行人姓名";
        } else if (payer[0] && chars(r) >= 3 && chars(payer) >= 3 && distance(payer, r) == 1) {
            p = 15;
            w = "付款人姓名与被执行人相差一个字符";
        }
        if (p > best) {
            best = p;
            *why = w;
        }
    }
    return best;
}

static int by_confidence(const void *a, const void *b)
{
    const cf_paymatch *x = a, *y = b;
    if (x->confidence != y->confidence)
        return y->confidence - x->confidence;
    return strcmp(x->case_no, y->case_no);
}

/* Distinct enforcement case numbers (type 执…) the remark names. */
static size_t enforcement_numbers(const token *t, size_t n, const char *court)
{
    char keys[MAX_TOKENS][128];
    size_t distinct = 0;

    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        if (strncmp(t[i].type, "执", strlen("执")) != 0)
            continue;
        key_of(&t[i], court, keys[distinct], sizeof keys[0]);
        for (size_t k = 0; k < distinct; k++)
            seen |= strcmp(keys[k], keys[distinct]) == 0;
        distinct += !seen;
    }
    return distinct;
}

int cf_paymatch_run(const char *remark, const char *payer, const char *court,
                    const cf_paycase *cands, size_t ncands, cf_paymatch *out, size_t cap, size_t *n,
                    int *sure)
{
    char text[MAX_TEXT + 1], who[MAX_TEXT + 1], own[MAX_TEXT + 1];
    token toks[MAX_TOKENS];
    size_t ntok;
    cf_paymatch *all;

    *n = 0;
    *sure = 0;
    if (normalize(remark, text) != 0 || normalize(payer, who) != 0 || normalize(court, own) != 0)
        return CF_EINVAL;
    ntok = tokens_of(text, toks);
    if (ncands == 0)
        return 0;
    if (!(all = calloc(ncands, sizeof *all)))
        return CF_ENOMEM;
    for (size_t i = 0; i < ncands; i++) {
        token mine, basis;
        int has_mine = parse_number(cands[i].case_no, &mine);
        int has_basis = parse_number(cands[i].basis_no, &basis);
        cf_paymatch *m = &all[i];
        m->index = i;
        m->case_no = cands[i].case_no ? cands[i].case_no : "";
        m->number_why = m->party_why = "";
        for (size_t k = 0; k < ntok; k++) {
            const char *why = "";
            int p = has_mine ? number_points(&toks[k], &mine, own, 0, &why) : 0;
            if (p > m->number) {
                m->number = p;
                m->number_why = why;
            }
            p = has_basis ? number_points(&toks[k], &basis, own, 1, &why) : 0;
            if (p > m->number) {
                m->number = p;
                m->number_why = why;
            }
        }
        m->party = party_points(text, who, &cands[i], &m->party_why);
        m->confidence = m->number + m->party > 100 ? 100 : m->number + m->party;
    }
    qsort(all, ncands, sizeof *all, by_confidence);
    for (size_t i = 0; i < ncands && *n < cap && all[i].confidence > 0; i++)
        out[(*n)++] = all[i];
    *sure = *n > 0 && out[0].confidence >= CF_PAYMATCH_SURE &&
            (ncands == 1 || all[1].confidence <= out[0].confidence - CF_PAYMATCH_MARGIN) &&
            enforcement_numbers(toks, ntok, own) <= 1;
    free(all);
    return 0;
}

static void add_unique(json_t *into, const char *s)
{
    size_t i;
    json_t *v;

    if (s[0] == '0' || !s[0])
        return;
    json_array_foreach (into, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return;
    json_array_append_new(into, json_string(s));
}

int cf_paymatch_sequences(const char *remark, json_t *into)
{
    char text[MAX_TEXT + 1];
    token toks[MAX_TOKENS];
    size_t ntok;

    if (normalize(remark, text) != 0)
        return CF_EINVAL;
    ntok = tokens_of(text, toks);
    for (size_t k = 0; k < ntok; k++) {
        const char *s = toks[k].seq;
        size_t len = strlen(s);
        char v[24];
        add_unique(into, s);
        for (size_t i = 0; i <= len; i++)
            for (char d = '0'; d <= '9'; d++) {
                /* One digit changed, added before position i, or (once) left out. */
                if (i < len) {
                    snprintf(v, sizeof v, "%.*s%c%s", (int)i, s, d, s + i + 1);
                    add_unique(into, v);
                }
                snprintf(v, sizeof v, "%.*s%c%s", (int)i, s, d, s + i);
                add_unique(into, v);
            }
        for (size_t i = 0; i < len && len > 1; i++) {
            snprintf(v, sizeof v, "%.*s%s", (int)i, s, s + i + 1);
            add_unique(into, v);
        }
    }
    return 0;
}
