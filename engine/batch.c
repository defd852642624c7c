/*
 * The batch of writes: everything that applying a poll batch of events changes, gathered in
 * memory as typed rows and written in one PostgreSQL transaction together with the consumer
 * offsets.  Each table's rows are packed into a column table (rows.h) and written by one
 * statement that takes whole columns as binary array parameters, so a batch of 500 events costs
 * a handful of round trips, and every table goes through the same function, write_rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/log.h"
#include "engine/internal.h"

/* ---- the index: text key -> row ---- */

static size_t hash_text(const char *s)
{
    size_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct cf_slot *probe(const cf_index *x, const char *key)
{
    size_t i = hash_text(key) & (x->nslots - 1);
    while (x->slots[i].key && strcmp(x->slots[i].key, key) != 0)
        i = (i + 1) & (x->nslots - 1);
    return &x->slots[i];
}

long cf_index_find(const cf_index *x, const char *key)
{
    struct cf_slot *s;
    if (x->count == 0 || !key)
        return -1;
    s = probe(x, key);
    return s->key ? (long)s->row : -1;
}

/* Doubles the table (at least 64 slots); kept at most half full so that probes stay short. */
static int grow(cf_index *x)
{
    cf_index bigger = {.nslots = x->nslots ? x->nslots * 2 : 64};
    if (!(bigger.slots = calloc(bigger.nslots, sizeof *bigger.slots)))
        return CF_ENOMEM;
    for (size_t i = 0; i < x->nslots; i++)
        if (x->slots[i].key)
            *probe(&bigger, x->slots[i].key) = x->slots[i];
    bigger.count = x->count;
    free(x->slots);
    *x = bigger;
    return 0;
}

int cf_index_put(cf_index *x, const char *key, size_t row)
{
    struct cf_slot *s;
    if ((x->count + 1) * 2 > x->nslots && grow(x) != 0)
        return CF_ENOMEM;
    s = probe(x, key);
    if (!s->key) {
        if (!(s->key = strdup(key)))
            return CF_ENOMEM;
        x->count++;
    }
    s->row = row;
    return 0;
}

void cf_index_clear(cf_index *x)
{
    for (size_t i = 0; x->count && i < x->nslots; i++) {
        free(x->slots[i].key);
        x->slots[i].key = NULL;
    }
    x->count = 0;
}

void cf_index_free(cf_index *x)
{
    cf_index_clear(x);
    free(x->slots);
    memset(x, 0, sizeof *x);
}

/* ---- the tables ---- */

static const cf_table EVENTS = {
    "writing the event log",
    "insert into events (case_no, seq, event_id, type, source, event_time, applied_at, body, "
    "state_before, state_after, actions, prev_hash, hash) select c, s, id, ty, src, "
    "et::timestamptz, at, b, sb, sa, a, ph, h from unnest($1::text[], $2::bigint[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::json[], $9::text[], $10::text[], "
    "$11::json[], $12::text[], $13::text[]) u(c, s, id, ty, src, et, at, b, sb, sa, a, ph, h)",
    13,
    {CF_COL_TEXT, CF_COL_INT8, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TIME,
     CF_COL_JSON, CF_COL_TEXT, CF_COL_TEXT, CF_COL_JSON, CF_COL_TEXT, CF_COL_TEXT}};

static const cf_table CASES = {
    "writing case states",
    "insert into cases (case_no, workflow, version, state, seq, body, team, created_at, "
    "updated_at, head_hash) select * from unnest($1::text[], $2::text[], $3::int[], $4::text[], "
    "$5::bigint[], $6::jsonb[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[]) "
    "on conflict (case_no) do update set state = excluded.state, seq = excluded.seq, body = "
    "excluded.body, team = excluded.team, updated_at = excluded.updated_at, head_hash = "
    "excluded.head_hash",
    10,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_INT4, CF_COL_TEXT, CF_COL_INT8, CF_COL_JSONB, CF_COL_TEXT,
     CF_COL_TIME, CF_COL_TIME, CF_COL_TEXT}};

/* Set timers have a due time, cancelled ones none: one statement does both. */
static const cf_table TIMERS = {
    "setting and cancelling timers",
    "with u as (select * from unnest($1::text[], $2::text[], $3::text[]) u(c, n, due)), del as "
    "(delete from timers t using u where u.due is null and t.case_no = u.c and t.name = u.n) "
    "insert into timers (case_no, name, due_at) select c, n, due::timestamptz from u where due "
    "is not null on conflict (case_no, name) do update set due_at = excluded.due_at",
    3,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT}};

