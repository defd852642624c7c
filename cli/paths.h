/* Finding the project's data files (workflows, schemas, migrations, web/) from a command. */
#ifndef CF_PATHS_H
#define CF_PATHS_H

#include <stddef.h>

/*
 * Writes into `out` where `rel` is: itself when it is absolute or exists from
 * the current folder, else the same path below the source tree caseflow was
 * built from, else below the install prefix's share/caseflow when it is there.
 * Returns `out`.
 */
const char *cf_path_find(const char *rel, char *out, size_t n);

#endif
