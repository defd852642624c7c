/* What the commands that read the database share: the configuration and one connection. */
#ifndef CF_SESSION_H
#define CF_SESSION_H

#include <libpq-fe.h>

#include "base/config.h"

/*
 * Loads the configuration (the file named by CASEFLOW_CONFIG, then the environment) into `cfg`
 * and connects to its PostgreSQL.  Returns the connection (the caller closes it with PQfinish),
 * or NULL after printing why on stderr, prefixed by `who` ("caseflow stats").  The caller frees
 * `cfg` with cf_config_free in either case.
 */
PGconn *cf_cli_connect(cf_config *cfg, const char *who);

#endif