static const cf_table NEW_TASKS = {
    "creating tasks",
    "insert into tasks (task_id, case_no, activity, kind, post, worker, status, title, params, "
    "due_at, batch_group, dispatched_at, result, created_at, updated_at, court) select id, c, "
    "a, k, p, w, s, ti, coalesce(pa, '{}'), due::timestamptz, bg, da, r, ca, ua, co from "
    "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], "
    "$7::text[], $8::text[], $9::jsonb[], $10::text[], $11::text[], $12::timestamptz[], "
    "$13::jsonb[], $14::timestamptz[], $15::timestamptz[], $16::text[]) u(id, c, a, k, p, w, s, "
    "ti, pa, due, bg, da, r, ca, ua, co)",
    16,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_BOOL, CF_COL_TEXT,
     CF_COL_TEXT, CF_COL_JSONB, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TIME, CF_COL_JSONB, CF_COL_TIME,
     CF_COL_TIME, CF_COL_TEXT}};

static const cf_table TASK_CHANGES = {
    "updating tasks",
    "update tasks t set status = u.s, result = coalesce(u.r, t.result), updated_at = u.at from "
    "unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[]) u(id, s, r, at) where "
    "t.task_id = u.id",
    4,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_JSONB, CF_COL_TIME}};

static const cf_table DEAD = {
    "recording dead letters",
    "insert into dead_letters (event_id, case_no, reason, topic, partition, \"offset\", size) "
    "select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], "
    "$6::bigint[], $7::int[])",
    7,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_INT4, CF_COL_INT8, CF_COL_INT4}};

/* A notice's key makes it once: an event applied again after a failed commit, or a refusal
 * sent again, finds its notice there. */
static const cf_table NOTICES = {
    "writing notices",
    "insert into notices (key, post, kind, case_no, title, body, created_at, court) select k, p, "
    "ki, c, t, coalesce(b, '{}'), at, co from unnest($1::text[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::text[]) u(k, p, ki, c, t, b, at, "
    "co) on conflict (key) do nothing",
    8,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_JSONB, CF_COL_TIME,
     CF_COL_TEXT}};

static const cf_table DUPS = {
    "counting duplicates",
    "insert into duplicates (event_id, seen) select * from unnest($1::text[], $2::bigint[]) on "
    "conflict (event_id) do update set seen = duplicates.seen + excluded.seen, last_at = now()",
    2,
    {CF_COL_TEXT, CF_COL_INT8}};

/* WITH ORDINALITY and ORDER BY keep the returned ids in the order of the rows.  A payload is
 * stored deflated when inflated_len is not NULL (017_outbox_deflated.sql, add_payload). */
static const cf_table OUTBOX = {
    "writing the outbox",
    "with rows as (select * from unnest($1::text[], $2::text[], $3::text[], $4::bytea[], "
    "$5::int[]) with ordinality u(topic, key, msg_id, payload, inflated_len, ord)), ins as "
    "(insert into outbox (topic, key, msg_id, payload, inflated_len) select topic, key, msg_id, "
    "payload, inflated_len from rows order by ord returning id, msg_id) select ins.id from ins "
    "join rows using (msg_id) order by rows.ord",
    5,
    {CF_COL_TEXT, CF_COL_TEXT, CF_COL_TEXT, CF_COL_BYTEA, CF_COL_INT4}};

/* Moves the offsets on, but only where this engine still holds the partition's generation. */
static const cf_table OFFSETS = {
    "storing offsets",
    "update consumer_offsets c set next_offset = u.o from unnest($1::int[], $2::bigint[], "
    "$3::bigint[], $4::text[], $5::text[]) u(p, o, g, grp, topic) where c.group_id = u.grp and "
    "c.topic = u.topic and c.partition = u.p and c.generation = u.g",
    5,
    {CF_COL_INT4, CF_COL_INT8, CF_COL_INT8, CF_COL_TEXT, CF_COL_TEXT}};

/* Every table's statement, prepared on the committing session (prepare_all). */
static const cf_table *const TABLES[] = {&EVENTS, &CASES,   &TIMERS, &NEW_TASKS, &TASK_CHANGES,
                                         &DEAD,   &NOTICES, &DUPS,   &OUTBOX,    &OFFSETS};

/* Whether `t`'s statement is among those prepare_all prepares (a table added without it still
 * works, unprepared). */
static int preparable(const cf_table *t)
{
    for (size_t i = 0; i < sizeof TABLES / sizeof *TABLES; i++)
        if (TABLES[i] == t)
            return 1;
    return 0;
}

