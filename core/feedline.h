/*
 * One line of the filing system's export (`caseflow feed`): a JSON event envelope, checked the
 * way the engine will check it, so that a bad line is refused with its reason before it is sent.
 * Pure: no I/O, so that the fuzz target tests/fuzz/fuzz_feedline.c runs exactly this.
 */
#ifndef CF_FEEDLINE_H
#define CF_FEEDLINE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/schema.h"

/*
 * Checks the `len` bytes of `text` (one line without its line break; it may hold NULs) against
 * `envelope` and the schema of its type in `schemas`.  Returns 0 and a new event in `*event` (the
 * caller's), its case number put in the canonical form ((2026)豫0381执7号 for
 * （2026）豫0381执７号). Otherwise returns CF_EINVAL with the reason in `err`, starting with where
 * it is ("column 3:",
 * "/case:", "envelope:", or the event's type) and never quoting the line, which may hold a
 * party's name; or CF_ENOMEM.  Duplicate ids across lines are the caller's to find.
 */
int cf_feedline_check(const cf_schema_set *schemas, const cf_schema *envelope, const char *text,
                      size_t len, json_t **event, char *err, size_t errsz) CF_MUST_CHECK;

#endif
