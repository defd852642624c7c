/*
 * The completion form of a staff task: what the workflow declares its result holds (the
 * `result:` of a staff task, core/workflow.h's cf_result_field), as JSON for a client that draws
 * the form, and the check of a result against it; the same for a decision's `fields:`.  Pure: no
 * I/O.
 */
#ifndef CF_FORM_H
#define CF_FORM_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/workflow.h"

/*
 * The form of `kind` (a staff task of `wf`): {kind, title, declared, fields: [{name, type,
 * title, help, required, required_if: {field: value}, choices: [{value, title}], max}]}.
 * `declared` is false when the workflow says nothing about the result (the client then offers
 * a free note).  `court` is the view of `wf` of the case's court (engine/registry.h), or NULL
 * (`wf` itself): a post that is one of `wf`'s teams and not one of the court's is no choice of a
 * post field (#16: a court with four teams offers those four).  New reference, NULL when memory
 * runs out.
 */
json_t *cf_form_json(const cf_workflow *wf, const cf_task_kind *kind, const cf_workflow *court);

/* The `fields` array of such a form for any `n` fields (a decision's `fields:` too), `court` as
 * for cf_form_json.  New reference, NULL when memory runs out. */
json_t *cf_form_fields_json(const cf_workflow *wf, const cf_workflow *court,
                            const cf_result_field *fields, size_t n);

/*
 * Checks `result` (a JSON object) against the fields `kind` declares: each declared field that
 * is there has its type, and a required one is there (a required_if one when its yes/no field
 * has the value).  Members the form does not declare pass: programs may send more than the
 * form asks, and the workflow's dry run judges them.  A kind that declares no result accepts any
 * object.  A post field's value is also refused when it is a team of `wf` that `court` (as for
 * cf_form_json; either may be NULL) does not have.
 * Returns 0, or CF_EINVAL with "/result/<field>: what is wrong" in `err` (names and types,
 * never the values, which may be personal data).
 */
int cf_form_check(const cf_workflow *wf, const cf_task_kind *kind, const cf_workflow *court,
                  const json_t *result, char *err, size_t errsz) CF_MUST_CHECK;

/* The same check of object `obj` against `n` fields, naming a field "<at>/<field>" in `err`
 * (at "/result" for a task's result, "" for a decision, whose fields are the body's own). */
int cf_form_check_fields(const cf_workflow *wf, const cf_workflow *court,
                         const cf_result_field *fields, size_t n, const json_t *obj, const char *at,
                         char *err, size_t errsz) CF_MUST_CHECK;

#endif
