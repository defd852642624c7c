/*
 * Matching a voluntary payment (自动履行案款) to its case by the payer's remark and name: the
 * pure part of the `payments` worker (workers/kind_payments.c), which reads the candidate cases
 * from PostgreSQL and hands them in.  No I/O, no clock.
 *
 * Scoring (docs/payments.md has the table with examples).  A remark is normalized first:
 * full-width and half-width brackets （）〔〕【】［］[] become ( ), full-width digits ０-９ become
 * 0-9, spaces go.  Every case-number-like fragment of it ("(2026)豫0381执1234号",
 * "2026豫0381执1234", "执1234号", "(2025)豫0381民初567号") is a token of year, court, type and
 * sequence; a token without a court gets the court's own code.  Against each candidate:
 *
 *   case number (the best token, against the case's number or the judgment it enforces)
 *     70  the case's number, every part as written
 *     60  the case's number with the court code left out, or the judgment's number
 *     50  the case's number within one typo (edit distance 1 on year+court+type+sequence)
 *     40  the judgment's number within one typo
 *     30  only type and sequence ("执1234号"), no year
 *   party (the best of)
 *     30  the payer is a respondent (被执行人) of the case
 *     25  a respondent's name is in the remark
 *     15  the payer's name is within one typo of a respondent's (names of 3 characters or more)
 *
 * The confidence is the sum, at most 100.  A match is **sure** — applied without a person — when
 * the best candidate has at least 80, every other candidate at least 30 less, and the remark
 * names no more than one case number (a payment for several cases is split by the clerk).
 */
#ifndef CF_PAYMATCH_H
#define CF_PAYMATCH_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"

/* A case the payment may belong to, as the worker read it.  Every string is borrowed. */
typedef struct cf_paycase {
    const char *case_no;            /* "(2026)豫0381执1234号" */
    const char *basis_no;           /* the judgment it enforces (执行依据), or NULL */
    const char *const *respondents; /* the respondents' names */
    size_t nrespondents;
} cf_paycase;

/* One proposal: a candidate with its confidence and what it rests on. */
typedef struct cf_paymatch {
    size_t index;                       /* into the candidates handed in */
    const char *case_no;                /* the candidate's (borrowed from it) */
    int confidence;                     /* 0 .. 100 */
    int number, party;                  /* the two parts of it */
    const char *number_why, *party_why; /* static texts in Chinese, "" when nothing */
} cf_paymatch;

enum { CF_PAYMATCH_SURE = 80, CF_PAYMATCH_MARGIN = 30 };

/*
 * Scores every candidate for the payment with `remark` and `payer` (either may be NULL or empty)
 * at the court whose code is `court` ("豫0381"), writes those with a confidence above 0 to
 * `out` (room for `cap`), best first (ties by case number), their count to `*n`, and 1 to
 * `*sure` when out[0] is a sure match (above), else 0.  Returns 0, or CF_EINVAL when a text is
 * not UTF-8 or longer than 2,000 bytes (the remark's schema allows 500 characters).
 */
int cf_paymatch_run(const char *remark, const char *payer, const char *court,
                    const cf_paycase *cands, size_t ncands, cf_paymatch *out, size_t cap, size_t *n,
                    int *sure) CF_MUST_CHECK;

/*
 * Writes the normalized form of `in` (above: one kind of bracket and digit, no spaces) into `out`
 * of `outsz` bytes, for looking up names that a remark contains.  Returns 0, or CF_EINVAL when
 * `in` is not UTF-8, longer than 2,000 bytes or does not fit.
 */
int cf_paymatch_normalize(const char *in, char *out, size_t outsz) CF_MUST_CHECK;

/*
 * The sequence numbers a candidate's case number or judgment may have for `remark` to name it:
 * the sequence of each case-number token of the remark and every number one typo away from it
 * (one digit changed, left out or added), as texts appended to the array `into`.  The worker
 * looks the candidates up by them.  Returns 0, or CF_EINVAL as cf_paymatch_run.
 */
int cf_paymatch_sequences(const char *remark, json_t *into) CF_MUST_CHECK;

#endif