/* ---- building rows ---- */

#define PUSH(b, vec) push((b), (void **)&(vec).v, &(vec).n, &(vec).cap, sizeof *(vec).v)

/* A new zeroed row at the end of a vector, or NULL (the batch is then broken). */
static void *push(cf_batch *b, void **v, size_t *n, size_t *cap, size_t size)
{
    char *row;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void *nv = realloc(*v, c * size);
        if (!nv) {
            b->broken = 1;
            return NULL;
        }
        *v = nv;
        *cap = c;
    }
    row = (char *)*v + (*n)++ * size;
    memset(row, 0, size);
    return row;
}

void cf_batch_set(cf_batch *b, char **member, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        b->broken = 1;
    free(*member);
    *member = copy;
}

/* Records `row` under `key` in index `x`; a failure breaks the batch. */
static void keep(cf_batch *b, cf_index *x, const char *key, size_t row)
{
    if (cf_index_put(x, key, row) != 0)
        b->broken = 1;
}

/* The row of `key` in a vector indexed by `x`: the one there (*added 0), or a new zeroed one
 * recorded under `key` (*added 1), or NULL when memory ran out (the batch is then broken). */
static void *keyed(cf_batch *b, void **v, size_t *n, size_t *cap, size_t size, cf_index *x,
                   const char *key, int *added)
{
    long i = cf_index_find(x, key);
    void *row;
    *added = i < 0;
    if (i >= 0)
        return (char *)*v + (size_t)i * size;
    if ((row = push(b, v, n, cap, size)))
        keep(b, x, key, *n - 1);
    return row;
}

/* The row of `key` in a vector indexed by `x`, or NULL. */
static void *find_row(void *v, size_t size, const cf_index *x, const char *key)
{
    long i = cf_index_find(x, key);
    return i >= 0 ? (char *)v + (size_t)i * size : NULL;
}

#define FIND(vec, x, key) find_row((vec).v, sizeof *(vec).v, (x), (key))

#define KEYED(b, vec, x, key, added) \
    keyed((b), (void **)&(vec).v, &(vec).n, &(vec).cap, sizeof *(vec).v, (x), (key), (added))

void cf_batch_event(cf_batch *b, const char *case_no, long long seq, const char *id,
                    const char *type, const char *source, const char *event_time,
                    cf_time applied_at, const char *body, size_t len, const char *from,
                    const char *to, const char *actions, const char *prev_hash, const char *hash)
{
    cf_rows *r = &b->events;
    cf_event_row *ev = PUSH(b, b->applied);

    cf_rows_text(r, 0, case_no);
    cf_rows_int(r, 1, seq);
    cf_rows_text(r, 2, id);
    cf_rows_text(r, 3, type);
    cf_rows_text(r, 4, source);
    cf_rows_text(r, 5, event_time);
    cf_rows_time(r, 6, applied_at);
    cf_rows_textn(r, 7, body, len);
    cf_rows_text(r, 8, from);
    cf_rows_text(r, 9, to);
    cf_rows_text(r, 10, actions);
    cf_rows_text(r, 11, prev_hash);
    cf_rows_text(r, 12, hash);
    cf_rows_end(r);
    if (r->failed)
        b->broken = 1;
    if (!ev)
        return;
    ev->id = strdup(id);
    ev->body = malloc(len + 1);
    if (!ev->id || !ev->body) {
        b->broken = 1;
        return;
    }
    memcpy(ev->body, body, len);
    ev->body[len] = '\0';
    ev->len = len;
    keep(b, &b->event_ix, id, b->applied.n - 1);
}

cf_case_row *cf_batch_find_case(const cf_batch *b, const char *case_no)
{
    return FIND(b->cases, &b->case_ix, case_no);
}

const cf_event_row *cf_batch_find_event(const cf_batch *b, const char *id)
{
    return FIND(b->applied, &b->event_ix, id);
}

cf_case_row *cf_batch_case(cf_batch *b, const char *case_no)
{
    int added;
    cf_case_row *c = KEYED(b, b->cases, &b->case_ix, case_no, &added);
    if (c && added)
        cf_batch_set(b, &c->case_no, case_no);
    return c;
}

