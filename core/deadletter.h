/*
 * The dead-letter message: what goes to <prefix>.dlq when the engine or a worker refuses a
 * message it consumed.  One constructor for both, so that whoever reads the topic finds the same
 * shape from either (and the reason beside the original bytes, never a silent skip).
 */
#ifndef CF_DEADLETTER_H
#define CF_DEADLETTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many bytes of the refused message travel in the dead letter. */
enum { CF_DEADLETTER_ORIGINAL_MAX = 256 * 1024 };

/*
 * Returns a new dead-letter object for the message at `topic`/`partition`@`offset` whose
 * `len` bytes are `payload` (may be NULL), refused for `reason`:
 *   { "id": "dlq:<topic>:<partition>:<offset>", "reason", "topic", "partition", "offset",
 *     "size", "event_id"?, "case"?, "original" (UTF-8 text) | "original_base64", "truncated"? }
 * The original is cut at CF_DEADLETTER_ORIGINAL_MAX bytes (at a character boundary when it is
 * text).  `reason` is copied and cut to 1 KiB at a character boundary.  `event_id` and `case_no`
 * may be NULL.  NULL only when memory runs out.
 */
json_t *cf_deadletter_new(const char *topic, int32_t partition, int64_t offset, const void *payload,
                          size_t len, const char *reason, const char *event_id,
                          const char *case_no);

#endif
