/*
 * Who may make a workflow's decision, and where (`decisions:`, core/workflow.h's cf_decision):
 * the rule the transition function applies to a case.decided event, and the server to list the
 * decisions a caller may make on a case, in one place.  Pure: no I/O.
 */
#ifndef CF_DECISION_H
#define CF_DECISION_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/workflow.h"

/* 1 when decision `d` may be made in state `state` of `wf` (its `in`, its `except`, and never in
 * a final state), else 0. */
int cf_decision_open(const cf_workflow *wf, const cf_decision *d, const char *state);

/*
 * Whether staff of `post` may make decision `d`: one of its `by` posts, an expression among them
 * evaluated against `root` (the expressions' root: {case, state, settings, ...}).  `posts`
 * (`postsz` bytes, may be NULL) gets the posts that may, "a or b", for a refusal.  Returns 1
 * when `post` may, 0 when not, or CF_EINVAL with the expression's error in `err`.
 */
int cf_decision_by(const cf_decision *d, const json_t *root, const char *post, char *posts,
                   size_t postsz, char *err, size_t errsz) CF_MUST_CHECK;

/* The expressions' root for `by` on the case whose stored state is `state`, as the transition
 * function has it before an event: {case, activities, timers, state, settings}.  New reference,
 * NULL when memory runs out or `state` has no data. */
json_t *cf_decision_root(const cf_workflow *wf, const json_t *state);

/*
 * The decisions staff of `post` may make on the case whose stored state is `state` (as
 * core/machine.h describes it) under `wf`: [{decision, title, fields: (as cf_form_fields_json)}]
 * in the workflow's order.  New reference; NULL when memory runs out or an expression of a `by`
 * fails (`err` says which).
 */
json_t *cf_decision_list(const cf_workflow *wf, const json_t *state, const char *post, char *err,
                         size_t errsz);

#endif
