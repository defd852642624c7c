/*
 * The workflow loader's parsers of each section: actions, transitions and states, posts, task
 * kinds and their result fields, events, assignment, settings, statutory clocks and decisions.
 * Each builds its part of the model of workflow.h and reports what is wrong where it stands.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/yamldoc.h"
#include "core/workflow_loader.h"

/* ---- actions ---- */

static const char *const action_keys[] = {
    "task",       "as",          "post",        "due",          "params",
    "title",      "cancel_task", "timer",       "at",           "cancel_timer",
    "set",        "set_time",    "assign",      "notify",       "message",
    "merge",      "start_clock", "pause_clock", "resume_clock", "extend_clock",
    "stop_clock", "from",        "months",      "days",         "ground",
    "for_each",   "key",         "each",        "where",        "record",
    NULL};

static const char *const action_verbs[] = {
    "task",         "cancel_task", "timer",       "cancel_timer",
    "set",          "set_time",    "assign",      "notify",
    "merge",        "start_clock", "pause_clock", "resume_clock",
    "extend_clock", "stop_clock",  "record",      NULL};

/* One value of an action that may be an expression or literal data (months, days, ground). */
static cf_field *single_field(loader *L, yaml_node_t *n, const char *name)
{
    cf_field *f;
    if (!n)
        return NULL;
    f = cf_arena_alloc(L->ar, sizeof *f);
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    f->name = name;
    f->pos = wf_pos_of(n);
    f->text = n->type == YAML_SCALAR_NODE ? wf_text(L, n, name) : NULL;
    if (n->type != YAML_SCALAR_NODE || wf_quoted(n)) {
        f->literal = wf_literal(L, n, 0);
        wf_own_json(L, f->literal);
    } else {
        f->expr = wf_owned_expr(L, n, name);
    }
    return f;
}

static void parse_fields(loader *L, yaml_node_t *n, cf_action *a, int times, const char *what)
{
    size_t i = 0;
    if (!wf_is_map(L, n, what))
        return;
    a->nfields = wf_map_len(n);
    a->fields = wf_alloc_array(L, a->nfields, sizeof *a->fields);
    if (a->nfields && !a->fields)
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = wf_node(L, p->key), *v = wf_node(L, p->value);
        cf_field *f = &a->fields[i];
        f->name = wf_text(L, k, "a field name");
        f->text = v->type == YAML_SCALAR_NODE ? wf_text(L, v, "a field") : NULL;
        f->pos = wf_pos_of(k);
        if (times) {
            f->when = wf_owned_when(L, v, f->name ? f->name : "field");
        } else if (v->type != YAML_SCALAR_NODE || wf_quoted(v)) {
            f->literal = wf_literal(L, v, 0);
            wf_own_json(L, f->literal);
        } else {
            f->expr = wf_owned_expr(L, v, f->name ? f->name : "field");
        }
    }
}

/* Names an expression reads that are words of their own, with no dot. */
static const char *const word_roots[] = {
    "state",        "now",        "event_type",    "event_time",
    "event_source", "event_post", "event_account", NULL};

/* A post written as a plain word (intake, team_1) is a post id; a text with a dot or a call
 * (case.handler_post, coalesce(...)) or a word that an expression reads (event_post) is an
 * expression. */
static int plain_post(const char *s)
{
    if (!*s)
        return 0;
    for (const char *c = s; *c; c++)
        if (*c == '.' || *c == '(' || *c == ' ' || *c == '"' || *c == '\'')
            return 0;
    for (const char *const *w = word_roots; *w; w++)
        if (strcmp(*w, s) == 0)
            return 0;
    return 1;
}

/* A post given as a literal id or, when it is not a declared post, as an expression. */
static void parse_post(loader *L, yaml_node_t *n, cf_action *a)
{
    const char *s = wf_raw(n);
    if (!n)
        return;
    if (n->type == YAML_SCALAR_NODE && plain_post(s)) {
        a->post = wf_text(L, n, "post");
        return;
    }
    a->post_expr = wf_owned_expr(L, n, "post");
}

/* The list of a `cancel_task: [a, b]` or `cancel_timer: [a, b]` action, or NULL. */
static yaml_node_t *cancel_list(loader *L, yaml_node_t *n)
{
    yaml_node_t *v = wf_get(L, n, "cancel_task");
    if (!v)
        v = wf_get(L, n, "cancel_timer");
    return v && v->type == YAML_SEQUENCE_NODE ? v : NULL;
}

/* Parses the action `n`; `item`, when not NULL, is the first name of its cancel list (the
 * other names get copies of this action, see parse_actions). */
/* `key`, `each` and `where` of keyed work (core/keyed.h): which actions take them. */
static void parse_keyed(loader *L, yaml_node_t *n, cf_action *a, const char *verb)
{
    int keyed = a->kind == CF_ACT_TASK || a->kind == CF_ACT_TIMER ||
                a->kind == CF_ACT_CANCEL_TASK || a->kind == CF_ACT_CANCEL_TIMER ||
                a->kind == CF_ACT_RECORD;
    int each =
        a->kind == CF_ACT_TASK || a->kind == CF_ACT_CANCEL_TASK || a->kind == CF_ACT_CANCEL_TIMER;
    yaml_node_t *k = wf_get(L, n, "key"), *e = wf_get(L, n, "each"), *w = wf_get(L, n, "where");

    if (k && !keyed)
        ERR(L, wf_pos_of(k),
            "'key' belongs to a task, timer, cancel_task, cancel_timer or record, "
            "not to %s",
            verb);
    if (e && !each)
        ERR(L, wf_pos_of(e), "'each' belongs to a task, cancel_task or cancel_timer, not to %s",
            verb);
    if (k && e)
        ERR(L, wf_pos_of(k), "'each' names the key of every entry: no 'key' beside it");
    if (w && !e)
        ERR(L, wf_pos_of(w), "'where' filters the entries of 'each': it needs 'each'");
    if (e && a->for_each)
        ERR(L, wf_pos_of(e), "'each' walks a record's entries, 'for_each' a list: not both");
    if (k && keyed && !e) {
        a->key = wf_owned_expr(L, k, "key");
        a->key_pos = wf_pos_of(k);
    }
    if (e && each) {
        a->each = wf_owned_expr(L, e, "each");
        a->key_pos = wf_pos_of(e);
    }
    if (w && e)
        a->where = wf_owned_expr(L, w, "where");
    if (a->kind != CF_ACT_RECORD && wf_get(L, n, "record"))
        ERR(L, wf_pos_of(wf_get(L, n, "record")), "an action does one thing: 'record' beside %s",
            verb);
}

