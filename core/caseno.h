/*
 * Case numbers (案号): `(2026)豫0381执1234号` since 2016, and the older
 * `(2013)洛民终字第1984号` that old files still carry.  Parsing is pure.
 */
#ifndef CF_CASENO_H
#define CF_CASENO_H

#include "base/err.h"

typedef struct cf_caseno {
    int year;
    char court[32]; /* "豫0381" (modern) or "洛" (old form) */
    char type[32];  /* "执", "执恢", "执保", "民终" … */
    long seq;       /* the running number within court, type and year */
    int old_form;   /* 1 for the pre-2016 form with 字第 */
} cf_caseno;

/*
 * Parses `s`.  Full-width parentheses （） are accepted as well as ASCII ones.
 * Returns 0, or CF_EPARSE with what is wrong in `err`.
 */
int cf_caseno_parse(const char *s, cf_caseno *out, char *err, size_t errsz) CF_MUST_CHECK;

/* Writes the modern form "(2026)豫0381执1234号" into `buf`; returns the length written. */
int cf_caseno_format(const cf_caseno *c, char *buf, size_t n);

#endif
