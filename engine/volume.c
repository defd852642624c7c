/*
 * Volume numbers (卷号) given when a month's ledger goes out (volume.h says the format and the
 * rules).  One statement numbers the cases and writes the numbers into the tasks it will
 * dispatch, inside the dispatching transaction.
 */
#include <string.h>

#include "io/store.h"
#include "engine/cases.h"
#include "engine/volume.h"

/*
 * $1 the kind, $2 the ledger's time (timestamptz), $3 the month of that time ("2026-04"), used
 * only for a case whose data has no readable closing month, $4 the court (NULL: every court's),
 * $5 the home court.
 *
 * The case's month is the first seven characters of `closed_at`, which the engine writes in the
 * court's own offset, so they are the court's month.  New numbers continue after the month's
 * highest; the rows this statement inserts are not yet visible to its other parts, hence
 * coalesce(ins.volume, v.volume).  lpad would cut a number longer than four digits, so the width
 * grows with it.
 */
static const char SQL_ASSIGN[] =
    "with due as (select t.task_id, t.case_no, c.body -> 'data' ->> 'closed_at' as closed_at, "
    "case when c.body -> 'data' ->> 'closed_at' ~ '^[0-9]{4}-(0[1-9]|1[0-2])' then "
    "left(c.body -> 'data' ->> 'closed_at', 7) else $3 end as month from tasks t join cases c on "
    "c.case_no = t.case_no where t.kind = $1 and t.status = 'open' and t.dispatched_at is null "
    "and t.batch_group is not null and t.created_at <= $2::timestamptz and ($4::text is null "
    "or " CF_CASE_COURT_SQL(
        "c", "$5::text") " = $4)), "
                         "fresh as (select d.case_no, d.month, row_number() over (partition by "
                         "d.month order by "
                         "d.closed_at, d.case_no) + coalesce((select max(v.seq) from "
                         "archive_volumes v where v.month "
                         "= d.month), 0) as seq from (select distinct on (case_no) case_no, month, "
                         "closed_at from due "
                         "order by case_no) d where not exists (select 1 from archive_volumes v "
                         "where v.case_no = "
                         "d.case_no)), "
                         "ins as (insert into archive_volumes (case_no, month, seq, volume, "
                         "assigned_at) select "
                         "case_no, month, seq, month || '-' || lpad(seq::text, greatest(4, "
                         "length(seq::text)), '0'), "
                         "$2::timestamptz from fresh returning case_no, month, volume) "
                         "update tasks t set params = coalesce(t.params, '{}'::jsonb) || "
                         "jsonb_build_object('volume', "
                         "coalesce(ins.volume, v.volume), 'ledger_month', coalesce(ins.month, "
                         "v.month)) from due left "
                         "join ins on ins.case_no = due.case_no left join archive_volumes v on "
                         "v.case_no = due.case_no "
                         "where t.task_id = due.task_id";

int cf_volume_assign(PGconn *db, const char *kind, const char *at, const char *court,
                     const char *home, char *err, size_t errsz)
{
    char month[8], why[512];
    const char *p[5] = {kind, at, month, court, home};
    PGresult *res;

    /* `at` is written by cf_time_format in the court's offset: its month is the court's. */
    memcpy(month, at, 7);
    month[7] = '\0';
    res = cf_store_exec(db, SQL_ASSIGN, 5, p, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "numbering the volumes of the %s ledger: %s", kind, why);
    PQclear(res);
    return 0;
}
