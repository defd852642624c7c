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

typedef struct cf_cache cf_cache;

/* A cache of at most `limit` cases (0 keeps none).  NULL when memory runs out. */
cf_cache *cf_cache_new(size_t limit);
void cf_cache_free(cf_cache *c);

/* The cached state of `case_no` (borrowed) and its head hash (65 bytes), or NULL. */
json_t *cf_cache_get(cf_cache *c, const char *case_no, char head_hash[65]);

/* Stores a state (the cache takes a new reference) and head hash, evicting the least recently
 * used case when full. */
void cf_cache_put(cf_cache *c, const char *case_no, json_t *state, const char *head_hash);

void cf_cache_clear(cf_cache *c);
size_t cf_cache_size(const cf_cache *c);

#endif
