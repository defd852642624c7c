/*
 * The command center report (docs/report.md): what the command center did, from the database
 * alone — cases per state and closing method, tasks per post, batches, reminders, documents, the
 * monthly archive ledgers, the slowest stages, dead letters, and the cases per state day by day
 * for the chart.  `caseflow report` prints it as tables, JSON and a chart; `GET /api/v1/report`
 * answers it as JSON.  Both call these functions, so the two cannot disagree.
 */
#ifndef CF_REPORT_H
#define CF_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "base/err.h"
#include "engine/registry.h"

/* The workflow whose states the report's chart shows. */
#define CF_REPORT_CHART_WORKFLOW "enforcement_case"

/* The size of a buffer that holds a bound of the period as cf_report_bound writes it. */
enum { CF_REPORT_BOUND_BUFSZ = 64 };

/*
 * Turns the text a user gave for one end of the period into timestamptz text for
 * cf_report_build: a day (YYYY-MM-DD) is its midnight in the court's zone, and as the end of the
 * period (`until` non-zero) a day is taken in whole (the period ends at the next midnight);
 * anything else must be an ISO 8601 time with its offset.  Returns 0 with `out` (n bytes,
 * CF_REPORT_BOUND_BUFSZ is enough) filled, or CF_EINVAL with "'VALUE' is not a day (YYYY-MM-DD)
 * or an ISO 8601 time: why" in `err`.
 */
int cf_report_bound(const char *value, int until, char *out, size_t n, char *err,
                    size_t errsz) CF_MUST_CHECK;

/*
 * Builds the report of the period [since, until) (timestamptz text from cf_report_bound; NULL
 * leaves that end open): every number is computed by PostgreSQL, one parameterized query per
 * section, and the titles of workflows, states, posts and task kinds come from the definitions
 * in `reg` (rows of a workflow it lacks get a null title).  The sections are read in one
 * read-only snapshot, so a report taken while the engine works is consistent.  Returns 0 with the
 * report in *out (one JSON object, a new reference; its members are those of
 * `caseflow report --json`), or CF_EDB (the section whose query failed, said in `err`) or
 * CF_ENOMEM with *out NULL.  `db` must not be inside a transaction; it is left outside one.
 * With `court` (not NULL) the cases, tasks and events counted are that court's alone (`home`:
 * the court of keys that name none, engine/cases.h); the dead letters and duplicates stay the
 * installation's.
 */
int cf_report_build(PGconn *db, const cf_registry *reg, const char *since, const char *until,
                    const char *court, const char *home, json_t **out, char *err,
                    size_t errsz) CF_MUST_CHECK;

/* The first loaded workflow named `name` of `reg` (for its titles), or NULL. */
const cf_workflow *cf_report_workflow(const cf_registry *reg, const char *name);

#endif
