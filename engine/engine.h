/*
 * `caseflow engine`: the long-running process that turns the event stream
 * into case state.  It consumes caseflow.events in batches, applies each event
 * with the pure transition function, and commits the new states, the event
 * log, timers, tasks, outbox rows and the batch's consumer offsets in one
 * PostgreSQL transaction per batch; then it publishes the outbox.  See
 * ARCHITECTURE.md for the shape and docs/engine.md for operations.
 */
#ifndef CF_ENGINE_H
#define CF_ENGINE_H

#include <signal.h>

#include "base/config.h"
#include "engine/registry.h"

/*
 * Runs until `*stop` becomes non-zero (SIGTERM/SIGINT), then finishes the
 * batch at hand, commits, flushes the outbox and returns 0.  `migrations` is the
 * folder of SQL migrations that the database must have (`caseflow db migrate`
 * applies them as the owner; the engine only checks).  Returns a negative code
 * with the reason in `err` when it cannot start (bad configuration, a schema
 * behind the migrations, no database after retries).
 */
int cf_engine_run(const cf_config *cfg, const cf_registry *reg, const char *migrations,
                  volatile sig_atomic_t *stop, char *err, size_t errsz) CF_MUST_CHECK;

#endif
