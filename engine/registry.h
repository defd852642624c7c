/*
 * The workflows an engine runs, by name and version: a case stays on the
 * version it was created under, and a new case gets the newest version of the
 * workflow that its first event creates.
 */
#ifndef CF_REGISTRY_H
#define CF_REGISTRY_H

#include "core/workflow.h"

typedef struct cf_registry {
    cf_workflow **wf;
    size_t n;
} cf_registry;

/*
 * Loads every file in `paths`.  Returns 0, or CF_EINVAL with the first problems
 * ("file:line:column: message", several separated by newlines) in `err`.
 * Two files with the same name and version are refused.  Free with cf_registry_free.
 */
int cf_registry_load(cf_registry *r, char *const *paths, size_t n, char *err,
                     size_t errsz) CF_MUST_CHECK;
void cf_registry_free(cf_registry *r);

/* The workflow `name` at `version`, or NULL. */
const cf_workflow *cf_registry_find(const cf_registry *r, const char *name, int version);

/* The newest workflow created by events of `type`, or NULL when no workflow starts with it. */
const cf_workflow *cf_registry_creator(const cf_registry *r, const char *type);

/* The schema of event `type` (any workflow's, or the schema folder's for control events such as
 * clock.advance), or NULL when no workflow knows the type. */
const cf_schema *cf_registry_schema(const cf_registry *r, const char *type);

/* The title of post `id` in the first workflow of `r` that names it ("执行一团队"), or NULL. */
const char *cf_registry_post_title(const cf_registry *r, const char *id);

#endif
