/* The completion form of a staff task: the task, its case's workflow, the fields declared, and
 * the task's params. */
#include "taskform.h"

#include <stdlib.h>

#include "io/store.h"
#include "core/form.h"
#include "engine/queue.h"

/*
 * What the workflow gave the task to work from (its params): the payment clerk's candidate cases
 * with their confidence, a payout's balance and the account it must go to.  Only staff of the
 * task's post reach the form, and they need it to fill it in.
 */
static int add_params(PGconn *db, const char *id, json_t *out, char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db, "select params from tasks where task_id = $1", 1,
                                  (const char *[]){id}, err, errsz);
    json_t *params = NULL;

    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1)
        params = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    json_object_set_new(out, "params", params ? params : json_object());
    return 0;
}

/* The view of `wf` of the court of task `t`'s case (its row in `res`), whose teams the form
 * offers (#16). */
static const cf_workflow *court_view(const cf_registry *reg, const cf_workflow *wf,
                                     const cf_task *t, PGresult *res)
{
    char why[256];
    const char *filed = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    return cf_registry_in_court(reg, cf_registry_court_of(reg, t->case_no, filed, why, sizeof why),
                                wf);
}

json_t *cf_task_form(PGconn *db, const cf_registry *reg, const char *id, const char *reach, int *rc,
                     char *err, size_t errsz)
{
    cf_task t;
    PGresult *res;
    const cf_workflow *wf = NULL;
    const cf_task_kind *kind;
    json_t *out = NULL;

    if ((*rc = cf_queue_get(db, id, reach, &t, err, errsz)) != 0)
        return NULL;
    if (t.worker) {
        *rc = cf_errf(err, errsz, CF_ENOTFOUND, "task %s is a worker's: it has no form", id);
        return NULL;
    }
    res = cf_store_exec(db,
                        "select workflow, version, body -> 'data' ->> 'court' from cases where "
                        "case_no = $1",
                        1, (const char *[]){t.case_no}, err, errsz);
    if (!res) {
        *rc = CF_EDB;
        return NULL;
    }
    if (PQntuples(res) == 1)
        wf = cf_registry_find(reg, PQgetvalue(res, 0, 0), atoi(PQgetvalue(res, 0, 1)));
    if (!wf || !(kind = cf_workflow_kind(wf, t.kind)) || kind->worker) {
        *rc = cf_errf(err, errsz, CF_ENOTFOUND,
                      "the workflow of task %s's case (or its kind %s) is not loaded", id, t.kind);
    } else if (!(out = json_pack("{s:o, s:s, s:i, s:o}", "task", cf_queue_task_json(&t), "workflow",
                                 wf->name, "version", wf->version, "form",
                                 cf_form_json(wf, kind, court_view(reg, wf, &t, res))))) {
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    } else if ((*rc = add_params(db, id, out, err, errsz)) != 0) {
        json_decref(out);
        out = NULL;
    }
    PQclear(res);
    return out;
}
