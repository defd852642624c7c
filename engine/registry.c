/* Loading the engine's workflows and finding them by name, version and creating event. */
#include "registry.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "core/caseno.h"

int cf_registry_load(cf_registry *r, char *const *paths, size_t n, char *err, size_t errsz)
{
    memset(r, 0, sizeof *r);
    if (n == 0)
        return cf_errf(err, errsz, CF_EINVAL, "no workflows configured (setting 'workflows')");
    r->wf = calloc(n, sizeof *r->wf);
    if (!r->wf)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        cf_diags d;
        cf_diags_init(&d);
        r->wf[i] = cf_workflow_load(paths[i], &d);
        if (!r->wf[i]) {
            size_t used = 0;
            cf_errf(err, errsz, CF_EINVAL, "%s", "");
            for (size_t k = 0; k < d.count && k < 5 && err; k++)
                used += (size_t)snprintf(err + used, used < errsz ? errsz - used : 0, "%s%s",
                                         k ? "\n" : "", d.lines[k] ? d.lines[k] : "");
            cf_diags_free(&d);
            return CF_EINVAL;
        }
        cf_diags_free(&d);
        r->n++;
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->wf[k]->name, r->wf[i]->name) == 0 &&
                r->wf[k]->version == r->wf[i]->version)
                return cf_errf(err, errsz, CF_EINVAL, "%s: workflow %s version %d is loaded twice",
                               paths[i], r->wf[i]->name, r->wf[i]->version);
    }
    return 0;
}

static void free_courts(cf_registry *r)
{
    for (size_t c = 0; c < r->ncourts; c++) {
        cf_registry_court *k = &r->courts[c];
        /* A view is a struct copy of its workflow: only the copy is the view's. */
        for (size_t i = 0; k->views && k->wf && i < r->n; i++)
            free(k->wf[i]);
        free(k->wf);
        cf_calendar_free(k->calendar);
        for (size_t t = 0; t < k->nteams; t++)
            free(k->teams[t]);
        free(k->teams);
    }
    free(r->courts);
    r->courts = NULL;
    r->ncourts = 0;
}

