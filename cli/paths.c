/* Locating data files: the current folder first, then the source tree of the build, then the
 * install prefix's share/caseflow (where `cmake --install` puts workflows, schemas and web/). */
#include "paths.h"

#include <stdio.h>
#include <unistd.h>

#ifndef CF_SOURCE_DIR
#define CF_SOURCE_DIR "."
#endif
#ifndef CF_DATA_DIR
#define CF_DATA_DIR "/usr/local/share/caseflow"
#endif

const char *cf_path_find(const char *rel, char *out, size_t n)
{
    if (rel[0] == '/' || access(rel, F_OK) == 0) {
        snprintf(out, n, "%s", rel);
        return out;
    }
    snprintf(out, n, "%s/%s", CF_DATA_DIR, rel);
    if (access(out, F_OK) == 0) {
        char source[4096];
        /* The source tree wins while it has the file, so that a build uses what it was built
         * from. */
        snprintf(source, sizeof source, "%s/%s", CF_SOURCE_DIR, rel);
        if (access(source, F_OK) == 0)
            snprintf(out, n, "%s", source);
        return out;
    }
    /* Nowhere: the message that follows names the source tree's path. */
    snprintf(out, n, "%s/%s", CF_SOURCE_DIR, rel);
    return out;
}