static void parse_action(loader *L, yaml_node_t *n, cf_action *a, yaml_node_t *item)
{
    const char *verb = NULL;
    yaml_node_t *v = NULL;

    a->pos = wf_pos_of(n);
    if (!wf_is_map(L, n, "an action"))
        return;
    wf_check_keys(L, n, action_keys, "an action");
    for (const char *const *k = action_verbs; *k; k++) {
        yaml_node_t *x = wf_get(L, n, *k);
        if (!x || (wf_get(L, n, "record") && strncmp(*k, "set", 3) == 0))
            continue; /* set and set_time under record are the entry's fields */
        if (verb)
            ERR(L, wf_pos_of(n), "an action does one thing: both '%s' and '%s' given", verb, *k);
        verb = *k;
        v = x;
    }
    if (!verb) {
        ERR(L, wf_pos_of(n),
            "an action needs one of task, cancel_task, timer, cancel_timer, set, "
            "set_time, assign, notify, merge, start_clock, pause_clock, resume_clock, "
            "extend_clock, stop_clock, record");
        return;
    }
    if (item)
        v = item;
    a->name_pos = wf_pos_of(v);
    if (strcmp(verb, "task") == 0) {
        a->kind = CF_ACT_TASK;
        a->name = wf_text(L, v, "task");
        a->as = wf_get(L, n, "as") ? wf_text(L, wf_get(L, n, "as"), "as") : a->name;
        a->as_template = a->as && strstr(a->as, "${") != NULL;
        a->post_pos = wf_pos_of(wf_get(L, n, "post"));
        parse_post(L, wf_get(L, n, "post"), a);
        a->at = wf_owned_when(L, wf_get(L, n, "due"), "due");
        a->at_text = wf_get(L, n, "due") ? wf_text(L, wf_get(L, n, "due"), "due") : NULL;
        a->title = wf_get(L, n, "title") ? wf_text(L, wf_get(L, n, "title"), "title") : NULL;
        if (wf_get(L, n, "params"))
            parse_fields(L, wf_get(L, n, "params"), a, 0, "params");
        /* One task per element (a document to each party): each needs an activity of its own,
         * or the second would replace the first. */
        a->for_each = wf_get(L, n, "for_each")
                          ? wf_owned_expr(L, wf_get(L, n, "for_each"), "for_each")
                          : NULL;
        if (a->for_each && !a->as_template)
            ERR(L, wf_pos_of(wf_get(L, n, "for_each")),
                "a task made for each element needs an 'as' with ${item...} so that each has "
                "an activity of its own");
    } else if (strcmp(verb, "cancel_task") == 0) {
        a->kind = CF_ACT_CANCEL_TASK;
        a->name = wf_text(L, v, "cancel_task");
    } else if (strcmp(verb, "timer") == 0) {
        a->kind = CF_ACT_TIMER;
        a->name = wf_text(L, v, "timer");
        if (!wf_get(L, n, "at"))
            ERR(L, wf_pos_of(n), "timer '%s' needs 'at' (when it fires)", wf_raw(v));
        a->at = wf_owned_when(L, wf_get(L, n, "at"), "at");
        a->at_text = wf_get(L, n, "at") ? wf_text(L, wf_get(L, n, "at"), "at") : NULL;
        a->title = wf_get(L, n, "title") ? wf_text(L, wf_get(L, n, "title"), "title") : NULL;
    } else if (strcmp(verb, "cancel_timer") == 0) {
        a->kind = CF_ACT_CANCEL_TIMER;
        a->name = wf_text(L, v, "cancel_timer");
    } else if (strcmp(verb, "set") == 0 || strcmp(verb, "set_time") == 0) {
        a->kind = verb[3] ? CF_ACT_SET_TIME : CF_ACT_SET;
        parse_fields(L, v, a, verb[3] != '\0', verb);
    } else if (strcmp(verb, "assign") == 0) {
        a->kind = CF_ACT_ASSIGN;
        a->name = wf_text(L, v, "assign");
        a->post_pos = wf_pos_of(v);
        if (a->name && strcmp(a->name, "team") != 0)
            parse_post(L, v, a);
    } else if (strcmp(verb, "merge") == 0) {
        a->kind = CF_ACT_MERGE;
        a->value = wf_owned_expr(L, v, "merge");
    } else if (strcmp(verb, "record") == 0) {
        a->kind = CF_ACT_RECORD;
        a->name = wf_text(L, v, "record");
        if (wf_get(L, n, "set"))
            parse_fields(L, wf_get(L, n, "set"), a, 0, "set");
        if (wf_get(L, n, "set_time")) {
            cf_action t = {0};
            parse_fields(L, wf_get(L, n, "set_time"), &t, 1, "set_time");
            a->times = t.fields;
            a->ntimes = t.nfields;
        }
        if (!wf_get(L, n, "key"))
            ERR(L, wf_pos_of(n), "record '%s' needs 'key' (which entry it writes)", wf_raw(v));
    } else if (strstr(verb, "_clock")) {
        static const struct {
            const char *verb;
            enum cf_action_kind kind;
        } clock_verbs[] = {{"start_clock", CF_ACT_START_CLOCK},
                           {"pause_clock", CF_ACT_PAUSE_CLOCK},
                           {"resume_clock", CF_ACT_RESUME_CLOCK},
                           {"extend_clock", CF_ACT_EXTEND_CLOCK},
                           {"stop_clock", CF_ACT_STOP_CLOCK}};
        for (size_t k = 0; k < sizeof clock_verbs / sizeof clock_verbs[0]; k++)
            if (strcmp(verb, clock_verbs[k].verb) == 0)
                a->kind = clock_verbs[k].kind;
        a->name = wf_text(L, v, verb);
        if (a->kind == CF_ACT_START_CLOCK) {
            a->at = wf_owned_when(L, wf_get(L, n, "from"), "from");
            a->at_text = wf_get(L, n, "from") ? wf_text(L, wf_get(L, n, "from"), "from") : NULL;
        }
        if (a->kind == CF_ACT_START_CLOCK || a->kind == CF_ACT_EXTEND_CLOCK) {
            a->months = single_field(L, wf_get(L, n, "months"), "months");
            a->days = single_field(L, wf_get(L, n, "days"), "days");
            if (!a->months && !a->days)
                ERR(L, wf_pos_of(n), "%s '%s' needs its length: 'months', 'days' or both", verb,
                    wf_raw(v));
        }
        if (a->kind != CF_ACT_START_CLOCK && a->kind != CF_ACT_STOP_CLOCK)
            a->ground = single_field(L, wf_get(L, n, "ground"), "ground");
        if (a->kind == CF_ACT_PAUSE_CLOCK && !a->ground)
            ERR(L, wf_pos_of(n), "pause_clock '%s' needs its 'ground' (中止执行, 公告送达 ...)",
                wf_raw(v));
        if (wf_get(L, n, "from") && a->kind != CF_ACT_START_CLOCK)
            ERR(L, wf_pos_of(wf_get(L, n, "from")), "'from' belongs to start_clock, not to %s",
                verb);
        if (a->kind != CF_ACT_START_CLOCK && a->kind != CF_ACT_EXTEND_CLOCK)
            for (const char *const *k = (const char *const[]){"months", "days", NULL}; *k; k++)
                if (wf_get(L, n, *k))
                    ERR(L, wf_pos_of(wf_get(L, n, *k)),
                        "'%s' belongs to start_clock or extend_clock, not to %s", *k, verb);
        if ((a->kind == CF_ACT_START_CLOCK || a->kind == CF_ACT_STOP_CLOCK) &&
            wf_get(L, n, "ground"))
            ERR(L, wf_pos_of(wf_get(L, n, "ground")),
                "'ground' belongs to pause_clock, resume_clock or extend_clock, not to %s", verb);
    } else {
        a->kind = CF_ACT_NOTIFY;
        a->post_pos = wf_pos_of(v);
        parse_post(L, v, a);
        a->message = wf_get(L, n, "message") ? wf_text(L, wf_get(L, n, "message"), "message") : "";
    }
    /* Keys that belong to another verb are mistakes worth naming. */
    if (a->kind != CF_ACT_TASK)
        for (const char *const *k = (const char *const[]){"as", "due", "params", "for_each", NULL};
             *k; k++)
            if (wf_get(L, n, *k))
                ERR(L, wf_pos_of(wf_get(L, n, *k)), "'%s' belongs to a task, not to %s", *k, verb);
    if (a->kind != CF_ACT_TASK && a->kind != CF_ACT_TIMER && wf_get(L, n, "title"))
        ERR(L, wf_pos_of(wf_get(L, n, "title")), "'title' belongs to a task or timer, not to %s",
            verb);
    if (a->kind != CF_ACT_TIMER && wf_get(L, n, "at"))
        ERR(L, wf_pos_of(wf_get(L, n, "at")), "'at' belongs to a timer, not to %s", verb);
    if (a->kind != CF_ACT_NOTIFY && wf_get(L, n, "message"))
        ERR(L, wf_pos_of(wf_get(L, n, "message")), "'message' belongs to notify, not to %s", verb);
    if (!strstr(verb, "_clock"))
        for (const char *const *k = (const char *const[]){"from", "months", "days", "ground", NULL};
             *k; k++)
            if (wf_get(L, n, *k))
                ERR(L, wf_pos_of(wf_get(L, n, *k)), "'%s' belongs to a clock's action, not to %s",
                    *k, verb);
    if (a->kind != CF_ACT_TASK && a->kind != CF_ACT_NOTIFY && wf_get(L, n, "post"))
        ERR(L, wf_pos_of(wf_get(L, n, "post")), "'post' belongs to a task or notify, not to %s",
            verb);
    parse_keyed(L, n, a, verb);
}

