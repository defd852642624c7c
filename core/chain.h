/*
 * The hash chain of a case's event log.  Each event's hash covers the hash
 * before it, the case number, its sequence number, its id, the event envelope
 * in canonical form (keys sorted, compact) and the state it led to, so that
 * changing, removing or reordering any stored event breaks every hash after it.
 */
#ifndef CF_CHAIN_H
#define CF_CHAIN_H

#include <jansson.h>

/* The hash before a case's first event: 64 zeros. */
extern const char cf_chain_genesis[65];

/*
 * Writes the SHA-256 (64 hex digits and a NUL) of the link into `out`.
 * `prev` is the previous event's hash (cf_chain_genesis for the first).
 * Returns 0, or CF_ENOMEM.
 */
int cf_chain_hash(const char *prev, const char *case_no, long long seq, const char *event_id,
                  const json_t *envelope, const char *state_after, char out[65]);

#endif
