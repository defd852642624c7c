/*
 * The batch of writes: everything that applying a poll batch of events
 * changes, gathered in memory and written in one PostgreSQL transaction
 * together with the consumer offsets.  Each table gets one statement that
 * takes whole columns as array parameters (INSERT ... SELECT FROM unnest), so a
 * batch of 500 events costs a handful of round trips, not thousands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "engine/internal.h"

void cf_batch_init(cf_batch *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 13; i++)
        cf_sqlarr_init(&b->ev[i]);
    for (int i = 0; i < CF_BATCH_SCRATCH; i++)
        cf_sqlarr_init(&b->scratch[i]);
    b->cases = json_object();
    b->timers = json_object();
    b->tasks = json_object();
    b->outbox = json_array();
    b->dead = json_array();
    b->dups = json_object();
    b->offsets = json_object();
    b->gens = json_object();
    b->dirty = json_object();
    b->ids_seen = json_object();
}

void cf_batch_reset(cf_batch *b)
{
    for (int i = 0; i < 13; i++)
        cf_sqlarr_reset(&b->ev[i]);
    b->nevents = 0;
    json_object_clear(b->cases);
    json_object_clear(b->timers);
    json_object_clear(b->tasks);
    json_array_clear(b->outbox);
    json_array_clear(b->dead);
    json_object_clear(b->dups);
    json_object_clear(b->offsets);
    json_object_clear(b->gens);
    json_object_clear(b->dirty);
    json_object_clear(b->ids_seen);
    free(b->ids);
    b->ids = NULL;
    b->clock[0] = '\0';
    b->sqlstate[0] = '\0';
    b->broken = 0;
}

void cf_batch_free(cf_batch *b)
{
    for (int i = 0; i < 13; i++)
        cf_sqlarr_free(&b->ev[i]);
    for (int i = 0; i < CF_BATCH_SCRATCH; i++)
        cf_sqlarr_free(&b->scratch[i]);
    json_decref(b->cases);
    json_decref(b->timers);
    json_decref(b->tasks);
    json_decref(b->outbox);
    json_decref(b->dead);
    json_decref(b->dups);
    json_decref(b->offsets);
    json_decref(b->gens);
    json_decref(b->dirty);
    json_decref(b->ids_seen);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

/* Columns for one statement, emptied but keeping their memory: a batch's columns are large, and
 * allocating and freeing them for every batch costs more than the rest of the batch's work. */
static cf_sqlarr *scratch(cf_batch *b, size_t n)
{
    for (size_t i = 0; i < n && i < CF_BATCH_SCRATCH; i++)
        cf_sqlarr_reset(&b->scratch[i]);
    return b->scratch;
}

/* Runs one statement with array parameters; on failure writes the reason and returns NULL. */
static PGresult *run(cf_batch *b, const char *what, const char *sql, int n, const char **params,
                     char *err, size_t errsz)
{
    char why[512];
    PGresult *res = cf_store_exec_state(b->db, sql, n, params, b->sqlstate, why, sizeof why);
    if (!res)
        cf_errf(err, errsz, CF_EDB, "%s: %s", what, why);
    return res;
}

static int ok(PGresult *res)
{
    PQclear(res);
    return res ? 0 : CF_EDB;
}

/*
 * Runs one statement whose parameters are whole columns: `pre` text parameters first (NULL when
 * none), then the array literal of each of the `n` columns.  A column that ran out of memory
 * while it was built fails the statement, and so the batch: nothing is committed on a partial
 * row.  Returns the result (caller clears) or NULL with the reason in `err`.
 */
static PGresult *run_cols(cf_batch *b, const char *what, const char *sql, const char *const *pre,
                          int npre, cf_sqlarr *cols, int n, char *err, size_t errsz)
{
    const char *p[24];
    if (npre + n > (int)(sizeof p / sizeof *p)) {
        cf_errf(err, errsz, CF_EINVAL, "%s: %d parameters, more than a statement takes here", what,
                npre + n);
        return NULL;
    }
    for (int i = 0; i < npre; i++)
        p[i] = pre[i];
    for (int i = 0; i < n; i++) {
        if (cols[i].failed) {
            b->broken = 1;
            cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory building its rows", what);
            return NULL;
        }
        p[npre + i] = cf_sqlarr_text(&cols[i]);
    }
    return run(b, what, sql, npre + n, p, err, errsz);
}

