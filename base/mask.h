/*
 * Masking of parties' personal data before it reaches a log line or any other
 * output that staff of every post can read.  Names keep their first character,
 * identity and account numbers their first and last two, phone numbers their
 * first three and last four; addresses and amounts are hidden whole.
 */
#ifndef CF_MASK_H
#define CF_MASK_H

#include <jansson.h>
#include <stddef.h>

/* Each writes the masked form of `in` (UTF-8) into `out` of `outsz` bytes, always NUL-terminated,
 * and returns `out`.  NULL input gives "". */
const char *cf_mask_name(const char *in, char *out, size_t outsz);
const char *cf_mask_number(const char *in, char *out, size_t outsz);
const char *cf_mask_phone(const char *in, char *out, size_t outsz);

/* Returns 1 when a JSON member with this key holds personal data. */
int cf_mask_is_personal_key(const char *key);

/*
 * Returns a deep copy of `v` in which every member whose key is personal
 * (see cf_mask_is_personal_key) is masked, at any depth.  The caller owns the
 * result (json_decref).  Returns NULL only when memory runs out.
 */
json_t *cf_mask_json(const json_t *v);

/* Masks `v` as cf_mask_json and serializes it compactly; the caller frees the string. */
char *cf_mask_json_dumps(const json_t *v);

#endif