static cf_action *parse_actions(loader *L, yaml_node_t *n, size_t *count, const char *what)
{
    cf_action *acts;
    size_t i = 0;

    *count = 0;
    if (!n || !wf_is_seq(L, n, what))
        return NULL;
    /* A cancel list is one action per name it lists. */
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++) {
        yaml_node_t *list = cancel_list(L, wf_node(L, *it));
        *count += list ? wf_seq_len(list) : 1;
    }
    acts = wf_alloc_array(L, *count, sizeof *acts);
    if (*count && !acts) {
        *count = 0;
        return NULL;
    }
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++) {
        yaml_node_t *a = wf_node(L, *it), *list = cancel_list(L, a);
        size_t first = i;
        if (!list) {
            parse_action(L, a, &acts[i++], NULL);
            continue;
        }
        if (wf_seq_len(list) == 0)
            continue;
        /* The mapping is read (and its problems reported) once; each further name of the list
         * is the same action with another name. */
        parse_action(L, a, &acts[i++], wf_node(L, ITEMS(list)[0]));
        for (yaml_node_item_t *x = ITEMS(list) + 1; x < ITEMS_END(list); x++) {
            cf_action *c = &acts[i++];
            *c = acts[first];
            c->name =
                wf_text(L, wf_node(L, *x),
                        acts[first].kind == CF_ACT_CANCEL_TASK ? "cancel_task" : "cancel_timer");
            c->name_pos = wf_pos_of(wf_node(L, *x));
        }
    }
    *count = i;
    return acts;
}

/* ---- transitions and states ---- */

static const char *const transition_keys[] = {"event",    "task", "timer",  "if",    "when",
                                              "to",       "do",   "except", "title", "refuse",
                                              "requires", "else", "of",     NULL};

static const char *const requirement_keys[] = {"that", "missing", NULL};