void cf_batch_timer(cf_batch *b, const char *case_no, const char *name, const char *due)
{
    char key[512];
    int added;
    cf_timer_row *t;

    /* The last action on a timer in the batch is the one that holds. */
    snprintf(key, sizeof key, "%s\x1f%s", case_no, name);
    if (!(t = KEYED(b, b->timers, &b->timer_ix, key, &added)))
        return;
    if (added) {
        cf_batch_set(b, &t->case_no, case_no);
        cf_batch_set(b, &t->name, name);
    }
    cf_batch_set(b, &t->due, due);
}

cf_task_row *cf_batch_find_task(const cf_batch *b, const char *id)
{
    return FIND(b->tasks, &b->task_ix, id);
}

cf_task_row *cf_batch_task(cf_batch *b, const char *id)
{
    int added;
    cf_task_row *t = KEYED(b, b->tasks, &b->task_ix, id, &added);
    if (t && added)
        cf_batch_set(b, &t->id, id);
    return t;
}

void cf_batch_outbox(cf_batch *b, const char *topic, const char *key, const char *msg_id,
                     char *payload)
{
    cf_outbox_row *o = payload ? PUSH(b, b->outbox) : NULL;
    if (!o) {
        b->broken = 1;
        free(payload);
        return;
    }
    cf_batch_set(b, &o->topic, topic);
    cf_batch_set(b, &o->key, key);
    cf_batch_set(b, &o->msg_id, msg_id);
    o->payload = payload;
    o->len = strlen(payload);
}

void cf_batch_dead(cf_batch *b, const char *event_id, const char *case_no, const char *reason,
                   const char *topic, int partition, long long offset, long long size)
{
    cf_dead_row *d = PUSH(b, b->dead);
    if (!d)
        return;
    cf_batch_set(b, &d->event_id, event_id);
    cf_batch_set(b, &d->case_no, case_no);
    cf_batch_set(b, &d->reason, reason);
    cf_batch_set(b, &d->topic, topic);
    d->partition = partition;
    d->offset = offset;
    d->size = size;
}

void cf_batch_notice(cf_batch *b, const char *key, const char *post, const char *court,
                     const char *kind, const char *case_no, const char *title, const char *body,
                     cf_time at)
{
    cf_notice_row *n = PUSH(b, b->notices);
    if (!n)
        return;
    cf_batch_set(b, &n->key, key);
    cf_batch_set(b, &n->post, post);
    cf_batch_set(b, &n->kind, kind);
    cf_batch_set(b, &n->case_no, case_no);
    cf_batch_set(b, &n->title, title);
    cf_batch_set(b, &n->body, body);
    cf_batch_set(b, &n->court, court);
    n->at = at;
}

void cf_batch_dup(cf_batch *b, const char *event_id)
{
    int added;
    cf_dup_row *d = KEYED(b, b->dups, &b->dup_ix, event_id, &added);
    if (!d)
        return;
    if (added)
        cf_batch_set(b, &d->event_id, event_id);
    d->count++;
}

void cf_batch_offset(cf_batch *b, int32_t partition, long long next)
{
    cf_offset_row *o;
    for (size_t i = 0; i < b->offsets.n; i++)
        if (b->offsets.v[i].partition == partition) {
            b->offsets.v[i].next = next;
            return;
        }
    if (!(o = PUSH(b, b->offsets)))
        return;
    o->partition = partition;
    o->next = next;
    o->generation = -1;
}

/* ---- init, reset, free ---- */

void cf_batch_init(cf_batch *b)
{
    memset(b, 0, sizeof *b);
    cf_rows_init(&b->events, &EVENTS);
    cf_rows_init(&b->scratch, &CASES);
}

/* Frees what the rows own and empties the vectors, keeping their memory. */
static void clear_rows(cf_batch *b)
{
    for (size_t i = 0; i < b->applied.n; i++) {
        free(b->applied.v[i].id);
        free(b->applied.v[i].body);
    }
    for (size_t i = 0; i < b->cases.n; i++) {
        free(b->cases.v[i].case_no);
        json_decref(b->cases.v[i].body);
    }
    for (size_t i = 0; i < b->timers.n; i++) {
        cf_timer_row *t = &b->timers.v[i];
        free(t->case_no), free(t->name), free(t->due);
    }
    for (size_t i = 0; i < b->tasks.n; i++) {
        cf_task_row *t = &b->tasks.v[i];
        free(t->id), free(t->case_no), free(t->activity), free(t->kind), free(t->post);
        free(t->title), free(t->due), free(t->batch_group), free(t->params), free(t->result);
        free(t->court);
    }
    for (size_t i = 0; i < b->outbox.n; i++) {
        cf_outbox_row *o = &b->outbox.v[i];
        free(o->topic), free(o->key), free(o->msg_id), free(o->payload);
    }
    for (size_t i = 0; i < b->dead.n; i++) {
        cf_dead_row *d = &b->dead.v[i];
        free(d->event_id), free(d->case_no), free(d->reason), free(d->topic);
    }
    for (size_t i = 0; i < b->notices.n; i++) {
        cf_notice_row *n = &b->notices.v[i];
        free(n->key), free(n->post), free(n->kind), free(n->case_no), free(n->title);
        free(n->body), free(n->court);
    }
    for (size_t i = 0; i < b->dups.n; i++)
        free(b->dups.v[i].event_id);
    b->applied.n = b->cases.n = b->timers.n = b->tasks.n = b->outbox.n = b->dead.n = b->notices.n =
        b->dups.n = b->offsets.n = 0;
    cf_index_clear(&b->case_ix);
    cf_index_clear(&b->timer_ix);
    cf_index_clear(&b->task_ix);
    cf_index_clear(&b->event_ix);
    cf_index_clear(&b->dup_ix);
}

