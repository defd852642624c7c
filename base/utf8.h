/*
 * UTF-8 at byte limits and on a terminal, on GNU libunistring: a text cut to fit a buffer (a log
 * line, a reason of at most 1 KiB, the first 256 KiB of an event) may end inside a character,
 * and JSON cannot carry half of one; a table of Chinese text lines up only when each character
 * counts the columns it takes.
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

/*
 * Returns the columns the NUL-terminated UTF-8 text `s` takes on a terminal: two for each East
 * Asian wide or full-width character (汉字, （, ７), none for a combining mark or a control
 * character, one for any other character and for each byte that is not UTF-8.  NULL takes none.
 */
int cf_utf8_width(const char *s);

#endif
