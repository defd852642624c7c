/* The dead-letter message of the engine and the workers: the reason beside the original bytes. */
#include "core/deadletter.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "core/message.h"

/* The original as JSON text when it is UTF-8 without NUL (which few JSON readers take, even
 * escaped), bar a character cut at the limit; otherwise NULL, and it travels as base64. */
static json_t *original_text(const char *payload, size_t len, size_t whole_len)
{
    size_t whole = cf_utf8_whole(payload, len);
    if (memchr(payload, '\0', len) || !(whole == len || (len < whole_len && len - whole < 4)))
        return NULL;
    return json_stringn(payload, whole);
}

static json_t *original_base64(const void *payload, size_t len)
{
    unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    json_t *s;
    if (!b64)
        return NULL;
    EVP_EncodeBlock(b64, payload, (int)len);
    s = json_string((char *)b64);
    free(b64);
    return s;
}

json_t *cf_deadletter_new(const char *topic, int32_t partition, int64_t offset, const void *payload,
                          size_t len, const char *reason, const char *event_id, const char *case_no)
{
    char id[512], why[1024];
    size_t kept = len < CF_DEADLETTER_ORIGINAL_MAX ? len : CF_DEADLETTER_ORIGINAL_MAX;
    json_t *dl, *original;

    snprintf(why, sizeof why, "%s", reason);
    cf_utf8_clip(why);
    cf_msg_dlq_id(topic, (int)partition, (long long)offset, id, sizeof id);
    dl = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s?, s:s?}", "id", id, "reason", why, "topic",
                   topic, "partition", (int)partition, "offset", (json_int_t)offset, "size",
                   (json_int_t)len, "event_id", event_id, "case", case_no);
    if (!dl || !payload)
        return dl;
    if ((original = original_text(payload, kept, len)) != NULL)
        json_object_set_new(dl, "original", original);
    else if ((original = original_base64(payload, kept)) != NULL)
        json_object_set_new(dl, "original_base64", original);
    else
        goto fail;
    if (kept < len)
        json_object_set_new(dl, "truncated", json_true());
    return dl;
fail:
    json_decref(dl);
    return NULL;
}