/* Parses `requires:` (a list of {that: condition, missing: what is missing when it fails}) and
 * `else:` of a transition. */
static void parse_requires(loader *L, yaml_node_t *n, cf_transition *t)
{
    yaml_node_t *req = wf_get(L, n, "requires"), *otherwise = wf_get(L, n, "else");
    size_t i = 0;

    if (otherwise && !req)
        ERR(L, wf_pos_of(otherwise), "'else' runs when a requirement fails: it needs 'requires'");
    t->otherwise = parse_actions(L, otherwise, &t->notherwise, "'else'");
    if (!req || !wf_is_seq(L, req, "requires"))
        return;
    t->nrequires = wf_seq_len(req);
    t->requires = wf_alloc_array(L, t->nrequires, sizeof *t->requires);
    if (!t->requires) {
        t->nrequires = 0;
        return;
    }
    for (yaml_node_item_t *it = ITEMS(req); it < ITEMS_END(req); it++, i++) {
        yaml_node_t *r = wf_node(L, *it);
        cf_requirement *q = &t->requires[i];
        q->pos = wf_pos_of(r);
        if (!wf_is_map(L, r, "a requirement"))
            continue;
        wf_check_keys(L, r, requirement_keys, "a requirement");
        if (!wf_get(L, r, "that") || !wf_get(L, r, "missing")) {
            ERR(L, wf_pos_of(r),
                "a requirement needs 'that' (a condition) and 'missing' (what to tell when it "
                "fails)");
            continue;
        }
        q->that = wf_owned_expr(L, wf_get(L, r, "that"), "that");
        q->missing = wf_text(L, wf_get(L, r, "missing"), "missing");
    }
}

static void parse_transition(loader *L, yaml_node_t *n, cf_transition *t, int anywhere)
{
    yaml_node_t *ev = wf_get(L, n, "event"), *when = wf_get(L, n, "when"),
                *guard = wf_get(L, n, "if");

    t->pos = wf_pos_of(n);
    t->to_index = -1;
    if (!wf_is_map(L, n, "a transition"))
        return;
    wf_check_keys(L, n, transition_keys, "a transition");
    if (ev && when)
        ERR(L, wf_pos_of(when),
            "a transition waits for an event ('event') or a condition ('when'), "
            "not both");
    if (!ev && !when)
        ERR(L, wf_pos_of(n),
            "a transition needs 'event' (what it reacts to) or 'when' (a condition "
            "it waits for)");
    if (when && guard)
        ERR(L, wf_pos_of(guard),
            "'if' belongs to an event transition; put the condition in 'when'");
    t->on = ev ? wf_text(L, ev, "event") : NULL;
    t->on_pos = wf_pos_of(ev ? ev : n);
    t->to_pos = wf_pos_of(wf_get(L, n, "to") ? wf_get(L, n, "to") : n);
    t->task_pos = wf_pos_of(wf_get(L, n, "task") ? wf_get(L, n, "task") : n);
    t->timer_pos = wf_pos_of(wf_get(L, n, "timer") ? wf_get(L, n, "timer") : n);
    if (wf_get(L, n, "task"))
        t->task = wf_text(L, wf_get(L, n, "task"), "task");
    if (wf_get(L, n, "timer"))
        t->timer = wf_text(L, wf_get(L, n, "timer"), "timer");
    if (wf_get(L, n, "of")) {
        t->of = wf_text(L, wf_get(L, n, "of"), "of");
        t->of_pos = wf_pos_of(wf_get(L, n, "of"));
        if (!t->task && !t->timer)
            ERR(L, t->of_pos,
                "'of' reads the entry of the event's key: it needs 'task' or 'timer'");
    }
    if (t->task && t->on && strncmp(t->on, "task.", 5) != 0)
        ERR(L, wf_pos_of(wf_get(L, n, "task")), "'task' filters task.* events, not '%s'", t->on);
    if (t->timer && t->on && strcmp(t->on, "timer.fired") != 0)
        ERR(L, wf_pos_of(wf_get(L, n, "timer")), "'timer' filters timer.fired events, not '%s'",
            t->on);
    if (when) {
        t->guard = wf_owned_expr(L, when, "when");
        t->guard_text = wf_text(L, when, "when");
    } else if (guard) {
        t->guard = wf_owned_expr(L, guard, "if");
        t->guard_text = wf_text(L, guard, "if");
    }
    if (wf_get(L, n, "to"))
        t->to = wf_text(L, wf_get(L, n, "to"), "to");
    t->actions = parse_actions(L, wf_get(L, n, "do"), &t->nactions, "'do'");
    if (wf_get(L, n, "refuse")) {
        t->refuse = wf_text(L, wf_get(L, n, "refuse"), "refuse");
        t->refuse_pos = wf_pos_of(wf_get(L, n, "refuse"));
        if (!ev)
            ERR(L, t->refuse_pos,
                "'refuse' belongs to an event transition: a condition ('when') "
                "has no event to refuse");
        if (wf_get(L, n, "to") || wf_get(L, n, "do") || wf_get(L, n, "requires"))
            ERR(L, t->refuse_pos,
                "a transition that refuses its event does nothing else: no 'to', 'do' or "
                "'requires' beside 'refuse'");
    }
    parse_requires(L, n, t);
    if (t->nrequires && !ev)
        ERR(L, wf_pos_of(wf_get(L, n, "requires")),
            "'requires' belongs to an event transition; a condition ('when') says it all");
    if (wf_get(L, n, "except")) {
        yaml_node_t *ex = wf_get(L, n, "except");
        size_t i = 0;
        if (!anywhere)
            ERR(L, wf_pos_of(ex), "'except' belongs to any_state transitions");
        if (wf_is_seq(L, ex, "except")) {
            t->nexcept = wf_seq_len(ex);
            t->except = wf_alloc_array(L, t->nexcept, sizeof *t->except);
            for (yaml_node_item_t *it = ITEMS(ex); t->except && it < ITEMS_END(ex); it++, i++)
                t->except[i] = wf_text(L, wf_node(L, *it), "a state in except");
        }
    }
}