/* Court `c`'s own calendar and teams from its configuration `k`, and its views. */
static int add_court(cf_registry *r, cf_registry_court *c, const cf_court_cfg *k, char *err,
                     size_t errsz)
{
    snprintf(c->code, sizeof c->code, "%s", k->code);
    if (k->calendar) {
        char path[PATH_MAX], why[512];
        if (!(c->calendar =
                  cf_calendar_load(cf_path_find(k->calendar, path, sizeof path), why, sizeof why)))
            return cf_errf(err, errsz, CF_EINVAL, "%s: courts: calendar of %s: %s", k->calendar_at,
                           k->code, why);
    }
    if (k->nteams) {
        if (!(c->teams = calloc(k->nteams, sizeof *c->teams)))
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        for (size_t t = 0; t < k->nteams; t++) {
            for (size_t i = 0; i < r->n; i++)
                if (r->wf[i]->nteams && !cf_workflow_post(r->wf[i], k->teams[t]))
                    return cf_errf(err, errsz, CF_EINVAL,
                                   "%s: courts: team '%s' of %s is not a post of workflow %s",
                                   k->teams_at, k->teams[t], k->code, r->wf[i]->name);
            if (!(c->teams[c->nteams++] = strdup(k->teams[t])))
                return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        }
    }
    if (!(c->wf = calloc(r->n + 1, sizeof *c->wf)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    c->views = c->calendar || c->teams;
    for (size_t i = 0; i < r->n; i++) {
        cf_workflow *v = r->wf[i];
        if (c->views) {
            if (!(v = malloc(sizeof *v)))
                return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            *v = *r->wf[i];
            if (c->calendar)
                v->calendar = c->calendar;
            if (c->teams && v->nteams) {
                v->teams = (const char **)c->teams;
                v->nteams = c->nteams;
                v->team_pos = NULL; /* positions are the loader's, which never sees a view */
            }
        }
        c->wf[i] = v;
    }
    return 0;
}

int cf_registry_courts(cf_registry *r, const cf_config *cfg, char *err, size_t errsz)
{
    int rc;

    free_courts(r);
    if (!(r->courts = calloc(cfg->ncourts + 1, sizeof *r->courts)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    for (size_t c = 0; c < cfg->ncourts; c++)
        if ((rc = add_court(r, &r->courts[r->ncourts++], &cfg->courts[c], err, errsz)) != 0)
            return rc;
    return 0;
}

int cf_registry_court_of(const cf_registry *r, const char *key, const char *filed, char *err,
                         size_t errsz)
{
    char buf[32];
    const char *code;
    size_t used = 0;

    if (r->ncourts == 0)
        return 0;
    if (!(code = cf_caseno_court(key, filed, buf, sizeof buf)))
        return 0;
    if (filed && *filed && strcmp(code, filed) != 0) {
        snprintf(err, errsz, "case %s is of court %s by its number, but its filing names court %s",
                 key, code, filed);
        return -1;
    }
    for (size_t c = 0; c < r->ncourts; c++)
        if (strcmp(r->courts[c].code, code) == 0)
            return (int)c;
    used = (size_t)snprintf(err, errsz,
                            "case %s is of court %s, which this installation does not "
                            "serve (courts: ",
                            key ? key : "-", code);
    for (size_t c = 0; c < r->ncourts && used < errsz; c++)
        used +=
            (size_t)snprintf(err + used, errsz - used, "%s%s", c ? ", " : "", r->courts[c].code);
    if (used < errsz)
        snprintf(err + used, errsz - used, ")");
    return -1;
}

const char *cf_registry_court_code(const cf_registry *r, const char *key, const char *filed)
{
    char why[256];
    int c = cf_registry_court_of(r, key, filed, why, sizeof why);
    return r->ncourts && c >= 0 ? r->courts[c].code : NULL;
}

const cf_workflow *cf_registry_in_court(const cf_registry *r, int court, const cf_workflow *wf)
{
    if (court < 0 || (size_t)court >= r->ncourts)
        return wf;
    for (size_t i = 0; i < r->n; i++)
        if (r->wf[i] == wf)
            return r->courts[court].wf[i];
    return wf;
}

const cf_workflow *cf_registry_for_case(const cf_registry *r, const cf_workflow *wf,
                                        const char *case_no, const json_t *state)
{
    char why[256];
    const char *filed = json_string_value(json_object_get(json_object_get(state, "data"), "court"));
    return cf_registry_in_court(r, cf_registry_court_of(r, case_no, filed, why, sizeof why), wf);
}

void cf_registry_free(cf_registry *r)
{
    free_courts(r);
    for (size_t i = 0; i < r->n; i++)
        cf_workflow_free(r->wf[i]);
    free(r->wf);
    memset(r, 0, sizeof *r);
}

const cf_workflow *cf_registry_find(const cf_registry *r, const char *name, int version)
{
    for (size_t i = 0; name && i < r->n; i++)
        if (strcmp(r->wf[i]->name, name) == 0 && r->wf[i]->version == version)
            return r->wf[i];
    return NULL;
}

const cf_workflow *cf_registry_creator(const cf_registry *r, const char *type)
{
    const cf_workflow *best = NULL;
    for (size_t i = 0; type && i < r->n; i++)
        if (strcmp(r->wf[i]->creates_on, type) == 0 && (!best || r->wf[i]->version > best->version))
            best = r->wf[i];
    return best;
}

const cf_schema *cf_registry_schema(const cf_registry *r, const char *type)
{
    for (size_t i = 0; type && i < r->n; i++) {
        const cf_event_decl *e = cf_workflow_event(r->wf[i], type);
        if (e && e->schema)
            return e->schema;
    }
    /* Control events are no workflow's, but their schemas sit in the same folder. */
    if (type && strncmp(type, "clock.", 6) == 0 && r->n > 0)
        return cf_schema_set_get(r->wf[0]->schemas, type);
    return NULL;
}

const char *cf_registry_post_title(const cf_registry *r, const char *id)
{
    for (size_t i = 0; id && i < r->n; i++) {
        const cf_post *p = cf_workflow_post(r->wf[i], id);
        if (p && p->title)
            return p->title;
    }
    return NULL;
}
