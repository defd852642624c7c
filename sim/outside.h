/*
 * The simulator of the outside systems a worker reaches (the 总对总 network, the registry
 * offices, the auction platform, ...), for demos, tests and load runs: deterministic answers
 * drawn from a hash of a seed, the case number and the operation, with configurable latency and
 * outcomes.  Workers reach it through their adapter (workers/adapter.h), never directly.
 *
 * The simulator reads these members of the request:
 *   "case"        the case number (its draws are keyed by it);
 *   "trip"        names a trip of many cases (latency and failure are drawn per trip;
 *                 without it, per case);
 *   "attempt"     the try (1, 2, ...): failures are drawn per try, what exists is not;
 *   "category"    what is looked for ("deposits", "vehicles", ...) in a single lookup;
 *   "categories"  an array of them: one answer per category;
 *   "cases"       an array of {"case", "category"}: one trip for many cases; an entry that names
 *                 its "item" (a service item: one party's documents) is a delivery, answered
 *                 {"case", "item", "outcome": "served" | "unreachable", "method"};
 *   "reserve"     an auction round's reserve: a sale goes for it or up to 30 % above.
 * It answers {"case", "found", "items"}, {"case", "categories": {cat: {"found", "items"}}} or
 * {"results": [{"case", "category", "found", "items"}, ...]}.  A trip of many cases fails or
 * times out as a whole.
 */
#ifndef CF_SIM_OUTSIDE_H
#define CF_SIM_OUTSIDE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "base/err.h"

/* Outcome weights of the simulator, in percent; they add up to 100. */
enum { CF_SIM_FOUND, CF_SIM_NOTHING, CF_SIM_ERROR, CF_SIM_TIMEOUT, CF_SIM_OUTCOMES };

/* The simulated outside system: what it is called, its seed, its latency and outcomes. */
typedef struct cf_sim_world {
    const char *name;             /* for messages */
    unsigned long long seed;      /* the same seed gives the same answers */
    int latency_ms, jitter_ms;    /* mean latency and its spread either way */
    int weights[CF_SIM_OUTCOMES]; /* found, nothing, error, timeout in percent */
    const atomic_int *cancelled;  /* when set, calls end soon with CF_ETIMEOUT; NULL: never */
} cf_sim_world;

/*
 * Answers `operation` with `req` (borrowed) as the simulated system would, after its latency.
 * Returns 0 and the answer in `*response` (new reference); CF_ETIMEOUT or CF_EIO for a simulated
 * timeout or failure (or a cancellation); CF_EINVAL when the request names no case; CF_ENOMEM.
 * Safe to call from several threads at once.
 */
int cf_sim_call(const cf_sim_world *w, const char *operation, const json_t *req, json_t **response,
                char *err, size_t errsz) CF_MUST_CHECK;

/*
 * The simulator's draw: a number in [0, 1) that depends only on `seed` and the texts `a`, `b`,
 * `c` (any may be NULL) and `n`.
 */
double cf_sim_draw(unsigned long long seed, const char *a, const char *b, const char *c, long n);

#endif
