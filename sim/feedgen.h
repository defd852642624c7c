/*
 * A synthetic filing feed: realistic event envelopes (case.filed, case.corrected,
 * case.withdrawn, payment.received) for demos, tests and load runs, as the filing system and the
 * bank would export them.
 *
 * The generator is pure and deterministic: the same options give the same events, byte for byte
 * once serialised, on every machine.  It uses its own PRNG (xoshiro256** seeded by splitmix64)
 * and its own exponential function, never rand(), the clock or libm, so that neither the C
 * library nor the hardware changes the output.  The only input besides the options is the
 * working-day calendar, which the caller loads.
 *
 * What the feed holds (the shares are options, defaults in brackets):
 *  - case.filed for `cases` cases on the working days of the period, during office hours
 *    08:30-12:00 and 14:00-17:30 at the calendar's offset, with case numbers
 *    (2026)豫0381执N号 running per year and type (执 [90%], 执恢 [6%], 执保 [4%]) in filing order;
 *    people with 18-digit resident identity numbers (ISO 7064 MOD 11-2 check digit) and
 *    companies or agencies with unified social credit codes (GB 32100-2015 check character),
 *    phone numbers and addresses in 偃师区; money claims log-normal within 5,000-2,000,000 yuan,
 *    and claims to an act or to property with amount 0;
 *  - special cases: related (串案, sharing a respondent, with related_cases) [5%], complex [2%],
 *    terminate_candidate [3%]; non-litigation enforcement (非诉执行) [3%];
 *  - incomplete filings [6%]: the filing lacks the delivery address (and sometimes the phone)
 *    of a respondent, which the schema allows but the intake check catches; every party of a
 *    complete filing has both.  A case.corrected with the complete respondents follows 1-5
 *    working days later;
 *  - withdrawals [4%]: case.withdrawn 7-60 days after the filing, on a working day;
 *  - voluntary payments [3% of `cases`]: payment.received keyed PAY-<year>-<NNNNNN>, source
 *    "bank", whose remark carries the number of the judgment and the payer's name, sometimes
 *    misspelt (one wrong character in the name, full-width parentheses, or no 号).
 * Events come in time order (ties in a fixed order) with ids "gen-<seed>-<n>", n counting from
 * 1 in that order.
 */
#ifndef CF_FEEDGEN_H
#define CF_FEEDGEN_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "core/caltime.h"

/* At most this many cases per run: sequence numbers have at most six digits. */
#define CF_FEEDGEN_MAX_CASES 500000L
/* At most this many days in the filing period. */
#define CF_FEEDGEN_MAX_DAYS 3660

typedef struct cf_feedgen_opts {
    long cases;                  /* number of case.filed events, 1..CF_FEEDGEN_MAX_CASES */
    uint64_t seed;               /* any value; equal seeds give equal feeds */
    cf_date start;               /* first day of the filing period */
    int days;                    /* length of the period, 1..CF_FEEDGEN_MAX_DAYS */
    const char *court;           /* court code of the cases, e.g. "豫0381" (borrowed) */
    const cf_calendar *calendar; /* working days (borrowed); NULL means Monday-Friday */

    /* Shares, each a probability in [0, 1] drawn independently per case. */
    double share_resumed;        /* case type 执恢 */
    double share_preservation;   /* case type 执保 */
    double share_related;        /* special "related" with related_cases */
    double share_complex;        /* special "complex" */
    double share_terminate;      /* special "terminate_candidate" */
    double share_non_litigation; /* non_litigation: an agency's administrative decision */
    double share_corrected;      /* incomplete filing followed by case.corrected */
    double share_withdrawn;      /* case.withdrawn later */
    double share_payments;       /* one voluntary payment per case drawn (half of them for a
                                  * case already filed, the others for a judgment) */
    double share_misspelt;       /* payment remarks with a wrong character in the name */
} cf_feedgen_opts;

/* Fills `o` with the defaults: 2,000 cases, seed 1, from 2026-03-02 for 30 days, court 豫0381,
 * no calendar, and the shares listed above. */
void cf_feedgen_defaults(cf_feedgen_opts *o);

/*
 * Called once per event, in time order.  `event` is borrowed: it is freed after the call
 * returns (take a reference with json_incref to keep it).  A non-zero return stops the run,
 * and cf_feedgen_run returns that value.
 */
typedef int (*cf_feedgen_emit_fn)(const json_t *event, void *arg);

/*
 * Generates the feed described by `o` and hands each event to `emit`.
 *
 * Returns 0; CF_EINVAL with the option named in `err` when an option is out of bounds or the
 * period has no working day; CF_ENOMEM; or the non-zero value `emit` returned.  Memory use is
 * under 200 bytes per case: events are built one at a time as they are emitted.
 */
int cf_feedgen_run(const cf_feedgen_opts *o, cf_feedgen_emit_fn emit, void *arg, char *err,
                   size_t errsz) CF_MUST_CHECK;

/* The flags for json_dumps that give the feed's canonical line: compact, amounts with cents
 * written as 1234.5 rather than in binary noise. */
#define CF_FEEDGEN_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

#endif
