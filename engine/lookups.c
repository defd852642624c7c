/*
 * What a batch reads from the database before it applies its events: the stored states of its
 * cases (those neither the batches in memory nor the cache hold), the stored bodies of event ids
 * seen before (a repeat must be the same event), and who may report on the tasks it names.  One
 * query each, typed rows out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const char *member(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Grows a lookups array by one zeroed entry, found under `key` in `x`; NULL when memory runs
 * out. */
static void *grow_one(void **v, size_t *n, size_t size, cf_index *x, const char *key)
{
    char *nv = realloc(*v, (*n + 1) * size);
    if (!nv)
        return NULL;
    *v = nv;
    memset(nv + *n * size, 0, size);
    if (cf_index_put(x, key, *n) != 0)
        return NULL;
    return nv + (*n)++ * size;
}

static char *copy_value(PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : strdup(PQgetvalue(res, r, c));
}

/* The stored states (head hash, creation time) of the cases named in `cases`. */
static int read_states(cf_engine *e, lookups *l, const char *cases, char *err, size_t errsz)
{
    const char *p[1] = {cases};
    PGresult *res = cf_store_exec(e->db,
                                  "select case_no, body, head_hash, (extract(epoch from "
                                  "created_at) * 1000)::bigint from cases where case_no = "
                                  "any($1::text[])",
                                  1, p, err, errsz);
    if (!res)
        return CF_EDB;
    for (int r = 0; r < PQntuples(res); r++) {
        json_error_t jerr;
        stored_case *st = grow_one((void **)&l->states, &l->nstates, sizeof *st, &l->state_ix,
                                   PQgetvalue(res, r, 0));
        if (!st) {
            PQclear(res);
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory reading case states");
        }
        st->state = json_loads(PQgetvalue(res, r, 1), 0, &jerr);
        if (!st->state)
            st->error = strdup(jerr.text);
        snprintf(st->hash, sizeof st->hash, "%s", PQgetvalue(res, r, 2));
        st->created_at = strtoll(PQgetvalue(res, r, 3), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* The stored bodies of the events whose ids are in `ids`: only repeated ids come back, and a
 * repeat must be the same event. */
static int read_known(cf_engine *e, lookups *l, const char *ids, char *err, size_t errsz)
{
    const char *p[1] = {ids};
    PGresult *res = cf_store_exec(
        e->db, "select event_id, body::text from events where event_id = any($1::text[])", 1, p,
        err, errsz);
    if (!res)
        return CF_EDB;
    for (int r = 0; r < PQntuples(res); r++) {
        char **k = grow_one((void **)&l->known, &l->nknown, sizeof *k, &l->known_ix,
                            PQgetvalue(res, r, 0));
        if (!k || !(*k = strdup(PQgetvalue(res, r, 1)))) {
            PQclear(res);
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory reading event ids");
        }
    }
    PQclear(res);
    return 0;
}

/* Who may report on the tasks whose ids are in `tasks`. */
static int read_tasks(cf_engine *e, lookups *l, const char *tasks, char *err, size_t errsz)
{
    const char *p[1] = {tasks};
    PGresult *res = cf_store_exec(e->db,
                                  "select task_id, worker, kind, post, claimed_by from tasks "
                                  "where task_id = any($1::text[])",
                                  1, p, err, errsz);
    if (!res)
        return CF_EDB;
    for (int r = 0; r < PQntuples(res); r++) {
        task_owner *t =
            grow_one((void **)&l->tasks, &l->ntasks, sizeof *t, &l->task_ix, PQgetvalue(res, r, 0));
        if (!t) {
            PQclear(res);
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory reading tasks");
        }
        t->worker = *PQgetvalue(res, r, 1) == 't';
        t->kind = copy_value(res, r, 2);
        t->post = copy_value(res, r, 3);
        t->claimed_by = copy_value(res, r, 4);
    }
    PQclear(res);
    return 0;
}

int cf_lookups_read(cf_engine *e, json_t **parsed, size_t n, lookups *l, char *err, size_t errsz)
{
    cf_sqlarr cases, ids, tasks;
    int rc = 0;

    cf_sqlarr_init(&cases);
    cf_sqlarr_init(&ids);
    cf_sqlarr_init(&tasks);
    for (size_t i = 0; i < n; i++) {
        json_t *ev = parsed[i];
        const char *c = member(ev, "case"), *id = member(ev, "id"), *type = member(ev, "type");
        const char *tid = member(json_object_get(ev, "data"), "task_id");
        if (type && strncmp(type, "task.", 5) == 0 && tid)
            cf_sqlarr_add(&tasks, tid);
        if (c && !cf_batch_find_case(e->cur, c) &&
            !(e->inflight && cf_batch_find_case(e->inflight, c)) && !cf_cache_get(e->cache, c))
            cf_sqlarr_add(&cases, c);
        if (id)
            cf_sqlarr_add(&ids, id);
    }
    if (cases.failed || ids.failed || tasks.failed)
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory listing the batch's cases");
    if (rc == 0 && cases.count)
        rc = read_states(e, l, cf_sqlarr_text(&cases), err, errsz);
    if (rc == 0 && ids.count)
        rc = read_known(e, l, cf_sqlarr_text(&ids), err, errsz);
    if (rc == 0 && tasks.count)
        rc = read_tasks(e, l, cf_sqlarr_text(&tasks), err, errsz);
    cf_sqlarr_free(&cases);
    cf_sqlarr_free(&ids);
    cf_sqlarr_free(&tasks);
    return rc;
}

void cf_lookups_init(lookups *l)
{
    memset(l, 0, sizeof *l);
}

void cf_lookups_free(lookups *l)
{
    for (size_t i = 0; i < l->nstates; i++) {
        json_decref(l->states[i].state);
        free(l->states[i].error);
    }
    for (size_t i = 0; i < l->nknown; i++)
        free(l->known[i]);
    for (size_t i = 0; i < l->ntasks; i++) {
        free(l->tasks[i].kind);
        free(l->tasks[i].post);
        free(l->tasks[i].claimed_by);
    }
    free(l->states);
    free(l->known);
    free(l->tasks);
    cf_index_free(&l->state_ix);
    cf_index_free(&l->known_ix);
    cf_index_free(&l->task_ix);
}