static const char *str(json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

/* Serializes a member that holds JSON into text for a jsonb column (NULL stays NULL). */
static void add_json(cf_sqlarr *a, json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    char *s;
    if (!v || json_is_null(v)) {
        cf_sqlarr_add(a, NULL);
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        a->failed = 1; /* out of memory: the statement, and so the batch, fails */
        return;
    }
    cf_sqlarr_add(a, s);
    free(s);
}

static int write_events(cf_batch *b, char *err, size_t errsz)
{
    if (b->nevents == 0)
        return 0;
    return ok(run_cols(b, "writing the event log",
                       "insert into events (case_no, seq, event_id, type, source, event_time, "
                       "applied_at, body, state_before, state_after, actions, prev_hash, hash) "
                       "select * from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], "
                       "$5::text[], $6::timestamptz[], $7::timestamptz[], $8::json[], $9::text[], "
                       "$10::text[], $11::jsonb[], $12::text[], $13::text[])",
                       NULL, 0, b->ev, 13, err, errsz));
}

static int write_cases(cf_batch *b, char *err, size_t errsz)
{
    cf_sqlarr *a = scratch(b, 10);
    const char *case_no;
    json_t *row;
    int rc;

    if (json_object_size(b->cases) == 0)
        return 0;
    json_object_foreach (b->cases, case_no, row) {
        cf_sqlarr_add(&a[0], case_no);
        cf_sqlarr_add(&a[1], str(row, "workflow"));
        cf_sqlarr_addf(&a[2], "%lld", json_integer_value(json_object_get(row, "version")));
        cf_sqlarr_add(&a[3], str(row, "state"));
        cf_sqlarr_addf(&a[4], "%lld", json_integer_value(json_object_get(row, "seq")));
        add_json(&a[5], row, "body");
        cf_sqlarr_add(&a[6], str(row, "team"));
        cf_sqlarr_add(&a[7], str(row, "created_at"));
        cf_sqlarr_add(&a[8], str(row, "updated_at"));
        cf_sqlarr_add(&a[9], str(row, "head_hash"));
    }
    rc = ok(
        run_cols(b, "writing case states",
                 "insert into cases (case_no, workflow, version, state, seq, body, team, "
                 "created_at, updated_at, head_hash) select * from unnest($1::text[], $2::text[], "
                 "$3::int[], $4::text[], $5::bigint[], $6::jsonb[], $7::text[], "
                 "$8::timestamptz[], $9::timestamptz[], $10::text[]) "
                 "on conflict (case_no) do update set state = excluded.state, seq = excluded.seq, "
                 "body = excluded.body, team = excluded.team, updated_at = excluded.updated_at, "
                 "head_hash = excluded.head_hash",
                 NULL, 0, a, 10, err, errsz));
    return rc;
}

static int write_timers(cf_batch *b, char *err, size_t errsz)
{
    cf_sqlarr *set = scratch(b, 5), *del = set + 3;
    const char *key;
    json_t *t;
    int rc = 0;

    if (json_object_size(b->timers) == 0)
        return 0;
    json_object_foreach (b->timers, key, t) {
        if (json_is_string(json_object_get(t, "due"))) {
            cf_sqlarr_add(&set[0], str(t, "case"));
            cf_sqlarr_add(&set[1], str(t, "name"));
            cf_sqlarr_add(&set[2], str(t, "due"));
        } else {
            cf_sqlarr_add(&del[0], str(t, "case"));
            cf_sqlarr_add(&del[1], str(t, "name"));
        }
    }
    if (set[0].count) {
        rc = ok(
            run_cols(b, "setting timers",
                     "insert into timers (case_no, name, due_at) select * from unnest($1::text[], "
                     "$2::text[], $3::timestamptz[]) on conflict (case_no, name) do update set "
                     "due_at = excluded.due_at",
                     NULL, 0, set, 3, err, errsz));
    }
    if (rc == 0 && del[0].count) {
        rc = ok(run_cols(b, "cancelling timers",
                         "delete from timers t using unnest($1::text[], $2::text[]) u(c, n) "
                         "where t.case_no = u.c and t.name = u.n",
                         NULL, 0, del, 2, err, errsz));
    }
    return rc;
}

static int write_tasks(cf_batch *b, char *err, size_t errsz)
{
    cf_sqlarr *a = scratch(b, 19), *u = a + 15;
    const char *id;
    json_t *row;
    int rc = 0;

    if (json_object_size(b->tasks) == 0)
        return 0;
    json_object_foreach (b->tasks, id, row) {
        if (json_is_true(json_object_get(row, "new"))) {
            cf_sqlarr_add(&a[0], id);
            cf_sqlarr_add(&a[1], str(row, "case_no"));
            cf_sqlarr_add(&a[2], str(row, "activity"));
            cf_sqlarr_add(&a[3], str(row, "kind"));
            cf_sqlarr_add(&a[4], str(row, "post"));
            cf_sqlarr_add(&a[5], json_is_true(json_object_get(row, "worker")) ? "t" : "f");
            cf_sqlarr_add(&a[6], str(row, "status"));
            cf_sqlarr_add(&a[7], str(row, "title"));
            add_json(&a[8], row, "params");
            cf_sqlarr_add(&a[9], str(row, "due_at"));
            cf_sqlarr_add(&a[10], str(row, "batch_group"));
            cf_sqlarr_add(&a[11], str(row, "dispatched_at"));
            add_json(&a[12], row, "result");
            cf_sqlarr_add(&a[13], str(row, "created_at"));
            cf_sqlarr_add(&a[14], str(row, "updated_at"));
        } else {
            cf_sqlarr_add(&u[0], id);
            cf_sqlarr_add(&u[1], str(row, "status"));
            add_json(&u[2], row, "result");
            cf_sqlarr_add(&u[3], str(row, "updated_at"));
        }
    }
    if (a[0].count) {
        rc = ok(
            run_cols(b, "creating tasks",
                     "insert into tasks (task_id, case_no, activity, kind, post, worker, status, "
                     "title, params, due_at, batch_group, dispatched_at, result, created_at, "
                     "updated_at) select * from unnest($1::text[], $2::text[], $3::text[], "
                     "$4::text[], $5::text[], $6::boolean[], $7::text[], $8::text[], $9::jsonb[], "
                     "$10::timestamptz[], $11::text[], $12::timestamptz[], $13::jsonb[], "
                     "$14::timestamptz[], $15::timestamptz[])",
                     NULL, 0, a, 15, err, errsz));
    }
    if (rc == 0 && u[0].count) {
        rc = ok(run_cols(b, "updating tasks",
                         "update tasks t set status = u.s, result = coalesce(u.r, t.result), "
                         "updated_at = u.at from unnest($1::text[], $2::text[], $3::jsonb[], "
                         "$4::timestamptz[]) u(id, s, r, at) where t.task_id = u.id",
                         NULL, 0, u, 4, err, errsz));
    }
    return rc;
}

static int write_dead_and_dups(cf_batch *b, char *err, size_t errsz)
{
    cf_sqlarr *a = scratch(b, 8);
    const char *id;
    size_t i;
    json_t *row, *count;
    int rc = 0;

    json_array_foreach (b->dead, i, row) {
        cf_sqlarr_add(&a[0], str(row, "event_id"));
        cf_sqlarr_add(&a[1], str(row, "case"));
        cf_sqlarr_add(&a[2], str(row, "reason"));
        cf_sqlarr_add(&a[3], str(row, "topic"));
        cf_sqlarr_addf(&a[4], "%lld", json_integer_value(json_object_get(row, "partition")));
        cf_sqlarr_addf(&a[5], "%lld", json_integer_value(json_object_get(row, "offset")));
        cf_sqlarr_addf(&a[6], "%lld", json_integer_value(json_object_get(row, "size")));
    }
    if (a[0].count) {
        rc = ok(
            run_cols(b, "recording dead letters",
                     "insert into dead_letters (event_id, case_no, reason, topic, partition, "
                     "\"offset\", size) select * from unnest($1::text[], $2::text[], $3::text[], "
                     "$4::text[], $5::int[], $6::bigint[], $7::int[])",
                     NULL, 0, a, 7, err, errsz));
    }
    for (int k = 0; k < 8; k++)
        cf_sqlarr_reset(&a[k]);
    json_object_foreach (b->dups, id, count) {
        cf_sqlarr_add(&a[0], id);
        cf_sqlarr_addf(&a[1], "%lld", json_integer_value(count));
    }
    if (rc == 0 && a[0].count) {
        rc = ok(
            run_cols(b, "counting duplicates",
                     "insert into duplicates (event_id, seen) select * from unnest($1::text[], "
                     "$2::bigint[]) on conflict (event_id) do update set seen = duplicates.seen + "
                     "excluded.seen, last_at = now()",
                     NULL, 0, a, 2, err, errsz));
    }
    return rc;
}

/* Inserts the outbox rows; their ids come back in *ids (caller frees), in row order. */
static int write_outbox(cf_batch *b, long long **ids, char *err, size_t errsz)
{
    cf_sqlarr *a = scratch(b, 4);
    size_t i, n = json_array_size(b->outbox);
    json_t *row;
    PGresult *res;
    int rc = 0;

    *ids = NULL;
    if (n == 0)
        return 0;
    json_array_foreach (b->outbox, i, row) {
        cf_sqlarr_add(&a[0], str(row, "topic"));
        cf_sqlarr_add(&a[1], str(row, "key"));
        cf_sqlarr_add(&a[2], str(row, "msg_id"));
        cf_sqlarr_add(&a[3], str(row, "payload"));
    }
    /* WITH ORDINALITY and ORDER BY keep the returned ids in the order of the rows. */
    res = run_cols(
        b, "writing the outbox",
        "with rows as (select * from unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
        "with ordinality u(topic, key, msg_id, payload, ord)), ins as (insert into outbox "
        "(topic, key, msg_id, payload) select topic, key, msg_id, convert_to(payload, "
        "'UTF8') from rows order by ord returning id, msg_id) select ins.id from ins join "
        "rows using (msg_id) order by rows.ord",
        NULL, 0, a, 4, err, errsz);
    if (!res) {
        rc = CF_EDB;
    } else if ((size_t)PQntuples(res) != n) {
        rc = cf_errf(err, errsz, CF_EDB, "writing the outbox: %d ids for %zu rows", PQntuples(res),
                     n);
    } else if (!(*ids = malloc(n * sizeof **ids))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    } else {
        for (int r = 0; r < PQntuples(res); r++)
            (*ids)[r] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    }
    PQclear(res);
    return rc;
}

/* Moves the offsets on, but only where this engine still holds the partition's generation. */
static int write_offsets(const cf_engine *e, cf_batch *b, char *err, size_t errsz)
{
    cf_sqlarr *a = scratch(b, 3);
    const char *pre[2] = {e->cfg->group, e->t_events}, *part;
    json_t *off;
    PGresult *res;
    size_t want = json_object_size(b->offsets);
    int rc = 0;

    if (want == 0)
        return 0;
    json_object_foreach (b->offsets, part, off) {
        /* The generation the engine held when it handed the batch over: a newer one means
         * another engine owns the partition now. */
        json_t *g = json_object_get(b->gens, part);
        long long gen = g ? json_integer_value(g) : -1;
        cf_sqlarr_add(&a[0], part);
        cf_sqlarr_addf(&a[1], "%lld", json_integer_value(off));
        cf_sqlarr_addf(&a[2], "%lld", gen);
    }
    res = run_cols(
        b, "storing offsets",
        "update consumer_offsets c set next_offset = u.o from unnest($3::int[], "
        "$4::bigint[], $5::bigint[]) u(p, o, g) where c.group_id = $1 and c.topic = $2 and "
        "c.partition = u.p and c.generation = u.g",
        pre, 2, a, 3, err, errsz);
    if (!res)
        rc = CF_EDB;
    else if (strtoul(PQcmdTuples(res), NULL, 10) != want)
        rc = cf_errf(err, errsz, CF_EFENCED,
                     "a partition of this batch has a newer owner: the batch is rolled back");
    PQclear(res);
    return rc;
}

int cf_batch_commit(const cf_engine *e, cf_batch *b, char *err, size_t errsz)
{
    long long *ids = NULL;
    int rc;
    PGresult *res;

    b->sqlstate[0] = '\0';
    if (b->broken)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory building the batch's rows");
    if ((rc = ok(run(b, "begin", "begin", 0, NULL, err, errsz))))
        return rc;
    {
        /* Each table's statement is timed for the debug log: where a slow commit spends it. */
        long long t[8];
        t[0] = cf_wall_ms();
        if ((rc = write_offsets(e, b, err, errsz)) || (t[1] = cf_wall_ms(), 0) ||
            (rc = write_events(b, err, errsz)) || (t[2] = cf_wall_ms(), 0) ||
            (rc = write_cases(b, err, errsz)) || (t[3] = cf_wall_ms(), 0) ||
            (rc = write_timers(b, err, errsz)) || (t[4] = cf_wall_ms(), 0) ||
            (rc = write_tasks(b, err, errsz)) || (t[5] = cf_wall_ms(), 0) ||
            (rc = write_dead_and_dups(b, err, errsz)) || (t[6] = cf_wall_ms(), 0) ||
            (rc = write_outbox(b, &ids, err, errsz)))
            goto rollback;
        t[7] = cf_wall_ms();
        cf_debug("commit: offsets %lld ms, events %lld, cases %lld, timers %lld, tasks %lld, "
                 "dead letters %lld, outbox %lld",
                 t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5],
                 t[7] - t[6]);
    }
    if (b->clock[0]) {
        const char *p[1] = {b->clock};
        if ((rc = ok(run(b, "moving the simulated clock",
                         "update engine_clock set now = greatest(now, $1::timestamptz) "
                         "where id = 1",
                         1, p, err, errsz))))
            goto rollback;
    }
    res = run(b, "commit", "commit", 0, NULL, err, errsz);
    if (!res) {
        free(ids);
        return CF_EDB;
    }
    PQclear(res);
    b->ids = ids;
    return 0;
rollback:
    free(ids);
    PQclear(PQexec(b->db, "rollback"));
    return rc;
}