cf_transition *wf_parse_transitions(loader *L, yaml_node_t *n, size_t *count, int anywhere)
{
    cf_transition *ts;
    size_t i = 0;

    *count = 0;
    if (!n || !wf_is_seq(L, n, "transitions ('on')"))
        return NULL;
    *count = wf_seq_len(n);
    ts = wf_alloc_array(L, *count, sizeof *ts);
    if (*count && !ts) {
        *count = 0;
        return NULL;
    }
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, i++)
        parse_transition(L, wf_node(L, *it), &ts[i], anywhere);
    return ts;
}

static const char *const state_keys[] = {"title", "final", "on_enter", "on_exit", "on", NULL};

void wf_parse_state(loader *L, yaml_node_t *k, yaml_node_t *n, cf_state *s)
{
    s->name = wf_text(L, k, "a state name");
    s->pos = wf_pos_of(k);
    if (n->type == YAML_SCALAR_NODE && wf_raw(n)[0] == '\0')
        return; /* `archived:` with nothing under it */
    if (!wf_is_map(L, n, "a state"))
        return;
    wf_check_keys(L, n, state_keys, "a state");
    if (wf_get(L, n, "title"))
        s->title = wf_text(L, wf_get(L, n, "title"), "title");
    if (wf_get(L, n, "final"))
        s->final = wf_boolean(L, wf_get(L, n, "final"), "final");
    s->enter = parse_actions(L, wf_get(L, n, "on_enter"), &s->nenter, "on_enter");
    s->exit = parse_actions(L, wf_get(L, n, "on_exit"), &s->nexit, "on_exit");
    s->on = wf_parse_transitions(L, wf_get(L, n, "on"), &s->non, 0);
}

/* ---- catalogs: posts, task kinds, events, assignment ---- */

void wf_parse_posts(loader *L, yaml_node_t *n)
{
    size_t i = 0;
    if (!n) {
        ERR(L, L->root, "the workflow names no posts ('posts')");
        return;
    }
    if (!wf_is_map(L, n, "posts"))
        return;
    L->wf->nposts = wf_map_len(n);
    L->wf->posts = wf_alloc_array(L, L->wf->nposts, sizeof *L->wf->posts);
    for (yaml_node_pair_t *p = PAIRS(n); L->wf->posts && p < PAIRS_END(n); p++, i++) {
        cf_post *post = &L->wf->posts[i];
        post->id = wf_text(L, wf_node(L, p->key), "a post id");
        post->title = wf_text(L, wf_node(L, p->value), "a post's title");
        post->pos = wf_pos_of(wf_node(L, p->key));
    }
}

static const char *const kind_keys[] = {"title", "post", "batch", "result", NULL};
static const char *const batch_keys[] = {"every", "group_by", NULL};

/* ---- a staff task's result fields (`result:`), for the completion form ---- */

static const char *const field_keys[] = {"type",        "title",   "help", "required",
                                         "required_if", "choices", "max",  NULL};
static const char *const field_types[] = {"yes_no", "text", "choice", "amount",
                                          "post",   "date", "number", NULL};

static const cf_post *declared_post(const cf_workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->nposts; i++)
        if (wf->posts[i].id && strcmp(wf->posts[i].id, id) == 0)
            return &wf->posts[i];
    return NULL;
}

/* `choices:` of a choice or post field: a list of values, or a mapping of value to label. */
static void parse_choices(loader *L, yaml_node_t *n, cf_result_field *f)
{
    int map = n->type == YAML_MAPPING_NODE;
    size_t k = 0;

    if (!map && !wf_is_seq(L, n, "choices"))
        return;
    f->nchoices = map ? wf_map_len(n) : wf_seq_len(n);
    f->choices = wf_alloc_array(L, f->nchoices, sizeof *f->choices);
    f->choice_titles = wf_alloc_array(L, f->nchoices, sizeof *f->choice_titles);
    if (!f->choices || !f->choice_titles) {
        f->nchoices = 0;
        return;
    }
    if (map) {
        for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, k++) {
            f->choices[k] = wf_text(L, wf_node(L, p->key), "a choice");
            f->choice_titles[k] = wf_text(L, wf_node(L, p->value), "a choice's label");
        }
    } else {
        for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, k++)
            f->choices[k] = wf_text(L, wf_node(L, *it), "a choice");
    }
    for (size_t i = 0; i < f->nchoices; i++) {
        if (!f->choices[i])
            continue;
        for (size_t j = 0; j < i; j++)
            if (f->choices[j] && strcmp(f->choices[i], f->choices[j]) == 0)
                ERR(L, wf_pos_of(n), "result field '%s': the choice '%s' is given twice", f->name,
                    f->choices[i]);
        if (f->type == CF_FIELD_POST) {
            const cf_post *post = declared_post(L->wf, f->choices[i]);
            if (!post)
                ERR(L, wf_pos_of(n), "result field '%s': '%s' is not a post of the workflow",
                    f->name, f->choices[i]);
            else if (!f->choice_titles[i])
                f->choice_titles[i] = post->title;
        }
    }
}