void cf_batch_reset(cf_batch *b)
{
    clear_rows(b);
    cf_rows_reset(&b->events);
    free(b->ids);
    b->ids = NULL;
    b->clock[0] = '\0';
    b->sqlstate[0] = '\0';
    b->broken = 0;
}

void cf_batch_free(cf_batch *b)
{
    clear_rows(b);
    free(b->applied.v), free(b->cases.v), free(b->timers.v), free(b->tasks.v);
    free(b->outbox.v), free(b->dead.v), free(b->notices.v), free(b->dups.v), free(b->offsets.v);
    cf_index_free(&b->case_ix);
    cf_index_free(&b->timer_ix);
    cf_index_free(&b->task_ix);
    cf_index_free(&b->event_ix);
    cf_index_free(&b->dup_ix);
    cf_rows_free(&b->events);
    cf_rows_free(&b->scratch);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

/* ---- writing ---- */

/* Runs one statement without parameters; on failure writes the reason and returns NULL. */
static PGresult *run(cf_batch *b, const char *what, const char *sql, char *err, size_t errsz)
{
    char why[512];
    PGresult *res = cf_store_exec_state(b->db, sql, 0, NULL, b->sqlstate, why, sizeof why);
    if (!res)
        cf_errf(err, errsz, CF_EDB, "%s: %s", what, why);
    return res;
}

/*
 * Writes a column table with its statement; nothing when it has no rows.  A table that could
 * not be built (memory ran out) fails the statement, and so the batch: nothing is committed on
 * a partial row.  Returns 0 and the result in *out when the caller wants it (it clears it), or
 * an error with the reason in `err`.
 */
static int write_rows(cf_batch *b, cf_rows *r, PGresult **out, char *err, size_t errsz)
{
    const char *values[CF_ROWS_MAXCOLS];
    int lengths[CF_ROWS_MAXCOLS], formats[CF_ROWS_MAXCOLS];
    char why[512];
    PGresult *res;

    if (out)
        *out = NULL;
    if (r->failed || b->broken) {
        b->broken = 1;
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory building its rows",
                       r->table->what);
    }
    if (r->nrows == 0)
        return 0;
    if (cf_rows_params(r, values, lengths, formats) != 0)
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", r->table->what);
    /* Prepared on the committing session; the ticker's outbox rows go through another. */
    if (b->prepared_pid != 0 && b->prepared_pid == PQbackendPID(b->db) && preparable(r->table))
        res = cf_store_exec_prepared(b->db, r->table->what, r->table->ncols, values, lengths,
                                     formats, b->sqlstate, why, sizeof why);
    else
        res = cf_store_exec_bin(b->db, r->table->sql, r->table->ncols, values, lengths, formats,
                                b->sqlstate, why, sizeof why);
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "%s: %s", r->table->what, why);
    if (out)
        *out = res;
    else
        PQclear(res);
    return 0;
}

/* Takes the scratch column table for `t`, emptied. */
static cf_rows *table(cf_batch *b, const cf_table *t)
{
    cf_rows_reset(&b->scratch);
    b->scratch.table = t;
    return &b->scratch;
}

