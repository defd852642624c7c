/*
 * The engine's memory of case states: a bounded LRU cache from case number to
 * the case's state and the hash at the head of its event log, so that a hot
 * case is not read back from PostgreSQL for every event.  The database stays
 * the truth: the cache is emptied whenever the engine is not sure it is.
 */
#ifndef CF_CACHE_H
#define CF_CACHE_H

#include <jansson.h>
#include <stddef.h>

#include "core/caltime.h"

typedef struct cf_cache cf_cache;

/* What the cache keeps of a case: its state, the hash at the head of its log, when it was made
 * (created_at stays out of the state object: the machine copies that object into the next state
 * and so into cases.body, where replay would not find it). */
typedef struct cf_cached {
    json_t *state; /* held by the cache */
    char hash[65];
    cf_time created_at;
} cf_cached;

/* A cache of at most `limit` cases (0 keeps none).  NULL when memory runs out. */
cf_cache *cf_cache_new(size_t limit);
void cf_cache_free(cf_cache *c);

/* What the cache holds of `case_no` (borrowed until the next put or clear), or NULL. */
const cf_cached *cf_cache_get(cf_cache *c, const char *case_no);

/* Stores a case's state (the cache takes a new reference), head hash and creation time,
 * evicting the least recently used case when full.  When memory runs out the case is simply
 * not cached (the database has it). */
void cf_cache_put(cf_cache *c, const char *case_no, json_t *state, const char *head_hash,
                  cf_time created_at);

void cf_cache_clear(cf_cache *c);
size_t cf_cache_size(const cf_cache *c);

#endif
