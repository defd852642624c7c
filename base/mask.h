/*
 * Masking of parties' personal data before it reaches a log line or any other
 * output that staff of every post can read.  Names keep their first character,
 * identity and account numbers their first and last two, phone numbers their
 * first three and last four; addresses and amounts are hidden whole.
 */
#ifndef CF_MASK_H
#define CF_MASK_H

#include <stddef.h>

/* Each writes the masked form of `in` (UTF-8) into `out` of `outsz` bytes, always NUL-terminated,
 * and returns `out`.  NULL input gives "". */
const char *cf_mask_name(const char *in, char *out, size_t outsz);
const char *cf_mask_number(const char *in, char *out, size_t outsz);
const char *cf_mask_phone(const char *in, char *out, size_t outsz);

/* Returns 1 when a JSON member with this key holds personal data. */
int cf_mask_is_personal_key(const char *key);

/*
 * Writes the masked form of `in`, the text of a member named `key`, as that key's kind of
 * personal data wants it (a name, a number, a phone; "***" for what is hidden whole), into `out`
 * and returns `out`; returns NULL and leaves `out` alone when `key` is not personal.  The JSON
 * form, masking a whole document, is core/maskjson.h.
 */
const char *cf_mask_member(const char *key, const char *in, char *out, size_t outsz);

#endif
