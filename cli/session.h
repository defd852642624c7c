/* What the commands that read the database share: the configuration, one connection, and the
 * court's time zone. */
#ifndef CF_SESSION_H
#define CF_SESSION_H

#include <libpq-fe.h>
#include <stddef.h>

#include "base/config.h"
#include "engine/registry.h"

/*
 * Loads the configuration (the file named by CASEFLOW_CONFIG, then the environment) into `cfg`
 * and connects to its PostgreSQL.  Returns the connection (the caller closes it with PQfinish),
 * or NULL after printing why on stderr, prefixed by `who` ("caseflow stats").  The caller frees
 * `cfg` with cf_config_free in either case.
 */
PGconn *cf_cli_connect(cf_config *cfg, const char *who);

/* Closes what cf_cli_connect opened: the connection `db` (NULL: none) and the configuration. */
void cf_cli_disconnect(PGconn *db, cf_config *cfg);

/*
 * Loads the workflows `cfg` names (found by cf_path_find) into `reg`.  Returns 0, or 1 after
 * printing why on stderr, prefixed by `who`; on success the caller frees `reg` with
 * cf_registry_free.
 */
int cf_cli_workflows(const cf_config *cfg, cf_registry *reg, const char *who);

/* Returns 1 when some workflow of `reg` declares `post`, else 0 with the declared posts,
 * comma-separated, in `known`. */
int cf_cli_post_declared(const cf_registry *reg, const char *post, char *known, size_t n);

/*
 * Writes the canonical form of the case number a user typed (cf_caseno_normalize:
 * （2026）豫0381执７号 is (2026)豫0381执7号) into buf of n bytes, so that every command finds a
 * case however its number is written.  Returns buf, or NULL after printing why on stderr, prefixed
 * by `who`.
 */
const char *cf_cli_case_no(const char *typed, char *buf, size_t n, const char *who);

/*
 * The court's offset from UTC in minutes: that of the calendar of the configured workflows (the
 * engine's clock uses the first's, as this does).  Returns 0, or 1 after printing why the
 * workflows could not be loaded, prefixed by `who`.
 */
int cf_cli_utc_offset(const cf_config *cfg, const char *who, int *offset);

#endif
