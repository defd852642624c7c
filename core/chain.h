/*
 * The hash chain of a case's event log.  Each event's hash covers the hash
 * before it, the case number, its sequence number, its id, the event envelope
 * exactly as it is stored (the bytes that came off the bus, kept verbatim in a
 * `json` column) and the state it led to, so that changing, removing or
 * reordering any stored event breaks every hash after it.  Hashing the stored
 * bytes rather than a re-rendering is what lets an auditor recompute the hash
 * from the database alone: a rendering of `1.0E7` by one JSON library and by
 * PostgreSQL's jsonb are not the same bytes.
 */
#ifndef CF_CHAIN_H
#define CF_CHAIN_H

#include <stddef.h>

/* The hash before a case's first event: 64 zeros. */
extern const char cf_chain_genesis[65];

/*
 * Writes the SHA-256 (64 hex digits and a NUL) of the link into `out`.
 * `prev` is the previous event's hash (cf_chain_genesis for the first);
 * `body` is the stored envelope, `len` bytes (it may hold no NUL).
 * Returns 0, or CF_ENOMEM.
 */
int cf_chain_hash(const char *prev, const char *case_no, long long seq, const char *event_id,
                  const char *body, size_t len, const char *state_after, char out[65]);

/* The SHA-256 of `len` bytes at `data` into `out`; 0, or CF_ENOMEM. */
int cf_chain_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
