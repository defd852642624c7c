/*
 * libFuzzer target for the workflow language (core/workflow.h): any bytes are loaded and checked
 * as a workflow definition, as `caseflow check` does.  The text is named as a file in
 * tests/workflows/, so that the relative calendar and schema paths of the seeds (made from
 * tests/workflows/small.yaml) find the court's calendar and event schemas.  A definition is
 * refused with problems, each "file:line:column: message", or loaded with none; a loaded one is
 * consistent with itself (its initial state and every transition's target are its states).
 */
#include "fuzz.h"

#include "core/workflow.h"

static void check_loaded(const cf_workflow *wf)
{
    FUZZ_CHECK(wf->nstates > 0 && wf->initial >= 0 && (size_t)wf->initial < wf->nstates);
    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *st = &wf->states[i];
        FUZZ_CHECK(cf_workflow_state_index(wf, st->name) >= 0);
        for (size_t k = 0; k < st->non; k++) {
            const cf_transition *t = &st->on[k];
            if (t->to)
                FUZZ_CHECK(t->to_index >= 0 && (size_t)t->to_index < wf->nstates &&
                           strcmp(wf->states[t->to_index].name, t->to) == 0);
        }
    }
    for (size_t i = 0; i < wf->nkinds; i++)
        FUZZ_CHECK(cf_workflow_kind(wf, wf->kinds[i].name) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[4096];
    cf_diags d;
    cf_workflow *wf;

    if (!path[0])
        fuzz_source_path("tests/workflows/fuzz.yaml", path, sizeof path);
    cf_diags_init(&d);
    wf = cf_workflow_parse(path, (const char *)data, size, &d);
    if (wf) {
        FUZZ_CHECK(d.count == 0 && d.lost == 0);
        check_loaded(wf);
        cf_workflow_free(wf);
    } else {
        FUZZ_CHECK(d.count > 0 || d.lost > 0);
    }
    /* Problems of the definition itself name it; those of its calendar name the calendar. */
    for (size_t k = 0; k < d.count; k++)
        if (d.lines[k] && strncmp(d.lines[k], path, strlen(path)) == 0)
            fuzz_check_position(d.lines[k], path);
    cf_diags_free(&d);
    return 0;
}