static void parse_result_field(loader *L, yaml_node_t *k, yaml_node_t *v, cf_result_field *f)
{
    yaml_node_t *n;

    f->name = wf_text(L, k, "a result field");
    f->pos = wf_pos_of(k);
    f->max = 1000;
    if (!wf_is_map(L, v, "a result field"))
        return;
    wf_check_keys(L, v, field_keys, "a result field");
    if (!(n = wf_get(L, v, "type"))) {
        ERR(L, wf_pos_of(v),
            "result field '%s' needs a type (yes_no, text, choice, amount, post, date or "
            "number)",
            wf_raw(k));
    } else {
        size_t t = 0;
        while (field_types[t] && strcmp(field_types[t], wf_raw(n)) != 0)
            t++;
        if (!field_types[t])
            ERR(L, wf_pos_of(n),
                "unknown field type '%s' (yes_no, text, choice, amount, post, date or number)",
                wf_raw(n));
        else
            f->type = (cf_field_type)t;
    }
    f->title = (n = wf_get(L, v, "title")) ? wf_text(L, n, "title") : f->name;
    if ((n = wf_get(L, v, "help")))
        f->help = wf_text(L, n, "help");
    if ((n = wf_get(L, v, "required")))
        f->required = wf_boolean(L, n, "required");
    if ((n = wf_get(L, v, "required_if")) && wf_is_map(L, n, "required_if")) {
        if (wf_map_len(n) != 1)
            ERR(L, wf_pos_of(n),
                "required_if names one yes/no field and its value, e.g. "
                "{complete: false}");
        else {
            f->if_field = wf_text(L, wf_node(L, PAIRS(n)->key), "required_if's field");
            f->if_value = wf_boolean(L, wf_node(L, PAIRS(n)->value), "required_if's value");
        }
    }
    if ((n = wf_get(L, v, "max"))) {
        char *end;
        long m = strtol(wf_raw(n), &end, 10);
        if (*end || end == wf_raw(n) || m < 1 || m > 100000 || f->type != CF_FIELD_TEXT)
            ERR(L, wf_pos_of(n), "max is for text fields: a whole number from 1 to 100000");
        else
            f->max = (int)m;
    }
    n = wf_get(L, v, "choices");
    if (n && f->type != CF_FIELD_CHOICE && f->type != CF_FIELD_POST)
        ERR(L, wf_pos_of(n), "choices are for choice and post fields");
    else if (n)
        parse_choices(L, n, f);
    else if (f->type == CF_FIELD_CHOICE)
        ERR(L, wf_pos_of(v), "result field '%s' is a choice: give its choices", wf_raw(k));
}

/* The fields of a form (`result:` of a staff task, `fields:` of a decision), each required_if
 * naming a yes/no field of them; `what` names the key in messages. */
static cf_result_field *parse_form(loader *L, yaml_node_t *n, size_t *count, const char *what)
{
    cf_result_field *fields;
    size_t i = 0;

    *count = 0;
    if (n->type == YAML_SCALAR_NODE && wf_raw(n)[0] == '\0')
        return NULL; /* `result:` alone: nothing to fill in */
    if (!wf_is_map(L, n, what))
        return NULL;
    if (!(fields = wf_alloc_array(L, wf_map_len(n), sizeof *fields)))
        return NULL;
    *count = wf_map_len(n);
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++)
        parse_result_field(L, wf_node(L, p->key), wf_node(L, p->value), &fields[i]);
    for (i = 0; i < *count; i++) {
        const cf_result_field *f = &fields[i];
        size_t j = 0;
        if (!f->if_field)
            continue;
        while (j < *count && !(fields[j].name && strcmp(fields[j].name, f->if_field) == 0))
            j++;
        if (j == *count || fields[j].type != CF_FIELD_YES_NO)
            ERR(L, f->pos,
                "%s field '%s': required_if names '%s', which is no yes/no field of its %s", what,
                f->name ? f->name : "", f->if_field, what);
    }
    return fields;
}

void wf_parse_kinds(loader *L, yaml_node_t *n, int worker, size_t *at)
{
    if (!n || !wf_is_map(L, n, worker ? "workers" : "staff_tasks"))
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = wf_node(L, p->key), *v = wf_node(L, p->value);
        cf_task_kind *tk = &L->wf->kinds[(*at)++];
        tk->name = wf_text(L, k, "a task kind");
        tk->pos = wf_pos_of(k);
        tk->worker = worker;
        if (v->type == YAML_SCALAR_NODE) {
            tk->title = wf_text(L, v, "title");
        } else if (wf_is_map(L, v, "a task kind")) {
            yaml_node_t *b = wf_get(L, v, "batch");
            wf_check_keys(L, v, kind_keys, "a task kind");
            if (wf_get(L, v, "title"))
                tk->title = wf_text(L, wf_get(L, v, "title"), "title");
            if (wf_get(L, v, "post")) {
                tk->post = wf_text(L, wf_get(L, v, "post"), "post");
                tk->post_pos = wf_pos_of(wf_get(L, v, "post"));
            }
            if (b && !worker)
                ERR(L, wf_pos_of(b), "only worker kinds are batched; '%s' is a staff task",
                    tk->name);
            if (wf_get(L, v, "result") && worker)
                ERR(L, wf_pos_of(wf_get(L, v, "result")),
                    "only staff tasks declare a result form; '%s' is a worker kind", tk->name);
            else if (wf_get(L, v, "result")) {
                tk->result_declared = 1;
                tk->result = parse_form(L, wf_get(L, v, "result"), &tk->nresult, "result");
            }
            if (b && wf_is_map(L, b, "batch")) {
                char err[256];
                int col = 0;
                yaml_node_t *every = wf_get(L, b, "every");
                wf_check_keys(L, b, batch_keys, "batch");
                if (!every || !wf_get(L, b, "group_by"))
                    ERR(L, wf_pos_of(b), "a batch needs 'every' (its schedule) and 'group_by'");
                if (every) {
                    tk->batch_text = wf_text(L, every, "every");
                    tk->batch = cf_schedule_parse(wf_raw(every), err, sizeof err, &col);
                    if (!tk->batch)
                        ERR(L, wf_pos_in(L, every, col), "every: bad schedule: %s", err);
                    wf_own(L, NULL, NULL, tk->batch);
                }
                if (wf_get(L, b, "group_by"))
                    tk->group_by = wf_text(L, wf_get(L, b, "group_by"), "group_by");
            }
        }
        if (!worker && !tk->post)
            ERR(L, tk->pos, "staff task '%s' needs 'post' (whose queue it goes to)", wf_raw(k));
    }
}

/* Event types the engine itself produces; a workflow handles them without declaring them. */
static const char *const builtin_events[] = {"task.completed", "task.failed", "task.returned",
                                             "timer.fired", NULL};

int wf_is_builtin_event(const char *type)
{
    for (const char *const *b = builtin_events; *b; b++)
        if (strcmp(*b, type) == 0)
            return 1;
    return 0;
}

