/*
 * Notices to posts (#12, schemas/sql/013_notices.sql): what the engine tells a post that is not a
 * task of a case — a refused decision of one of its staff, a workflow's `notify`, the week's
 * overdue list.  `caseflow serve` lists them and marks them read with these functions; the
 * caller decides who asks and passes the post it may see.
 */
#ifndef CF_NOTICES_H
#define CF_NOTICES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"

/* Which notices a list shows. */
typedef struct cf_notice_filter {
    const char *post;  /* the post's notices; NULL: every post's */
    const char *court; /* the court's notices (#16); NULL: every court's */
    const char *home;  /* the home court's code: a notice without a court is its */
    int unread;        /* only those nobody has marked read */
    int limit, offset;
} cf_notice_filter;

/*
 * The notices `f` matches, the newest first, into *out (new reference): {"notices": [...],
 * "total": n, "unread": n} with each notice {id, post, court, kind, case, title, body,
 * created_at, read_at, read_by} (court: NULL for the home court's).  Returns 0 or CF_EDB
 * (CF_ENOMEM) with the reason in `err`.
 */
int cf_notices_list(PGconn *db, const cf_notice_filter *f, json_t **out, char *err,
                    size_t errsz) CF_MUST_CHECK;

/*
 * Marks notice `id` read by `account` at the engine's clock, unless it is read already (the first
 * reader stays recorded).  `f`'s post and court (not NULL) confine it to that post's and court's
 * notices.  Writes the notice into *out (new reference) and *already (1 when it was read before).
 * Returns 0, CF_ENOTFOUND (no such notice, or one of another post or court) or CF_EDB.
 */
int cf_notices_read(PGconn *db, long long id, const cf_notice_filter *f, const char *account,
                    json_t **out, int *already, char *err, size_t errsz) CF_MUST_CHECK;

#endif