static int write_cases(cf_batch *b, char *err, size_t errsz)
{
    cf_rows *r = table(b, &CASES);
    for (size_t i = 0; i < b->cases.n; i++) {
        const cf_case_row *c = &b->cases.v[i];
        char *body = json_dumps(c->body, JSON_COMPACT);
        json_t *team = json_object_get(json_object_get(c->body, "data"), "team");
        if (!body) {
            r->failed = 1;
            break;
        }
        cf_rows_text(r, 0, c->case_no);
        cf_rows_text(r, 1, c->workflow);
        cf_rows_int(r, 2, c->version);
        cf_rows_text(r, 3, c->state);
        cf_rows_int(r, 4, c->seq);
        cf_rows_text(r, 5, body);
        cf_rows_text(r, 6, json_string_value(team));
        cf_rows_time(r, 7, c->created_at);
        cf_rows_time(r, 8, c->updated_at);
        cf_rows_text(r, 9, c->hash);
        cf_rows_end(r);
        free(body);
    }
    return write_rows(b, r, NULL, err, errsz);
}

static int write_timers(cf_batch *b, char *err, size_t errsz)
{
    cf_rows *r = table(b, &TIMERS);
    for (size_t i = 0; i < b->timers.n; i++) {
        cf_rows_text(r, 0, b->timers.v[i].case_no);
        cf_rows_text(r, 1, b->timers.v[i].name);
        cf_rows_text(r, 2, b->timers.v[i].due);
        cf_rows_end(r);
    }
    return write_rows(b, r, NULL, err, errsz);
}

static void new_task(cf_rows *r, const cf_task_row *t)
{
    cf_rows_text(r, 0, t->id);
    cf_rows_text(r, 1, t->case_no);
    cf_rows_text(r, 2, t->activity);
    cf_rows_text(r, 3, t->kind);
    cf_rows_text(r, 4, t->post);
    cf_rows_bool(r, 5, t->worker);
    cf_rows_text(r, 6, t->status);
    cf_rows_text(r, 7, t->title);
    cf_rows_text(r, 8, t->params);
    cf_rows_text(r, 9, t->due);
    cf_rows_text(r, 10, t->batch_group);
    if (t->dispatched)
        cf_rows_time(r, 11, t->created_at);
    else
        cf_rows_null(r, 11);
    cf_rows_text(r, 12, t->result);
    cf_rows_time(r, 13, t->created_at);
    cf_rows_time(r, 14, t->updated_at);
    cf_rows_text(r, 15, t->court);
    cf_rows_end(r);
}

static int write_tasks(cf_batch *b, char *err, size_t errsz)
{
    cf_rows *r = table(b, &NEW_TASKS);
    int rc;
    for (size_t i = 0; i < b->tasks.n; i++)
        if (b->tasks.v[i].is_new)
            new_task(r, &b->tasks.v[i]);
    if ((rc = write_rows(b, r, NULL, err, errsz)) != 0)
        return rc;
    r = table(b, &TASK_CHANGES);
    for (size_t i = 0; i < b->tasks.n; i++) {
        const cf_task_row *t = &b->tasks.v[i];
        if (t->is_new)
            continue;
        cf_rows_text(r, 0, t->id);
        cf_rows_text(r, 1, t->status);
        cf_rows_text(r, 2, t->result);
        cf_rows_time(r, 3, t->updated_at);
        cf_rows_end(r);
    }
    return write_rows(b, r, NULL, err, errsz);
}

static int write_dead_notices_dups(cf_batch *b, char *err, size_t errsz)
{
    cf_rows *r = table(b, &DEAD);
    int rc;
    for (size_t i = 0; i < b->dead.n; i++) {
        const cf_dead_row *d = &b->dead.v[i];
        cf_rows_text(r, 0, d->event_id);
        cf_rows_text(r, 1, d->case_no);
        cf_rows_text(r, 2, d->reason);
        cf_rows_text(r, 3, d->topic);
        cf_rows_int(r, 4, d->partition);
        cf_rows_int(r, 5, d->offset);
        cf_rows_int(r, 6, d->size);
        cf_rows_end(r);
    }
    if ((rc = write_rows(b, r, NULL, err, errsz)) != 0)
        return rc;
    r = table(b, &NOTICES);
    for (size_t i = 0; i < b->notices.n; i++) {
        const cf_notice_row *n = &b->notices.v[i];
        cf_rows_text(r, 0, n->key);
        cf_rows_text(r, 1, n->post);
        cf_rows_text(r, 2, n->kind);
        cf_rows_text(r, 3, n->case_no);
        cf_rows_text(r, 4, n->title);
        cf_rows_text(r, 5, n->body);
        cf_rows_time(r, 6, n->at);
        cf_rows_text(r, 7, n->court);
        cf_rows_end(r);
    }
    if ((rc = write_rows(b, r, NULL, err, errsz)) != 0)
        return rc;
    r = table(b, &DUPS);
    for (size_t i = 0; i < b->dups.n; i++) {
        cf_rows_text(r, 0, b->dups.v[i].event_id);
        cf_rows_int(r, 1, b->dups.v[i].count);
        cf_rows_end(r);
    }
    return write_rows(b, r, NULL, err, errsz);
}

