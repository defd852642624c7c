/*
 * The completion form of one staff task, for the workplace: the task and the fields the
 * workflow its case was filed under declares for the task's result (core/form.h).
 */
#ifndef CF_TASKFORM_H
#define CF_TASKFORM_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "engine/registry.h"

/*
 * {task: (as cf_queue_task_json), workflow, version, form: (as cf_form_json), params: (the
 * task's, e.g. the payment clerk's candidates)} for task `id`,
 * confined to `reach` as cf_queue_get is (NULL: any post).  NULL with `*rc` set: CF_ENOTFOUND
 * (no such task, another post's, a worker's, or its workflow version is not loaded: said in
 * `err`), CF_EDB or CF_ENOMEM.
 */
json_t *cf_task_form(PGconn *db, const cf_registry *reg, const char *id, const char *reach, int *rc,
                     char *err, size_t errsz);

#endif
