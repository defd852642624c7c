/*
 * Case numbers (案号): `(2026)豫0381执1234号` since 2016, and the older
 * `(2013)洛民终字第1984号` that old files still carry.  Parsing is pure.
 */
#ifndef CF_CASENO_H
#define CF_CASENO_H

#include <stddef.h>

#include <jansson.h>

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

/* Writes the canonical form of case number `in` into `out`: full-width （）〔〕 and ()
 * become ASCII ( ), full-width digits ０-９ become ASCII 0-9, and spaces (ASCII and U+3000)
 * are removed; everything else is kept as is.  It does not check the form (the schema does).
 * Returns 0, or CF_EINVAL when `in` is not UTF-8 or the result does not fit in `outsz`.
 * The result is never longer than `in`, so `out` may be `in` itself.  Every way of writing one
 * case number has one canonical form: the engine keys cases by it, the feed and the CLI look
 * cases up by it. */
int cf_caseno_normalize(const char *in, char *out, size_t outsz) CF_MUST_CHECK;

/* Writes the modern form "(2026)豫0381执1234号" into `buf`; returns the length written. */
int cf_caseno_format(const cf_caseno *c, char *buf, size_t n);

/*
 * The court a case belongs to, by its key: the court code of a modern case number (豫0381 of
 * (2026)豫0381执7号); for a key without one (the old form, a payment reference) `filed`, the court
 * its filing named (case.filed's data.court), when not NULL or "".  Returns the code (a pointer
 * into `buf`, or `filed`), or NULL when neither tells: the installation's home court then.
 * Pure; the SQL function caseflow_court (schemas/sql/014_courts.sql) is the same rule.
 */
const char *cf_caseno_court(const char *key, const char *filed, char *buf, size_t n);

/*
 * Writes the canonical form of event `ev`'s case number into its `case` member (the bytes stored
 * in the log keep it as it was written), so that (2026)豫0381执7号 and （２０２６）豫0381执7号 are
 * one case in the engine, the CLI, the server and replay alike.  A number that cannot be normalized
 * is left as it is, for the schema to refuse.  Returns 1 when it changed the member, else 0.
 */
int cf_caseno_normalize_event(json_t *ev);

#endif