/* Payloads shorter than this are stored as they are: deflating them saves little. */
enum { DEFLATE_FROM = 256 };

/* What deflating a batch's payloads reuses: one zlib stream (compress2 sets up and frees 256 KB
 * of state per call, seven times the work of deflating a 1.2 KB payload) and one buffer. */
typedef struct deflater {
    z_stream z;
    int ready; /* deflateInit2 succeeded */
    unsigned char *buf;
    size_t cap;
} deflater;

/*
 * Adds `o`'s payload to column 3 of `r` and its inflated length to column 4: deflated (zlib,
 * level 1: the fastest) when it is long enough and that makes it shorter, else as it is with a
 * NULL length.  The relay's sweep inflates it again (stored_payload in relay.c).  The row keeps
 * the plain payload: it is what the relay publishes.
 */
static void add_payload(cf_rows *r, const cf_outbox_row *o, deflater *d)
{
    size_t n = o->len >= DEFLATE_FROM && o->len <= INT32_MAX && d->ready
                   ? (size_t)deflateBound(&d->z, (uLong)o->len)
                   : 0;

    if (n > d->cap) {
        unsigned char *nb = realloc(d->buf, n);
        if (nb) {
            d->buf = nb;
            d->cap = n;
        }
    }
    if (n > 0 && n <= d->cap && deflateReset(&d->z) == Z_OK) {
        d->z.next_in = (Bytef *)o->payload;
        d->z.avail_in = (uInt)o->len;
        d->z.next_out = d->buf;
        d->z.avail_out = (uInt)d->cap;
        if (deflate(&d->z, Z_FINISH) == Z_STREAM_END && d->z.total_out < o->len) {
            cf_rows_textn(r, 3, (const char *)d->buf, d->z.total_out);
            cf_rows_int(r, 4, (long long)o->len);
            return;
        }
    }
    cf_rows_textn(r, 3, o->payload, o->len);
    cf_rows_null(r, 4);
}

/* Inserts the outbox rows; their ids come back in *ids (caller frees), in row order. */
static int write_outbox(cf_batch *b, long long **ids, char *err, size_t errsz)
{
    cf_rows *r = table(b, &OUTBOX);
    PGresult *res;
    deflater d = {.ready = 0};
    int rc;

    *ids = NULL;
    /* Level 1, the default window and memory: what uncompress() reads back. */
    d.ready =
        b->outbox.n > 0 && deflateInit2(&d.z, 1, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    for (size_t i = 0; i < b->outbox.n; i++) {
        const cf_outbox_row *o = &b->outbox.v[i];
        cf_rows_text(r, 0, o->topic);
        cf_rows_text(r, 1, o->key);
        cf_rows_text(r, 2, o->msg_id);
        add_payload(r, o, &d);
        cf_rows_end(r);
    }
    if (d.ready)
        deflateEnd(&d.z);
    free(d.buf);
    if ((rc = write_rows(b, r, &res, err, errsz)) != 0 || !res)
        return rc;
    if ((size_t)PQntuples(res) != b->outbox.n) {
        rc = cf_errf(err, errsz, CF_EDB, "writing the outbox: %d ids for %zu rows", PQntuples(res),
                     b->outbox.n);
    } else if (!(*ids = malloc(b->outbox.n * sizeof **ids))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    } else {
        for (int i = 0; i < PQntuples(res); i++)
            (*ids)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }
    PQclear(res);
    return rc;
}

int cf_batch_write_outbox(cf_batch *b, char *err, size_t errsz)
{
    free(b->ids);
    b->ids = NULL;
    return write_outbox(b, &b->ids, err, errsz);
}

/* Moves the offsets on; CF_EFENCED when a partition has a newer owner (generation). */
static int write_offsets(const cf_engine *e, cf_batch *b, char *err, size_t errsz)
{
    cf_rows *r = table(b, &OFFSETS);
    PGresult *res;
    int rc;

    for (size_t i = 0; i < b->offsets.n; i++) {
        cf_rows_int(r, 0, b->offsets.v[i].partition);
        cf_rows_int(r, 1, b->offsets.v[i].next);
        cf_rows_int(r, 2, b->offsets.v[i].generation);
        cf_rows_text(r, 3, e->cfg->group);
        cf_rows_text(r, 4, e->t_events);
        cf_rows_end(r);
    }
    if ((rc = write_rows(b, r, &res, err, errsz)) != 0 || !res)
        return rc;
    if (strtoul(PQcmdTuples(res), NULL, 10) != b->offsets.n)
        rc = cf_errf(err, errsz, CF_EFENCED,
                     "a partition of this batch has a newer owner: the batch is rolled back");
    PQclear(res);
    return rc;
}

/* Writes every table of the batch, timing each statement for the debug log. */
static int write_all(const cf_engine *e, cf_batch *b, long long **ids, char *err, size_t errsz)
{
    long long t[8];
    int rc;

    t[0] = cf_wall_ms();
    if ((rc = write_offsets(e, b, err, errsz)) || (t[1] = cf_wall_ms(), 0) ||
        (rc = write_rows(b, &b->events, NULL, err, errsz)) || (t[2] = cf_wall_ms(), 0) ||
        (rc = write_cases(b, err, errsz)) || (t[3] = cf_wall_ms(), 0) ||
        (rc = write_timers(b, err, errsz)) || (t[4] = cf_wall_ms(), 0) ||
        (rc = write_tasks(b, err, errsz)) || (t[5] = cf_wall_ms(), 0) ||
        (rc = write_dead_notices_dups(b, err, errsz)) || (t[6] = cf_wall_ms(), 0) ||
        (rc = write_outbox(b, ids, err, errsz)))
        return rc;
    t[7] = cf_wall_ms();
    cf_debug("commit: offsets %lld ms, events %lld, cases %lld, timers %lld, tasks %lld, "
             "dead letters, notices and duplicates %lld, outbox %lld",
             t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5],
             t[7] - t[6]);
    return 0;
}

