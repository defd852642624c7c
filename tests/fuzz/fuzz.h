/*
 * What the libFuzzer targets share: the entry point's prototype, a check that stops the fuzzer
 * with a stack whatever the build's assert setting, the source tree's data files (the court's
 * workflow, calendar and schemas), and the shape of a "file:line:column: what" message.
 * tests/fuzz/regress.c feeds the same entry points the kept inputs in the sanitizer build.
 */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A unit test that includes a target's source may not define where the source tree is. */
#ifndef CF_FUZZ_SOURCE_DIR
#define CF_FUZZ_SOURCE_DIR "."
#endif

/* A broken promise must stop the fuzzer with a stack, whatever the build's assert setting. */
#define FUZZ_CHECK(cond) \
    do {                 \
        if (!(cond))     \
            abort();     \
    } while (0)

/* The path of `rel` in the source tree: $CASEFLOW_SOURCE_DIR (as ctest sets it) or the tree the
 * target was built from.  Returns buf. */
static inline const char *fuzz_source_path(const char *rel, char *buf, size_t n)
{
    const char *root = getenv("CASEFLOW_SOURCE_DIR");
    snprintf(buf, n, "%s/%s", root && *root ? root : CF_FUZZ_SOURCE_DIR, rel);
    return buf;
}

/* A message about the text called `name` must name it, then a line and a column from 1. */
static inline void fuzz_check_position(const char *err, const char *name)
{
    size_t k = strlen(name);
    long line = 0, col = 0;

    FUZZ_CHECK(strncmp(err, name, k) == 0 && err[k] == ':');
    FUZZ_CHECK(sscanf(err + k + 1, "%ld:%ld:", &line, &col) == 2 && line >= 1 && col >= 1);
}

/* A copy of the input with a NUL after it (the caller frees), or NULL when memory runs out. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
