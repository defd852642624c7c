/*
 * `caseflow serve`: the workplace API (docs/api.md).  An HTTP/1.1 server on libmicrohttpd, one
 * thread per connection, JSON under /api/v1/, accounts and sessions in PostgreSQL, events sent
 * through Kafka.  Several servers can run side by side against one database: they share nothing
 * but PostgreSQL and Kafka.
 */
#ifndef CF_SERVER_H
#define CF_SERVER_H

#include <signal.h>

#include "base/config.h"
#include "engine/registry.h"

/*
 * Serves until `*stop` becomes non-zero, then stops taking connections, lets the requests at
 * hand finish (up to 10 s) and returns 0.  `openapi` is the path of the OpenAPI document to
 * serve, `web` the folder of the web workplace served under / (a missing folder is a warning:
 * the API serves without it).  `on_listen`, when not NULL, is called once with the bound address
 * and port.  Returns a negative code with the reason in `err` when it cannot start.
 */
int cf_server_run(const cf_config *cfg, const cf_registry *reg, const char *openapi,
                  const char *web, void (*on_listen)(const char *address, int port),
                  volatile sig_atomic_t *stop, char *err, size_t errsz) CF_MUST_CHECK;

#endif