/*
 * Prepares every table's statement on the batch's session, once per session: a batch of 500
 * case.filed runs eight of them, and a batch of a few events (the engine at a low rate) spends
 * more on parsing and planning them than on its rows.  Each is prepared under its table's
 * `what`.  The two batches of an engine share one session, so the second finds them prepared
 * already (42P05), which is no error here, outside the transaction.
 */
static int prepare_all(cf_batch *b, char *err, size_t errsz)
{
    char why[512];
    int pid = PQbackendPID(b->db);

    if (pid != 0 && pid == b->prepared_pid)
        return 0;
    for (size_t i = 0; i < sizeof TABLES / sizeof *TABLES; i++)
        if (cf_store_prepare(b->db, TABLES[i]->what, TABLES[i]->sql, TABLES[i]->ncols, b->sqlstate,
                             why, sizeof why) != 0 &&
            strcmp(b->sqlstate, "42P05") != 0)
            return cf_errf(err, errsz, CF_EDB, "preparing %s: %s", TABLES[i]->what, why);
    b->sqlstate[0] = '\0';
    b->prepared_pid = pid;
    return 0;
}

int cf_batch_commit(const cf_engine *e, cf_batch *b, char *err, size_t errsz)
{
    long long *ids = NULL;
    int rc;
    PGresult *res;

    b->sqlstate[0] = '\0';
    if (b->broken || b->events.failed)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory building the batch's rows");
    if ((rc = prepare_all(b, err, errsz)) != 0)
        return rc;
    if (!(res = run(b, "begin", "begin", err, errsz)))
        return CF_EDB;
    PQclear(res);
    if ((rc = write_all(e, b, &ids, err, errsz)) != 0)
        goto rollback;
    if (b->clock[0]) {
        const char *p[1] = {b->clock};
        char why[512];
        res = cf_store_exec_state(b->db,
                                  "update engine_clock set now = greatest(now, $1::timestamptz) "
                                  "where id = 1",
                                  1, p, b->sqlstate, why, sizeof why);
        if (!res) {
            rc = cf_errf(err, errsz, CF_EDB, "moving the simulated clock: %s", why);
            goto rollback;
        }
        PQclear(res);
    }
    if (!(res = run(b, "commit", "commit", err, errsz))) {
        free(ids);
        return CF_EDB;
    }
    PQclear(res);
    b->ids = ids;
    return 0;
rollback:
    free(ids);
    /* A session that lacks them after all (a new one under an old pid): prepared next time. */
    if (strcmp(b->sqlstate, "26000") == 0)
        b->prepared_pid = 0;
    PQclear(PQexec(b->db, "rollback"));
    return rc;
}
