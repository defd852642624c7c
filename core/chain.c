/* SHA-256 links of the per-case event log (OpenSSL's EVP digest, no I/O). */
#include "chain.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

const char cf_chain_genesis[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * SHA-256's implementation, fetched once per process: a digest call given EVP_sha256() fetches
 * it by name each time (a lock and a table lookup, as long as the hashing of a short text).
 * Threads racing to fetch it keep the first; the fetched one lives as long as the process.
 */
static const EVP_MD *sha256(void)
{
    static _Atomic(EVP_MD *) kept;
    EVP_MD *md = atomic_load(&kept), *none = NULL;

    if (md)
        return md;
    if (!(md = EVP_MD_fetch(NULL, "SHA256", NULL)))
        return EVP_sha256();
    if (!atomic_compare_exchange_strong(&kept, &none, md)) {
        EVP_MD_free(md);
        md = none;
    }
    return md;
}

int cf_chain_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int mdlen = 0;
    return EVP_Digest(data, len, out, &mdlen, sha256(), NULL) && mdlen == 32 ? 0 : CF_ENOMEM;
}

int cf_chain_hash(const char *prev, const char *case_no, long long seq, const char *event_id,
                  const char *body, size_t len, const char *state_after, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char seqtext[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *parts[6];
    size_t lens[6];

    if (!ctx)
        return CF_ENOMEM;
    snprintf(seqtext, sizeof seqtext, "%lld", seq);
    parts[0] = prev;
    parts[1] = case_no;
    parts[2] = seqtext;
    parts[3] = event_id;
    parts[4] = body;
    parts[5] = state_after;
    for (int i = 0; i < 6; i++)
        lens[i] = i == 4 ? len : strlen(parts[i]);
    EVP_DigestInit_ex(ctx, sha256(), NULL);
    for (int i = 0; i < 6; i++) {
        /* A separator byte that JSON text and case numbers never contain keeps parts apart. */
        EVP_DigestUpdate(ctx, parts[i], lens[i]);
        EVP_DigestUpdate(ctx, "\x1e", 1);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = "0123456789abcdef"[md[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    out[64] = '\0';
    EVP_MD_CTX_free(ctx);
    return 0;
}
