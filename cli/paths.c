/* Locating data files: the current folder first, then the source tree of the build. */
#include "paths.h"

#include <stdio.h>
#include <unistd.h>

#ifndef CF_SOURCE_DIR
#define CF_SOURCE_DIR "."
#endif

const char *cf_path_find(const char *rel, char *out, size_t n)
{
    if (rel[0] == '/' || access(rel, F_OK) == 0)
        snprintf(out, n, "%s", rel);
    else
        snprintf(out, n, "%s/%s", CF_SOURCE_DIR, rel);
    return out;
}
