/*
 * libFuzzer target for events as the engine takes them: any bytes are read as lines of event
 * envelopes, each checked against its JSON Schema and, when it passes, applied by the transition
 * function (core/machine.h) of the court's workflow (workflows/enforcement_case.yaml) to the
 * state its case has after the lines before, as the engine and `caseflow simulate` do.  The
 * promises checked: an event is refused with a message, or applied giving a state of the
 * workflow one event further on; applying the same event to the same state again gives the
 * same step (the function is pure); neither input is changed.
 *
 * As in `caseflow simulate`, a task id written "@activity" names the task of that activity the
 * case has, so that the seeds (tests/scenarios' events) can carry a case through its life.
 */
#include "fuzz.h"

#include <jansson.h>

#include "core/caseno.h"
#include "core/machine.h"
#include "core/schema.h"
#include "core/workflow.h"

/* The court's workflow, loaded once: loading it takes far longer than applying an event. */
static const cf_workflow *workflow(void)
{
    static cf_workflow *wf;
    char path[4096];
    cf_diags d;

    if (wf)
        return wf;
    cf_diags_init(&d);
    wf = cf_workflow_load(fuzz_source_path("workflows/enforcement_case.yaml", path, sizeof path),
                          &d);
    for (size_t k = 0; k < d.count; k++)
        fprintf(stderr, "%s\n", d.lines[k]);
    cf_diags_free(&d);
    FUZZ_CHECK(wf != NULL);
    return wf;
}

/* Replaces data.task_id "@activity" with the id of the case's task of that activity. */
static void resolve_task_ref(json_t *ev, const json_t *state)
{
    json_t *data = json_object_get(ev, "data");
    const char *ref = json_string_value(json_object_get(data, "task_id"));
    const json_t *id;

    if (!ref || ref[0] != '@')
        return;
    id = json_object_get(json_object_get(json_object_get(state, "activities"), ref + 1), "task_id");
    if (json_is_string(id))
        json_object_set_new(data, "task_id", json_string(json_string_value(id)));
}

/* Whether the event passes the checks the engine makes before the transition function. */
static int acceptable(const cf_workflow *wf, json_t *ev)
{
    char err[512] = "";
    const char *type = json_string_value(json_object_get(ev, "type"));
    const cf_event_decl *decl = type ? cf_workflow_event(wf, type) : NULL;

    cf_caseno_normalize_event(ev);
    if (!decl || !decl->schema || !json_string_value(json_object_get(ev, "case")))
        return 0;
    if (!cf_json_numbers_sane(ev, err, sizeof err)) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    if (cf_schema_validate(decl->schema, ev, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    return 1;
}

/* The time the event is applied at: its own when it has one that parses, as in simulate. */
static cf_time when(const json_t *ev)
{
    cf_time t;
    const char *text = json_string_value(json_object_get(ev, "time"));
    return text && cf_time_parse(text, &t) == 0 ? t : (cf_time)1772413200000; /* 2026-03-02 */
}

/* Applies `ev` to its case in `cases`, checking the transition function's promises. */
static void apply(const cf_workflow *wf, json_t *cases, const json_t *ev)
{
    char err[512] = "", again_err[512] = "";
    const char *case_no = json_string_value(json_object_get(ev, "case"));
    json_t *state = json_object_get(cases, case_no);
    json_t *before = state ? json_deep_copy(state) : NULL, *ev_before = json_deep_copy(ev);
    cf_time now = when(ev);
    cf_step step, again;
    int rc = cf_machine_apply(wf, state, ev, now, &step, err, sizeof err);
    int rc2 = cf_machine_apply(wf, state, ev, now, &again, again_err, sizeof again_err);

    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(json_equal(ev, ev_before) && (!state || json_equal(state, before)));
    if (rc != 0) {
        FUZZ_CHECK(err[0] != '\0' && strcmp(err, again_err) == 0);
        FUZZ_CHECK(step.state == NULL && step.actions == NULL && step.acts == NULL);
    } else {
        const char *to = json_string_value(json_object_get(step.state, "state"));
        FUZZ_CHECK(to && cf_workflow_state_index(wf, to) >= 0 && strcmp(to, step.to) == 0);
        FUZZ_CHECK(json_is_array(step.actions) && step.nacts == json_array_size(step.actions));
        {
            /* The typed actions render as the JSON the event log keeps. */
            json_t *typed = cf_step_actions_json(step.acts, step.nacts);
            FUZZ_CHECK(json_equal(typed, step.actions));
            json_decref(typed);
        }
        FUZZ_CHECK(json_equal(step.state, again.state) && json_equal(step.actions, again.actions));
        FUZZ_CHECK(json_integer_value(json_object_get(step.state, "seq")) ==
                   (state ? json_integer_value(json_object_get(state, "seq")) : 0) + 1);
        FUZZ_CHECK(json_object_set(cases, case_no, step.state) == 0);
        cf_step_clear(&step);
        cf_step_clear(&again);
    }
    json_decref(before);
    json_decref(ev_before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const cf_workflow *wf = workflow();
    const char *p = (const char *)data, *end = p + size;
    json_t *cases = json_object();

    FUZZ_CHECK(cases != NULL);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        json_t *ev = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);

        if (json_is_object(ev)) {
            resolve_task_ref(
                ev, json_object_get(cases, json_string_value(json_object_get(ev, "case"))));
            if (acceptable(wf, ev))
                apply(wf, cases, ev);
        }
        json_decref(ev);
        p += len + 1;
    }
    json_decref(cases);
    return 0;
}
