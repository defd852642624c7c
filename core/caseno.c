/* Parsing and formatting of court case numbers (案号), modern and pre-2016 forms. */
#include "caseno.h"

#include <stdio.h>
#include <string.h>

/* Skips an opening or closing parenthesis, ASCII or full-width; returns bytes consumed or 0. */
static size_t paren(const char *s, int open)
{
    const char *ascii = open ? "(" : ")", *wide = open ? "（" : "）";
    if (strncmp(s, ascii, 1) == 0)
        return 1;
    if (strncmp(s, wide, strlen(wide)) == 0)
        return strlen(wide);
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int cf_caseno_parse(const char *s, cf_caseno *out, char *err, size_t errsz)
{
    size_t n, i = 0, start;
    const char *p;
    const char *zi = "字第", *hao = "号";

    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return cf_errf(err, errsz, CF_EPARSE, "empty case number");
    if (!(n = paren(s, 1)))
        return cf_errf(err, errsz, CF_EPARSE,
                       "case number '%s' must start with the year in "
                       "parentheses, as (2026)豫0381执1234号",
                       s);
    i = n;
    for (start = i; is_digit(s[i]); i++)
        out->year = out->year * 10 + (s[i] - '0');
    if (i - start != 4 || out->year < 1949)
        return cf_errf(err, errsz, CF_EPARSE, "case number '%s': the year must have 4 digits", s);
    if (!(n = paren(s + i, 0)))
        return cf_errf(err, errsz, CF_EPARSE, "case number '%s': ')' expected after the year", s);
    i += n;
    /* The rest ends in 号; the sequence number is the run of digits just before it. */
    p = strstr(s + i, hao);
    if (!p || strcmp(p, hao) != 0)
        return cf_errf(err, errsz, CF_EPARSE, "case number '%s' must end with 号", s);
    {
        size_t end = (size_t)(p - s), d = end;
        while (d > i && is_digit(s[d - 1]))
            d--;
        if (d == end || end - d > 7)
            return cf_errf(err, errsz, CF_EPARSE,
                           "case number '%s': the sequence number before 号 is missing", s);
        for (size_t k = d; k < end; k++)
            out->seq = out->seq * 10 + (s[k] - '0');
        if (out->seq < 1)
            return cf_errf(err, errsz, CF_EPARSE, "case number '%s': sequence numbers start at 1",
                           s);
        /* Old form: court abbreviation and type, then 字第 before the number. */
        if (d - i >= strlen(zi) && strncmp(s + d - strlen(zi), zi, strlen(zi)) == 0) {
            size_t body = d - strlen(zi) - i;
            const char *b = s + i;
            /* The court is the first character (a place abbreviation), the rest is the type. */
            size_t first = ((unsigned char)b[0] >= 0xE0) ? 3 : 1;
            if (body <= first || body - first >= sizeof out->type)
                return cf_errf(err, errsz, CF_EPARSE, "case number '%s': court and type missing",
                               s);
            memcpy(out->court, b, first);
            memcpy(out->type, b + first, body - first);
            out->old_form = 1;
            return 0;
        }
        /* Modern form: a province abbreviation (one Han character) and 4 digits, then the
         * type. */
        {
            const char *b = s + i;
            size_t k = 3;
            if ((unsigned char)b[0] < 0xE0 || d - i < 3 + 4 + 3)
                return cf_errf(err, errsz, CF_EPARSE,
                               "case number '%s': the court code (as 豫0381) is missing", s);
            while (k < 7 && is_digit(b[k]))
                k++;
            if (k != 7)
                return cf_errf(err, errsz, CF_EPARSE,
                               "case number '%s': the court code needs 4 digits after the "
                               "province, as 豫0381",
                               s);
            memcpy(out->court, b, 7);
            if (d - i - 7 >= sizeof out->type || d - i - 7 == 0)
                return cf_errf(err, errsz, CF_EPARSE,
                               "case number '%s': the type (as 执) is "
                               "missing",
                               s);
            memcpy(out->type, b + 7, d - i - 7);
            for (size_t t = 0; out->type[t]; t++)
                if ((unsigned char)out->type[t] < 0x80)
                    return cf_errf(err, errsz, CF_EPARSE,
                                   "case number '%s': the type must be Chinese, as 执 or 执恢", s);
        }
    }
    return 0;
}

int cf_caseno_format(const cf_caseno *c, char *buf, size_t n)
{
    return snprintf(buf, n, "(%d)%s%s%ld号", c->year, c->court, c->type, c->seq);
}
