/*
 * Volume numbers (卷号) of archived case files: the engine gives them when a month's ledger
 * (台账) goes out, so that the archive worker, the archive group and the ledger file all use
 * the same number, and a retried task or a ledger sent again never changes it.
 *
 * Format: the ledger's month and the case's place in it, four digits at least:
 * "2026-03-0042" is the 42nd volume of the cases closed in March 2026.  The ledger's month is
 * the month the case closed in (its data's `closed_at`, in the court's time).  Stored in
 * `archive_volumes` (schemas/sql/010_archive_volumes.sql): one row per case, unique per month.
 */
#ifndef CF_VOLUME_H
#define CF_VOLUME_H

#include <libpq-fe.h>
#include <stddef.h>

#include "base/err.h"

/* The task parameter a batched worker kind groups by when its batch is a month's ledger. */
#define CF_VOLUME_LEDGER_GROUP "ledger"

/*
 * Gives every open, undispatched task of `kind` made up to `at` (timestamptz text) a volume
 * number: a case that has one keeps it, the others get the next numbers of their month, in the
 * order they closed in (then of their case numbers: "执15号" sorts before "执5号", as text).  The
 * number is added to each task's params as "volume" (and the month as "ledger_month"), so that the
 * batch message carries it.  Must run inside the transaction that dispatches the batch, after its
 * schedule row is locked: that lock is what keeps two engines from numbering one month at once.
 * `court` (not NULL) takes the tasks of that court's cases only (`home`: the court of a case whose
 * key names none), as its court's ledger does (#16); the numbers stay one sequence per month for
 * the installation, so that a volume number names one file whatever its court.
 * Returns 0, or CF_EDB with the reason in `err`.
 */
int cf_volume_assign(PGconn *db, const char *kind, const char *at, const char *court,
                     const char *home, char *err, size_t errsz) CF_MUST_CHECK;

#endif
