/*
 * Decisions staff make on a case (`decisions:` of its workflow, sent as case.decided): the ones
 * a post may make on a case now, with their forms, and the sending of one in an account's name,
 * checked against the form and the workflow (a dry run of the transition function) first.
 */
#ifndef CF_DECIDE_H
#define CF_DECIDE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"
#include "engine/queue.h"
#include "engine/registry.h"

/*
 * {case, workflow, version, state, state_title, decisions: (as cf_decision_list)} for case
 * `case_no`: the decisions staff of `post` may make on it now.  NULL with `*rc`: CF_ENOTFOUND
 * (no such case, or its workflow version is not loaded here), CF_EDB or CF_ENOMEM.
 */
json_t *cf_decide_list(PGconn *db, const cf_registry *reg, const char *case_no, const char *post,
                       int *rc, char *err, size_t errsz);

/*
 * Sends decision `body` ({"decision": name, field: value, ...}) on case `case_no` as staff of
 * a->post, account a->account: source staff:<post>:<account>, time the engine's clock, id made
 * from `key` (the client's Idempotency-Key: the same key from the same account on the same case
 * is the same event) or fresh when `key` is NULL.  Before sending it checks who may make the
 * decision where (core/decision.h), the decision's form, the event's schema, and the case's
 * state run through the workflow.  Returns 0 with `out` filled once Kafka has it, or
 *   CF_EDUP      the event of that key is applied already (`out` names it; nothing sent);
 *   CF_ENOTFOUND no such case, or its workflow version is not loaded here;
 *   CF_EPERM     staff of a->post may not make this decision;
 *   CF_ESTATE    not in the case's state, or the workflow refuses it (its reason in `err`);
 *   CF_EINVAL    the body does not fit: `err` starts with the field, "/<name>: ...";
 *   CF_ESCHEMA, CF_EKAFKA, CF_ETIMEOUT, CF_EDB, CF_ENOMEM, CF_EIO.
 */
int cf_decide_send(PGconn *db, const cf_queue_ctx *ctx, const char *case_no, const cf_actor *a,
                   const json_t *body, const char *key, cf_queue_sent *out, char *err,
                   size_t errsz) CF_MUST_CHECK;

#endif
