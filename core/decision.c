/*
 * The rule of a workflow's decisions: in which states one may be made, and by staff of which
 * posts.  The transition function (machine.c) refuses a case.decided event that breaks it; the
 * server lists what a caller may decide with the same functions.
 */
#include "decision.h"

#include <stdio.h>
#include <string.h>

#include "core/expr.h"
#include "core/form.h"

int cf_decision_open(const cf_workflow *wf, const cf_decision *d, const char *state)
{
    int s = state ? cf_workflow_state_index(wf, state) : -1;
    int ok = d->nin == 0;

    if (s < 0)
        return 0;
    for (size_t i = 0; i < d->nin; i++)
        ok |= d->in[i] && strcmp(d->in[i], state) == 0;
    for (size_t i = 0; ok && i < d->nexcept; i++)
        ok &= !d->except[i] || strcmp(d->except[i], state) != 0;
    return ok && !wf->states[s].final;
}

int cf_decision_by(const cf_decision *d, const json_t *root, const char *post, char *posts,
                   size_t postsz, char *err, size_t errsz)
{
    size_t o = 0;
    int may = 0;

    if (posts && postsz)
        posts[0] = '\0';
    for (size_t i = 0; i < d->nby && !may; i++) {
        json_t *v = NULL;
        const char *want = d->by[i].post;
        if (d->by[i].expr) {
            char why[256];
            if (cf_expr_eval(d->by[i].expr, root, &v, why, sizeof why) != 0)
                return cf_errf(err, errsz, CF_EINVAL, "%s", why);
            want = json_string_value(v);
        }
        if (want && posts && o + 1 < postsz) {
            o += (size_t)snprintf(posts + o, postsz - o, "%s%s", o ? " or " : "", want);
            if (o >= postsz)
                o = postsz - 1;
        }
        may = want && post && strcmp(want, post) == 0;
        json_decref(v);
    }
    return may;
}

json_t *cf_decision_root(const cf_workflow *wf, const json_t *state)
{
    if (!json_is_object(json_object_get(state, "data")))
        return NULL;
    return json_pack("{s:O, s:O?, s:O?, s:O?, s:O?}", "case", json_object_get(state, "data"),
                     "activities", json_object_get(state, "activities"), "timers",
                     json_object_get(state, "timers"), "state", json_object_get(state, "state"),
                     "settings", wf->settings_json);
}

json_t *cf_decision_list(const cf_workflow *wf, const json_t *state, const char *post, char *err,
                         size_t errsz)
{
    const char *st = json_string_value(json_object_get(state, "state"));
    json_t *list = json_array();
    json_t *root = cf_decision_root(wf, state);
    int may;

    if (!list || !root)
        goto fail;
    for (size_t i = 0; i < wf->ndecisions; i++) {
        const cf_decision *d = &wf->decisions[i];
        json_t *fields;
        if (!cf_decision_open(wf, d, st))
            continue;
        if ((may = cf_decision_by(d, root, post, NULL, 0, err, errsz)) < 0)
            goto fail;
        if (!may)
            continue;
        fields = cf_form_fields_json(wf, NULL, d->fields, d->nfields);
        if (!fields || json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "decision", d->name,
                                                             "title", d->title ? d->title : d->name,
                                                             "fields", fields)) != 0)
            goto fail;
    }
    json_decref(root);
    return list;
fail:
    if (err && errsz && !err[0])
        snprintf(err, errsz, "out of memory");
    json_decref(root);
    json_decref(list);
    return NULL;
}
