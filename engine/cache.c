/*
 * The LRU case cache: an open hash table with linear probing (deletion shifts
 * the following entries back, so there are no tombstones), and a doubly linked
 * recency list.
 */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key;
    cf_cached v;
    struct entry *prev, *next; /* recency: head is the most recent */
} entry;

struct cf_cache {
    entry **slots; /* NULL, or an entry */
    size_t nslots, count, limit;
    entry *head, *tail;
};

static size_t hash_key(const char *s)
{
    size_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

cf_cache *cf_cache_new(size_t limit)
{
    cf_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->limit = limit;
    /* At most half full, so that probing stays short. */
    c->nslots = 16;
    while (c->nslots < limit * 2 + 2)
        c->nslots *= 2;
    c->slots = calloc(c->nslots, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

static size_t find_slot(const cf_cache *c, const char *key, int *found)
{
    size_t i = hash_key(key) & (c->nslots - 1);
    for (;;) {
        entry *e = c->slots[i];
        if (!e) {
            *found = 0;
            return i;
        }
        if (strcmp(e->key, key) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & (c->nslots - 1);
    }
}

/* Empties slot `i` and moves back the entries after it that would no longer be found. */
static void remove_slot(cf_cache *c, size_t i)
{
    size_t mask = c->nslots - 1, j = i;
    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (!c->slots[j])
            break;
        k = hash_key(c->slots[j]->key) & mask;
        /* Entry j may move to i when its home k is not cyclically inside (i, j]. */
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            c->slots[i] = c->slots[j];
            i = j;
        }
    }
    c->slots[i] = NULL;
}

static void unlink_entry(cf_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(cf_cache *c, entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(cf_cache *c, entry *e)
{
    int found;
    size_t i = find_slot(c, e->key, &found);
    if (found)
        remove_slot(c, i);
    unlink_entry(c, e);
    json_decref(e->v.state);
    free(e->key);
    free(e);
    c->count--;
}

const cf_cached *cf_cache_get(cf_cache *c, const char *case_no)
{
    int found;
    size_t i;
    entry *e;

    if (c->limit == 0)
        return NULL;
    i = find_slot(c, case_no, &found);
    if (!found)
        return NULL;
    e = c->slots[i];
    unlink_entry(c, e);
    push_front(c, e);
    return &e->v;
}

static void set_value(entry *e, json_t *state, const char *head_hash, cf_time created_at)
{
    json_incref(state);
    json_decref(e->v.state);
    e->v.state = state;
    snprintf(e->v.hash, sizeof e->v.hash, "%s", head_hash);
    e->v.created_at = created_at;
}

void cf_cache_put(cf_cache *c, const char *case_no, json_t *state, const char *head_hash,
                  cf_time created_at)
{
    int found;
    size_t i;
    entry *e;

    if (c->limit == 0)
        return;
    i = find_slot(c, case_no, &found);
    if (found) {
        e = c->slots[i];
        set_value(e, state, head_hash, created_at);
        unlink_entry(c, e);
        push_front(c, e);
        return;
    }
    if (c->count >= c->limit) {
        drop(c, c->tail);
        i = find_slot(c, case_no, &found);
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(case_no))) {
        free(e);
        return;
    }
    set_value(e, state, head_hash, created_at);
    c->slots[i] = e;
    push_front(c, e);
    c->count++;
}

void cf_cache_clear(cf_cache *c)
{
    while (c->head)
        drop(c, c->head);
    memset(c->slots, 0, c->nslots * sizeof *c->slots);
}

size_t cf_cache_size(const cf_cache *c)
{
    return c->count;
}

void cf_cache_free(cf_cache *c)
{
    if (!c)
        return;
    cf_cache_clear(c);
    free(c->slots);
    free(c);
}
