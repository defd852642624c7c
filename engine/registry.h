/*
 * The workflows an engine runs, by name and version: a case stays on the
 * version it was created under, and a new case gets the newest version of the
 * workflow that its first event creates.
 */
#ifndef CF_REGISTRY_H
#define CF_REGISTRY_H

#include "base/config.h"
#include "core/workflow.h"

/*
 * A court the installation serves, with its views of the registry's workflows: the same
 * definitions with the court's calendar and teams (a view's members point into its workflow,
 * which outlives it).  A court that changes neither has the workflows themselves as its views.
 */
typedef struct cf_registry_court {
    char code[32];
    cf_calendar *calendar; /* the court's own, or NULL */
    char **teams;          /* the court's own, or NULL */
    size_t nteams;
    cf_workflow **wf; /* its views, one per workflow of the registry, in the same order */
    int views;        /* 1 when wf[] are views this entry owns, 0 when they are the workflows */
} cf_registry_court;

typedef struct cf_registry {
    cf_workflow **wf;
    size_t n;
    cf_registry_court *courts; /* none: every court is served, on the workflows as loaded */
    size_t ncourts;
} cf_registry;

/*
 * Loads every file in `paths`.  Returns 0, or CF_EINVAL with the first problems
 * ("file:line:column: message", several separated by newlines) in `err`.
 * Two files with the same name and version are refused.  Free with cf_registry_free.
 */
int cf_registry_load(cf_registry *r, char *const *paths, size_t n, char *err,
                     size_t errsz) CF_MUST_CHECK;
void cf_registry_free(cf_registry *r);

/*
 * Gives the loaded registry the courts of `cfg` (cfg->courts): loads each court's calendar
 * (found by cf_path_find) and checks its teams against the posts of every workflow that deals
 * cases to teams.  Returns 0, or CF_EINVAL with "file:line:column: courts: what is wrong" (where
 * the configuration names it) in `err`.
 */
int cf_registry_courts(cf_registry *r, const cf_config *cfg, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * The court a case belongs to (core/caseno.h, cf_caseno_court: its key's court code, else
 * `filed`, the court its filing named, else the home court, the first configured): its index in
 * r->courts, or 0 when no courts are configured.  -1 when the installation does not serve it, or
 * when the key's court code and `filed` disagree, with the reason in `err`.
 */
int cf_registry_court_of(const cf_registry *r, const char *key, const char *filed, char *err,
                         size_t errsz);

/* The code of the court case `key` belongs to (as cf_registry_court_of), or NULL when no courts
 * are configured or the installation does not serve it.  Points into `r`. */
const char *cf_registry_court_code(const cf_registry *r, const char *key, const char *filed);

/* Court `court`'s view of workflow `wf` (one of r->wf), or `wf` itself when there are no courts
 * or `court` is out of range. */
const cf_workflow *cf_registry_in_court(const cf_registry *r, int court, const cf_workflow *wf);

/* The view of `wf` that case `case_no`, whose stored state is `state` (its data.court is the
 * court its filing named), runs on: what the engine applied its events with, and so what replay
 * must use.  `wf` itself when its court is not served (replay then tells what differs). */
const cf_workflow *cf_registry_for_case(const cf_registry *r, const cf_workflow *wf,
                                        const char *case_no, const json_t *state);

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
