/*
 * A bump allocator for data that lives and dies together (a loaded workflow):
 * many small allocations, one free.  Not thread-safe; nothing in it is freed
 * on its own.
 */
#ifndef CF_ARENA_H
#define CF_ARENA_H

#include <stddef.h>

typedef struct cf_arena cf_arena;

/* Returns a new, empty arena, or NULL when memory runs out. */
cf_arena *cf_arena_new(void);

/* Frees the arena and everything allocated from it. */
void cf_arena_free(cf_arena *a);

/* Returns `size` zeroed bytes aligned for any type, owned by the arena, or NULL when memory runs
 * out. */
void *cf_arena_alloc(cf_arena *a, size_t size);

/* Returns a copy of `s` owned by the arena (NULL for NULL or when memory runs out). */
char *cf_arena_strdup(cf_arena *a, const char *s);

#endif
