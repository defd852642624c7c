/* Loading the engine's workflows and finding them by name, version and creating event. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void cf_registry_free(cf_registry *r)
{
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
