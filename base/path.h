/*
 * Where caseflow's data files are: the workflows, calendars, document templates, event schemas,
 * SQL migrations, the OpenAPI document and web/, for every command, the workers and the server.
 */
#ifndef CF_PATH_H
#define CF_PATH_H

#include <stddef.h>

#include "err.h"

/*
 * Names the data folder of the configuration (data_dir, CASEFLOW_DATA_DIR) for every later
 * cf_path_find in this process; NULL or "" names none.  cf_config_load calls it, so that the
 * last configuration loaded decides.  The text is copied.  Returns 0, or CF_ERANGE when it is
 * longer than PATH_MAX (then no folder is named).
 */
int cf_path_set_data_dir(const char *dir) CF_MUST_CHECK;

/*
 * Writes into `out` (`n` bytes) the data folder that names below it are looked up in:
 *   1. the folder of the configuration (cf_path_set_data_dir), when one is named;
 *   2. in a build tree (the executable's folder holds the file `caseflow-source-dir` that the
 *      build writes): the source tree that file names;
 *   3. else the install prefix's data folder, found from the executable's own place:
 *      <folder of /proc/self/exe>/../share/caseflow (CF_DATADIR_REL), so that an installed or
 *      moved tree finds its own data and never the source tree it was built from.
 * Returns `out`, or NULL when the executable cannot be found or the path does not fit.
 */
const char *cf_path_data_dir(char *out, size_t n);

/*
 * Writes into `out` (`n` bytes) where the data file or folder `rel` is
 * ("workflows/enforcement_case.yaml", "schemas/sql", "web"): `rel` itself when it is absolute
 * or exists from the current folder (an operator's own file wins), else `rel` below
 * cf_path_data_dir, whether it exists there or not, so that the error that follows names the
 * place it was looked for.  Returns `out`; when the path does not fit, `out` is "" (which
 * names no file) rather than a shortened path that could name another.
 */
const char *cf_path_find(const char *rel, char *out, size_t n);

#endif