void wf_parse_events(loader *L, yaml_node_t *n)
{
    size_t i = 0, nb = 0;
    cf_workflow *wf = L->wf;

    if (n && !wf_is_seq(L, n, "events"))
        n = NULL;
    while (builtin_events[nb])
        nb++;
    wf->nevents = wf_seq_len(n) + nb;
    wf->events = wf_alloc_array(L, wf->nevents, sizeof *wf->events);
    if (!wf->events) {
        wf->nevents = 0;
        return;
    }
    for (size_t b = 0; b < nb; b++, i++) {
        wf->events[i].type = builtin_events[b];
        wf->events[i].pos = TOP;
    }
    for (yaml_node_item_t *it = n ? ITEMS(n) : NULL; n && it < ITEMS_END(n); it++, i++) {
        yaml_node_t *e = wf_node(L, *it);
        wf->events[i].type = wf_text(L, e, "an event type");
        wf->events[i].pos = wf_pos_of(e);
        if (wf->events[i].type && wf_is_builtin_event(wf->events[i].type))
            ERR(L, wf_pos_of(e), "'%s' is produced by caseflow itself and needs no declaration",
                wf->events[i].type);
    }
}

/* Where returned staff tasks go (`returns:`): `requeue`, a post, or an expression giving one. */
static void set_return(loader *L, cf_task_kind *tk, yaml_node_t *v)
{
    tk->returned_pos = wf_pos_of(v);
    if (v->type == YAML_SCALAR_NODE && strcmp(wf_raw(v), "requeue") == 0)
        tk->returned_requeue = 1;
    else if (v->type == YAML_SCALAR_NODE && plain_post(wf_raw(v)))
        tk->returned_post = wf_text(L, v, "returns");
    else
        tk->returned_expr = wf_owned_expr(L, v, "returns");
}

/* `returns:` maps staff task kinds (and `default`, every other staff task) to where a returned
 * task goes. */
void wf_parse_returns(loader *L, yaml_node_t *n)
{
    yaml_node_t *def = NULL;

    if (!n || !wf_is_map(L, n, "returns"))
        return;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++) {
        yaml_node_t *k = wf_node(L, p->key), *v = wf_node(L, p->value);
        const char *name = wf_raw(k);
        cf_task_kind *tk = NULL;
        if (strcmp(name, "default") == 0) {
            def = v;
            continue;
        }
        for (size_t i = 0; i < L->wf->nkinds && !tk; i++)
            if (L->wf->kinds[i].name && strcmp(L->wf->kinds[i].name, name) == 0)
                tk = &L->wf->kinds[i];
        if (!tk)
            ERR(L, wf_pos_of(k), "returns: no staff task is named '%s'", name);
        else if (tk->worker)
            ERR(L, wf_pos_of(k), "returns: '%s' is a worker kind; only staff return tasks", name);
        else
            set_return(L, tk, v);
    }
    for (size_t i = 0; def && i < L->wf->nkinds; i++) {
        cf_task_kind *tk = &L->wf->kinds[i];
        if (!tk->worker && !tk->returned_requeue && !tk->returned_post && !tk->returned_expr)
            set_return(L, tk, def);
    }
}

void wf_parse_assignment(loader *L, yaml_node_t *n)
{
    static const char *const keys[] = {"teams", NULL};
    yaml_node_t *teams;
    size_t i = 0;

    if (!n || !wf_is_map(L, n, "assignment"))
        return;
    wf_check_keys(L, n, keys, "assignment");
    teams = wf_get(L, n, "teams");
    if (!teams || !wf_is_seq(L, teams, "teams") || wf_seq_len(teams) == 0) {
        ERR(L, wf_pos_of(n), "assignment needs 'teams', a list of the posts cases are dealt to");
        return;
    }
    L->wf->nteams = wf_seq_len(teams);
    L->wf->teams = wf_alloc_array(L, L->wf->nteams, sizeof *L->wf->teams);
    L->wf->team_pos = wf_alloc_array(L, L->wf->nteams, sizeof *L->wf->team_pos);
    if (!L->wf->teams || !L->wf->team_pos) {
        L->wf->nteams = 0;
        return;
    }
    for (yaml_node_item_t *it = ITEMS(teams); it < ITEMS_END(teams); it++, i++) {
        L->wf->teams[i] = wf_text(L, wf_node(L, *it), "a team");
        L->wf->team_pos[i] = wf_pos_of(wf_node(L, *it));
    }
}

/* ---- settings, clocks and decisions ---- */

/* `settings:` name -> a value of the court's own choosing (a number, true/false, a text, a list).
 */
void wf_parse_settings(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    wf->settings_json = json_object();
    wf_own_json(L, wf->settings_json);
    if (!n || !wf_is_map(L, n, "settings"))
        return;
    wf->nsettings = wf_map_len(n);
    wf->settings = wf_alloc_array(L, wf->nsettings, sizeof *wf->settings);
    if (!wf->settings) {
        wf->nsettings = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        cf_setting *st = &wf->settings[i];
        yaml_node_t *v = wf_node(L, p->value);
        st->name = wf_text(L, wf_node(L, p->key), "a setting's name");
        st->pos = wf_pos_of(wf_node(L, p->key));
        if (v->type == YAML_MAPPING_NODE)
            ERR(L, wf_pos_of(v), "setting '%s' must be a number, true or false, a text or a list",
                wf_raw(wf_node(L, p->key)));
        st->value = wf_literal(L, v, 0);
        if (st->name && wf->settings_json)
            json_object_set(wf->settings_json, st->name, st->value);
        wf_own_json(L, st->value);
    }
}

static const char *const clock_keys[] = {"title",     "field", "at", "exact",
                                         "deadlines", "dates", NULL};

