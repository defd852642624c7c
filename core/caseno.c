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
    /* Only four digits make a year: a longer run is refused below, and must not overflow. */
    for (start = i; is_digit(s[i]); i++)
        if (i - start < 4)
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

const char *cf_caseno_court(const char *key, const char *filed, char *buf, size_t n)
{
    cf_caseno c;
    char why[8];

    if (key && cf_caseno_parse(key, &c, why, sizeof why) == 0 && !c.old_form &&
        strlen(c.court) < n) {
        memcpy(buf, c.court, strlen(c.court) + 1);
        return buf;
    }
    return filed && *filed ? filed : NULL;
}

int cf_caseno_format(const cf_caseno *c, char *buf, size_t n)
{
    return snprintf(buf, n, "(%d)%s%s%ld号", c->year, c->court, c->type, c->seq);
}

/* Decodes the UTF-8 character at s (NUL-terminated); returns its length in bytes and sets *cp,
 * or returns 0 for a byte sequence that is not UTF-8 (overlong forms and surrogates included). */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

int cf_caseno_normalize(const char *in, char *out, size_t outsz)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

    if (!in || !out || outsz == 0)
        return CF_EINVAL;
    while (*s) {
        unsigned cp;
        size_t n = utf8_decode(s, &cp);
        char ascii = 0;

        if (n == 0)
            return CF_EINVAL;
        if (cp == ' ' || cp == 0x3000) {
            s += n;
            continue;
        }
        if (cp == 0xFF08 || cp == 0x3014)
            ascii = '(';
        else if (cp == 0xFF09 || cp == 0x3015)
            ascii = ')';
        else if (cp >= 0xFF10 && cp <= 0xFF19)
            ascii = (char)('0' + (cp - 0xFF10));
        /* Writing never overtakes reading (a replacement is shorter than what it replaces), so
         * `out` may be `in`; the room for the NUL is kept. */
        if (ascii) {
            if (o + 1 >= outsz)
                return CF_EINVAL;
            out[o++] = ascii;
        } else {
            if (o + n >= outsz)
                return CF_EINVAL;
            memmove(out + o, s, n);
            o += n;
        }
        s += n;
    }
    out[o] = '\0';
    return 0;
}

int cf_caseno_normalize_event(json_t *ev)
{
    const char *c = json_string_value(json_object_get(ev, "case"));
    char norm[512];
    if (!c || cf_caseno_normalize(c, norm, sizeof norm) != 0 || strcmp(norm, c) == 0)
        return 0;
    return json_object_set_new(ev, "case", json_string(norm)) == 0;
}
