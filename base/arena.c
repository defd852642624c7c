/* The bump allocator: blocks chained in a list, freed together. */
#include "arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_SIZE = 16384 };

struct block {
    struct block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

struct cf_arena {
    struct block *head;
};

cf_arena *cf_arena_new(void)
{
    return calloc(1, sizeof(cf_arena));
}

void cf_arena_free(cf_arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *cf_arena_alloc(cf_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    struct block *b = a->head;
    void *p;

    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    if (!b || b->size - b->used < size) {
        size_t cap = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = cap;
        /* A block made for one large request goes behind the current one, so the space left in
         * the current block is not wasted. */
        if (a->head && cap > BLOCK_SIZE) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *cf_arena_strdup(cf_arena *a, const char *s)
{
    size_t n;
    char *p;
    if (!s)
        return NULL;
    n = strlen(s) + 1;
    p = cf_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}