/* `deadlines:` or `dates:` of a clock: name -> time expression. */
static cf_clock_deadline *parse_deadlines(loader *L, yaml_node_t *n, size_t *count,
                                          const char *what)
{
    cf_clock_deadline *v;
    size_t i = 0;

    *count = 0;
    if (!n || !wf_is_map(L, n, what))
        return NULL;
    v = wf_alloc_array(L, wf_map_len(n), sizeof *v);
    if (!v)
        return NULL;
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = wf_node(L, p->key), *x = wf_node(L, p->value);
        v[i].name = wf_text(L, k, what);
        v[i].pos = wf_pos_of(k);
        /* `name: time expression`, or `name: {at: time expression, title: what it reminds of}`. */
        if (x->type == YAML_MAPPING_NODE) {
            static const char *const keys[] = {"at", "title", NULL};
            wf_check_keys(L, x, keys, "a deadline");
            if (wf_get(L, x, "title"))
                v[i].title = wf_text(L, wf_get(L, x, "title"), "title");
            if (!wf_get(L, x, "at")) {
                ERR(L, wf_pos_of(x), "'%s' in %s needs 'at' (when it falls)",
                    v[i].name ? v[i].name : "?", what);
                continue;
            }
            x = wf_get(L, x, "at");
        }
        v[i].at = wf_owned_when(L, x, v[i].name ? v[i].name : what);
        v[i].text = x->type == YAML_SCALAR_NODE ? wf_text(L, x, what) : NULL;
    }
    *count = i;
    return v;
}

void wf_parse_clocks(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    if (!n || !wf_is_map(L, n, "clocks"))
        return;
    wf->nclocks = wf_map_len(n);
    wf->clocks = wf_alloc_array(L, wf->nclocks, sizeof *wf->clocks);
    if (!wf->clocks) {
        wf->nclocks = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = wf_node(L, p->key), *v = wf_node(L, p->value), *x;
        cf_clock *c = &wf->clocks[i];
        c->name = wf_text(L, k, "a clock's name");
        c->pos = wf_pos_of(k);
        c->minute = 23 * 60 + 59;
        if (!wf_is_map(L, v, "a clock"))
            continue;
        wf_check_keys(L, v, clock_keys, "a clock");
        if ((x = wf_get(L, v, "title")))
            c->title = wf_text(L, x, "title");
        if ((x = wf_get(L, v, "field")))
            c->field = wf_text(L, x, "field");
        if ((x = wf_get(L, v, "exact")))
            c->exact = wf_boolean(L, x, "exact");
        if ((x = wf_get(L, v, "at"))) {
            const char *t = wf_raw(x);
            int h = -1, m = -1;
            char tail;
            if (sscanf(t, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
                ERR(L, wf_pos_of(x),
                    "at: the last day's time must be HH:MM (00:00 to 23:59), not '%s'", t);
            else
                c->minute = h * 60 + m;
        }
        c->deadlines = parse_deadlines(L, wf_get(L, v, "deadlines"), &c->ndeadlines, "deadlines");
        c->dates = parse_deadlines(L, wf_get(L, v, "dates"), &c->ndates, "dates");
    }
}

static const char *const decision_keys[] = {"title", "by", "in", "except", "fields", NULL};

/* A list of state names (`in`, `except` of a decision). */
static const char **state_list(loader *L, yaml_node_t *n, size_t *count, cf_pos **pos,
                               const char *what)
{
    const char **v;
    size_t i = 0;

    *count = 0;
    if (!n || !wf_is_seq(L, n, what))
        return NULL;
    v = wf_alloc_array(L, wf_seq_len(n), sizeof *v);
    *pos = wf_alloc_array(L, wf_seq_len(n), sizeof **pos);
    if (!v || !*pos)
        return NULL;
    for (yaml_node_item_t *it = ITEMS(n); it < ITEMS_END(n); it++, i++) {
        v[i] = wf_text(L, wf_node(L, *it), what);
        (*pos)[i] = wf_pos_of(wf_node(L, *it));
    }
    *count = i;
    return v;
}

void wf_parse_decisions(loader *L, yaml_node_t *n)
{
    cf_workflow *wf = L->wf;
    size_t i = 0;

    if (!n || !wf_is_map(L, n, "decisions"))
        return;
    wf->ndecisions = wf_map_len(n);
    wf->decisions = wf_alloc_array(L, wf->ndecisions, sizeof *wf->decisions);
    if (!wf->decisions) {
        wf->ndecisions = 0;
        return;
    }
    for (yaml_node_pair_t *p = PAIRS(n); p < PAIRS_END(n); p++, i++) {
        yaml_node_t *k = wf_node(L, p->key), *v = wf_node(L, p->value), *by;
        cf_decision *d = &wf->decisions[i];
        size_t j = 0;
        d->name = wf_text(L, k, "a decision's name");
        d->pos = wf_pos_of(k);
        if (!wf_is_map(L, v, "a decision"))
            continue;
        wf_check_keys(L, v, decision_keys, "a decision");
        if (wf_get(L, v, "title"))
            d->title = wf_text(L, wf_get(L, v, "title"), "title");
        by = wf_get(L, v, "by");
        if (!by || !wf_is_seq(L, by, "by") || wf_seq_len(by) == 0) {
            ERR(L, wf_pos_of(by ? by : v),
                "decision '%s' needs 'by': the posts whose staff may make it", wf_raw(k));
        } else if ((d->by = wf_alloc_array(L, wf_seq_len(by), sizeof *d->by))) {
            for (yaml_node_item_t *it = ITEMS(by); it < ITEMS_END(by); it++, j++) {
                yaml_node_t *x = wf_node(L, *it);
                d->by[j].pos = wf_pos_of(x);
                if (x->type == YAML_SCALAR_NODE && plain_post(wf_raw(x)))
                    d->by[j].post = wf_text(L, x, "a post");
                else
                    d->by[j].expr = wf_owned_expr(L, x, "by");
            }
            d->nby = j;
        }
        d->in = state_list(L, wf_get(L, v, "in"), &d->nin, &d->in_pos, "in");
        d->except = state_list(L, wf_get(L, v, "except"), &d->nexcept, &d->except_pos, "except");
        if (wf_get(L, v, "in") && wf_get(L, v, "except"))
            ERR(L, wf_pos_of(wf_get(L, v, "except")),
                "decision '%s' names the states where it may be made ('in') or where not "
                "('except'), not both",
                wf_raw(k));
        if (wf_get(L, v, "fields"))
            d->fields = parse_form(L, wf_get(L, v, "fields"), &d->nfields, "fields");
    }
}
