/* The completion form of a staff task: the task, its case's workflow, and the fields declared. */
#include "taskform.h"

#include <stdlib.h>

#include "io/store.h"
#include "core/form.h"
#include "engine/queue.h"

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
    res = cf_store_exec(db, "select workflow, version from cases where case_no = $1", 1,
                        (const char *[]){t.case_no}, err, errsz);
    if (!res) {
        *rc = CF_EDB;
        return NULL;
    }
    if (PQntuples(res) == 1)
        wf = cf_registry_find(reg, PQgetvalue(res, 0, 0), atoi(PQgetvalue(res, 0, 1)));
    if (!wf || !(kind = cf_workflow_kind(wf, t.kind)) || kind->worker) {
        *rc = cf_errf(err, errsz, CF_ENOTFOUND,
                      "the workflow of task %s's case (or its kind %s) is not loaded", id, t.kind);
    } else if (!(out =
                     json_pack("{s:o, s:s, s:i, s:o}", "task", cf_queue_task_json(&t), "workflow",
                               wf->name, "version", wf->version, "form", cf_form_json(wf, kind)))) {
        *rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }
    PQclear(res);
    return out;
}
