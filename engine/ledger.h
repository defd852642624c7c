/*
 * The monthly archive ledger (归档台账) as an Excel file: the cases closed in a month with
 * their volume numbers (volume.h) and the day each was archived, one row per case, for the
 * archive group and the bureau lead.  `caseflow report --ledger MONTH` writes it and
 * `GET /api/v1/ledger/{month}.xlsx` answers it; both call cf_ledger_write.
 */
#ifndef CF_LEDGER_H
#define CF_LEDGER_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "base/err.h"
#include "engine/registry.h"

/* The size of a buffer that holds a month as cf_ledger_month writes it ("2026-03"). */
enum { CF_LEDGER_MONTH_BUFSZ = 8 };

/*
 * Checks that `text` is a month, YYYY-MM (2000-01 to 2999-12), and copies it into `out`
 * (CF_LEDGER_MONTH_BUFSZ bytes).  Returns 0, or CF_EINVAL with "'TEXT' is not a month
 * (YYYY-MM): why" in `err`.
 */
int cf_ledger_month(const char *text, char out[CF_LEDGER_MONTH_BUFSZ], char *err,
                    size_t errsz) CF_MUST_CHECK;

/*
 * Reads the ledger of `month` (from cf_ledger_month): every case closed in that month (its
 * data's `closed_at`, in the court's time) or numbered in it, in the order of their volume
 * numbers, cases not numbered yet last by case number.  *rows (a new reference, the caller's)
 * is an array of {case_no, workflow, post, closed_at, close_method, volume, archived_at}, each
 * member a string or null.  `court` not NULL keeps that court's cases alone (engine/cases.h;
 * `home` is the court of keys that name none).  Returns 0, or CF_EDB / CF_ENOMEM with *rows NULL.
 */
int cf_ledger_rows(PGconn *db, const char *month, const char *court, const char *home,
                   json_t **rows, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Writes the ledger of `month` to `path` as an .xlsx workbook: a title row, the header
 * (序号, 案号, 承办团队, 结案日期, 结案方式, 卷号, 归档日期) frozen under it, one row per case of
 * cf_ledger_rows with the teams' titles from `reg`, and a totals row; columns as wide as their
 * Chinese text.  The file is written under a temporary name beside `path` and renamed, so a
 * reader never sees half of it.  Returns 0 with the number of cases in *cases, or CF_EDB,
 * CF_EIO (the file could not be written, `err` names it) or CF_ENOMEM.
 */
int cf_ledger_write(PGconn *db, const cf_registry *reg, const char *month, const char *court,
                    const char *home, const char *path, size_t *cases, char *err,
                    size_t errsz) CF_MUST_CHECK;

/*
 * Like cf_ledger_write, into memory: the workbook is written to a temporary file in $TMPDIR (or
 * /tmp; libxlsxwriter writes only files), read back and removed.  *buf (the caller frees it)
 * holds *len bytes.  Returns 0, or CF_EDB, CF_EIO, CF_ENOMEM with *buf NULL.
 */
int cf_ledger_xlsx(PGconn *db, const cf_registry *reg, const char *month, const char *court,
                   const char *home, char **buf, size_t *len, size_t *cases, char *err,
                   size_t errsz) CF_MUST_CHECK;

#endif
