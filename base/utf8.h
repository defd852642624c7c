/*
 * UTF-8 at byte limits: a text cut to fit a buffer (a log line, a reason of at most 1 KiB, the
 * first 256 KiB of an event) may end inside a character, and JSON cannot carry half of one.
 */
#ifndef CF_UTF8_H
#define CF_UTF8_H

#include <stddef.h>

/*
 * Returns the length of the longest prefix of s[0 .. n) made of whole, well-formed UTF-8
 * characters (no overlong forms, no surrogates, nothing above U+10FFFF): n when all of it is.
 */
size_t cf_utf8_whole(const char *s, size_t n);

/* Cuts the NUL-terminated `s` where its whole UTF-8 prefix ends; returns the new length. */
size_t cf_utf8_clip(char *s);

#endif
