/*
 * Adapters: the one way a worker reaches an outside system (the 总对总 network,
 * the registry offices, the auction platform, ...).  Each adapter is either
 * the built-in simulator, deterministic from the case number, the operation
 * and a seed, or an HTTP client (libcurl) that POSTs the request as JSON to
 * `<url>/<operation>` and reads a JSON object back.
 *
 * A handler builds a request object and calls cf_adapter_call; it never
 * knows which of the two answers.  One adapter serves every thread of a
 * worker process at once.
 * The simulator is sim/outside.c; sim/outside.h says what it reads of a request and answers.
 */
#ifndef CF_ADAPTER_H
#define CF_ADAPTER_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "sim/outside.h"

typedef struct cf_adapter cf_adapter;

enum cf_adapter_type { CF_ADAPTER_SIMULATOR, CF_ADAPTER_HTTP };

typedef struct cf_adapter_options {
    const char *name;             /* the outside system, for messages (the worker kind) */
    enum cf_adapter_type type;    /* simulator or HTTP */
    const char *url;              /* HTTP: the base URL */
    int timeout_ms;               /* HTTP: the limit for one call */
    unsigned long long seed;      /* simulator: the same seed gives the same answers */
    int latency_ms, jitter_ms;    /* simulator: mean latency and its spread either way */
    int weights[CF_SIM_OUTCOMES]; /* simulator: found, nothing, error, timeout in percent */
} cf_adapter_options;

/*
 * Makes an adapter from `opt` (copied).  Returns 0 and the adapter in `*out`
 * (free with cf_adapter_free), or CF_EINVAL when the options do not fit
 * (weights not adding up to 100, an HTTP adapter without a URL), or CF_ENOMEM.
 */
int cf_adapter_new(const cf_adapter_options *opt, cf_adapter **out, char *err,
                   size_t errsz) CF_MUST_CHECK;

/*
 * Performs `operation` with `request` (borrowed).  Returns 0 and the answer in
 * `*response` (a JSON object, new reference); CF_ETIMEOUT or CF_EIO when the
 * outside system timed out, failed or could not be reached (worth another try
 * later); any other code when it refused the request (CF_EINVAL for an HTTP 4xx,
 * CF_EPARSE for an answer that is not a JSON object).  `err` says why, without
 * the request's personal data.  Safe to call from several threads at once.
 */
int cf_adapter_call(cf_adapter *a, const char *operation, const json_t *request, json_t **response,
                    char *err, size_t errsz) CF_MUST_CHECK;

/*
 * One trip of a batched kind (a registry office, a month's ledger): performs `operation` with
 * {group_key: group, "case": first_case, "trip", "attempt", "cases": cases}, where the trip's
 * name is made of the group, the first case and the number of cases (the simulator draws a trip's
 * failures from it).  `cases` is stolen.  Returns as cf_adapter_call.
 */
int cf_adapter_trip(cf_adapter *a, const char *operation, const char *group_key, const char *group,
                    const char *first_case, int attempt, json_t *cases, json_t **response,
                    char *err, size_t errsz) CF_MUST_CHECK;

/* The answer about `case_no` in a trip's response ({"results": [{"case", ...}]}), or NULL. */
const json_t *cf_adapter_result_for(const json_t *response, const char *case_no);

/* Makes calls in progress and later ones end soon with CF_ETIMEOUT (for a stopping worker). */
void cf_adapter_cancel(cf_adapter *a);

void cf_adapter_free(cf_adapter *a);

/* The simulator's draw (cf_sim_draw, sim/outside.h), for handlers that need more simulated
 * detail of their own and for tests. */
double cf_adapter_draw(unsigned long long seed, const char *a, const char *b, const char *c,
                       long n);

#endif
