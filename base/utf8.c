/* Finding where whole UTF-8 characters end (RFC 3629). */
#include "utf8.h"

#include <string.h>

size_t cf_utf8_whole(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 3;
            if (c == 0xE0)
                lo = 0xA0; /* no overlong three-byte forms */
            else if (c == 0xED)
                hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 4;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            return i;
        }
        if (i + k > n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t j = 2; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
        i += k;
    }
    return n;
}

size_t cf_utf8_clip(char *s)
{
    size_t n = cf_utf8_whole(s, strlen(s));
    s[n] = '\0';
    return n;
}
