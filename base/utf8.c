/* UTF-8 (RFC 3629) and display width (Unicode's East Asian Width) through GNU libunistring. */
#include "utf8.h"

#include <limits.h>
#include <string.h>
#include <unistr.h>
#include <uniwidth.h>

size_t cf_utf8_whole(const char *s, size_t n)
{
    const uint8_t *bad = u8_check((const uint8_t *)s, n);
    return bad ? (size_t)(bad - (const uint8_t *)s) : n;
}

size_t cf_utf8_clip(char *s)
{
    size_t n = cf_utf8_whole(s, strlen(s));
    s[n] = '\0';
    return n;
}

int cf_utf8_width(const char *s)
{
    /* "UTF-8", not a CJK locale's encoding: characters of ambiguous width (“ ” ①) take one
     * column, as in the terminals the court's staff use. */
    size_t w = s ? u8_strwidth((const uint8_t *)s, "UTF-8") : 0;
    return w > INT_MAX ? INT_MAX : (int)w;
}
