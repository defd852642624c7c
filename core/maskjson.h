/*
 * Masking of parties' personal data in a JSON document, member by member, as base/mask.h masks
 * one text: what the case view, the replay and the API show to staff of every post.
 */
#ifndef CF_MASKJSON_H
#define CF_MASKJSON_H

#include <jansson.h>

/*
 * Returns a deep copy of `v` in which every member whose key is personal
 * (see cf_mask_is_personal_key) is masked, at any depth; a personal member that is no text is
 * hidden whole ("***").  The caller owns the result (json_decref).  Returns NULL only when
 * memory runs out.
 */
json_t *cf_mask_json(const json_t *v);

/* Masks `v` as cf_mask_json and serializes it compactly; the caller frees the string. */
char *cf_mask_json_dumps(const json_t *v);

#endif
