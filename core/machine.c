/*
 * The transition function of machine.h.  One call applies one event: it books
 * the event's effect on tasks and timers, takes the first transition that
 * matches, runs the exit, transition and entry actions, then follows
 * automatic (`when`) transitions until none holds.  It only computes: every
 * effect on the world is an action for the engine to carry out.
 */
#include "machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caseno.h"
#include "core/chain.h"
#include "core/clock.h"
#include "core/decision.h"
#include "core/keyed.h"

/* A workflow whose automatic transitions keep firing is broken; stop it rather than spin. */
enum { MAX_AUTO_STEPS = 32 };

typedef struct run {
    const cf_workflow *wf;
    const json_t *event;
    const char *case_no;
    const char *type;
    cf_time now, event_time;
    json_t *st;          /* the state being built (owned) */
    json_t *data;        /* st.data (borrowed) */
    json_t *acts;        /* st.activities (borrowed); the old state's until own_acts */
    int acts_own;        /* acts is the step's own: it may change */
    json_t *timers;      /* st.timers (borrowed) */
    json_t *clocks;      /* st.clocks (borrowed), NULL when the workflow has no clock */
    json_t *root;        /* what expressions read (owned) */
    cf_step_action *out; /* actions (owned) */
    size_t nout, capout;
    int oom;      /* an action could not be kept: the step fails */
    json_t *path; /* states passed (owned) */
    json_t *warn; /* warnings (owned) */
    long seq;
    int action_no;
    char read_state[64]; /* the state expressions read as `state` now ("": not set yet) */
    json_t **fresh;      /* the objects of the state this step made or copied (see own_member) */
    size_t nfresh, capfresh;
    long item_no; /* the element of a task made for `for_each`, or -1 */
    /* The entry an `each` action is at (keyed.h), or NULL. */
    const char *each_key;
    char *err;
    size_t errsz;
} run;

static int fail(run *r, int code, const char *fmt, ...) CF_PRINTF(3, 4);

static int fail(run *r, int code, const char *fmt, ...)
{
    va_list ap;
    if (r->err && r->errsz) {
        va_start(ap, fmt);
        vsnprintf(r->err, r->errsz, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * A deep copy of `v`, the same values in the same order as json_deep_copy gives, without its
 * check for loops (a case's state, read from JSON text, has none): that check formats every
 * object's and array's address into a table, and took most of the copy, the largest part of the
 * transition function's time (docs/performance.md).  NULL when out of memory.
 */
static json_t *copy_deep(const json_t *v)
{
    json_t *c, *m;
    const char *key;
    size_t len, i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (!(c = json_object()))
            return NULL;
        json_object_keylen_foreach((json_t *)v, key, len, m)
        {
            if (json_object_setn_new_nocheck(c, key, len, copy_deep(m)) != 0) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    case JSON_ARRAY:
        if (!(c = json_array()))
            return NULL;
        json_array_foreach (v, i, m) {
            if (json_array_append_new(c, copy_deep(m)) != 0) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    case JSON_STRING: return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return json_integer(json_integer_value(v));
    case JSON_REAL: return json_real(json_real_value(v));
    default: return json_incref((json_t *)v); /* true, false and null are shared */
    }
}

/* Remembers that object `v` is the step's own: its members may change in place. */
static void mark_fresh(run *r, json_t *v)
{
    if (r->nfresh == r->capfresh) {
        size_t cap = r->capfresh ? 2 * r->capfresh : 8;
        json_t **more = realloc(r->fresh, cap * sizeof *more);
        if (!more) {
            r->oom = 1;
            return;
        }
        r->fresh = more;
        r->capfresh = cap;
    }
    r->fresh[r->nfresh++] = v;
}

/*
 * The object `parent[key]`, made the step's own before the step changes its members.  The new
 * state shares whatever it does not change with the state it came from (apply copies only the
 * top of the state, its data, activities and timers), so that an object of the old state is
 * copied, one level, the first time the step changes it, and the copy takes its place; one the
 * step made or copied already is returned as it is, so that every later change of the step
 * reaches the same object (a record action's value is that object).  `parent` must be the
 * step's own.  NULL when the member is not an object, or when out of memory (r->oom).
 */
static int is_fresh(const run *r, const json_t *v)
{
    for (size_t i = 0; i < r->nfresh; i++)
        if (r->fresh[i] == v)
            return 1;
    return 0;
}

static json_t *own_member(run *r, json_t *parent, const char *key)
{
    json_t *v = json_object_get(parent, key), *c;

    if (!json_is_object(v))
        return NULL;
    if (is_fresh(r, v))
        return v;
    if (!(c = json_copy(v)) || json_object_set_new(parent, key, c) != 0) {
        r->oom = 1;
        return NULL;
    }
    mark_fresh(r, c);
    return c;
}

/* Adds member `key` (a name of this file) holding `v`, whose reference it takes; 0, or -1 when
 * `v` is NULL.  The objects the transition function builds for every event are built with it:
 * json_pack parsed its formats at each call, a fifth of the function's time. */
static int put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new_nocheck(o, key, v);
}

/* The case's activities, made the step's own before the step changes them: copied one level
 * at the first change (most events change none, and a case far along has dozens).  NULL when
 * out of memory (r->oom). */
static json_t *own_acts(run *r)
{
    json_t *c;

    if (r->acts_own)
        return r->acts;
    if (!(c = json_copy(r->acts)) || json_object_set_new(r->st, "activities", c) != 0 ||
        json_object_set(r->root, "activities", c) != 0) {
        r->oom = 1;
        return NULL;
    }
    r->acts = c;
    r->acts_own = 1;
    return c;
}

static int offset(const run *r)
{
    return cf_calendar_utc_offset(r->wf->calendar);
}

static json_t *time_json(const run *r, cf_time t)
{
    char buf[64];
    cf_time_format(t, offset(r), buf, sizeof buf);
    return json_string_nocheck(buf); /* ASCII */
}

static const char *state_name(const run *r)
{
    return json_string_value(json_object_get(r->st, "state"));
}

/* Looks up a dotted path ("parties.0.name") below `v`; NULL when any step is missing. */
static json_t *lookup(json_t *v, const char *path)
{
    char seg[128];
    while (v && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, path, len);
        seg[len] = '\0';
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            char *end;
            long i = strtol(seg, &end, 10);
            v = (*end || i < 0) ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = NULL;
        }
        path += len;
        if (*path == '.')
            path++;
    }
    return v;
}

/* The resolver for time expressions: now, event.time, case.<field>, event.<field>. */
static int resolve(void *ctx, const char *ref, cf_time *out)
{
    run *r = ctx;
    json_t *v = NULL;

    if (strcmp(ref, "now") == 0) {
        *out = r->now;
        return 0;
    }
    if (strcmp(ref, "event.time") == 0) {
        *out = r->event_time;
        return 0;
    }
    if (strncmp(ref, "clock.", 6) == 0)
        v = json_object_get(json_object_get(r->clocks, ref + 6), "last_day");
    if (strncmp(ref, "case.", 5) == 0)
        v = lookup(r->data, ref + 5);
    else if (strncmp(ref, "event.", 6) == 0)
        v = lookup(json_object_get(r->event, "data"), ref + 6);
    else if (strncmp(ref, "record.", 7) == 0)
        v = lookup(json_object_get(r->root, "record"), ref + 7);
    if (!json_is_string(v) || cf_time_parse(json_string_value(v), out) != 0)
        return CF_ENOTFOUND;
    return 0;
}

static void warn(run *r, const char *fmt, ...) CF_PRINTF(2, 3);

static void warn(run *r, const char *fmt, ...)
{
    char buf[512];
    size_t i;
    json_t *w;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_foreach (r->warn, i, w) {
        if (strcmp(json_string_value(w), buf) == 0)
            return;
    }
    json_array_append_new(r->warn, json_string(buf));
}

static int check_date(run *r, cf_date d, const char *text);

static int eval_when(run *r, const cf_when *w, const char *text, cf_time *out)
{
    int rc = cf_when_eval(w, r->wf->calendar, resolve, r, out);

    if (rc != 0)
        return fail(r, CF_EINVAL, "cannot compute '%s': a date it counts from is not set",
                    text ? text : "time");
    return check_date(r, cf_time_date(*out, offset(r)), text);
}

/* Refuses a date PostgreSQL cannot hold, and warns of one past the calendar's data. */
static int check_date(run *r, cf_date d, const char *text)
{
    int first, last;
    /* A time outside the years 0001-9999 would be written as a year PostgreSQL refuses (or
     * cannot be read back): refuse the event here instead of failing its whole batch. */
    {
        int y;
        cf_date_to_ymd(d, &y, NULL, NULL);
        if (y < 1 || y > 9999)
            return fail(r, CF_ERANGE, "'%s' comes to the year %d, outside 0001-9999",
                        text ? text : "time", y);
    }
    /* Working days past the calendar's data are a guess: say so (DOMAIN.md, Time). */
    if (!cf_calendar_knows(r->wf->calendar, d) &&
        cf_calendar_years(r->wf->calendar, &first, &last) == 0) {
        char day[CF_DATE_BUFSZ];
        cf_date_format(d, day, sizeof day);
        warn(r,
             "'%s' gives %s, outside the calendar's years %d-%d: working days there are "
             "assumed to be Monday to Friday",
             text ? text : "time", day, first, last);
    }
    return 0;
}

/* Lets expressions read the case's current state as `state`; set again only when it changed
 * since the last expression (each `if` and `when` tried would otherwise make a new text). */
static void root_state(run *r)
{
    const char *s = state_name(r);

    if (s && s[0] && strcmp(s, r->read_state) == 0)
        return;
    json_object_set_new(r->root, "state", json_string(s));
    snprintf(r->read_state, sizeof r->read_state, "%s",
             s && strlen(s) < sizeof r->read_state ? s : "");
}

static int eval_expr(run *r, const cf_expr *e, json_t **value)
{
    char why[256];
    root_state(r);
    if (cf_expr_eval(e, r->root, value, why, sizeof why) != 0)
        return fail(r, CF_EINVAL, "in state '%s': %s", state_name(r), why);
    return 0;
}

static int test_expr(run *r, const cf_expr *e, int *truth)
{
    char why[256];
    if (!e) {
        *truth = 1;
        return 0;
    }
    root_state(r);
    if (cf_expr_test(e, r->root, truth, why, sizeof why) != 0)
        return fail(r, CF_EINVAL, "in state '%s': %s", state_name(r), why);
    return 0;
}

/* A field's value: a copy of its literal data, or its expression's value. */
static int field_value(run *r, const cf_field *f, json_t **value)
{
    if (f->literal) {
        /* A copy: the workflow's data is shared by every case and must never change. */
        *value = copy_deep(f->literal);
        return *value ? 0 : fail(r, CF_ENOMEM, "out of memory");
    }
    return eval_expr(r, f->expr, value);
}

/* A task id that is the same every time the same event is applied: replay depends on it. */
static void task_id(const run *r, char *buf, size_t n)
{
    unsigned char md[32] = {0};
    char in[512];
    int len = r->item_no < 0
                  ? snprintf(in, sizeof in, "%s\x1f%ld\x1f%d", r->case_no, r->seq, r->action_no)
                  : snprintf(in, sizeof in, "%s\x1f%ld\x1f%d\x1f%ld", r->case_no, r->seq,
                             r->action_no, r->item_no);

    if (cf_chain_sha256(in, (size_t)len, md) != 0)
        memset(md, 0, sizeof md);
    snprintf(buf, n, "t-");
    for (unsigned int i = 0; i < 10 && 2 + 2 * i + 2 < n; i++) {
        buf[2 + 2 * i] = "0123456789abcdef"[md[i] >> 4];
        buf[3 + 2 * i] = "0123456789abcdef"[md[i] & 15];
        buf[4 + 2 * i] = '\0';
    }
}

/* The post an action names: its literal, its expression's value, or the task kind's post. */
static int action_post(run *r, const cf_action *a, const cf_task_kind *tk, json_t **post)
{
    *post = NULL;
    if (a->post) {
        *post = json_string(a->post);
    } else if (a->post_expr) {
        json_t *v = NULL;
        int rc = eval_expr(r, a->post_expr, &v);
        if (rc)
            return rc;
        if (!json_is_string(v) || !cf_workflow_post(r->wf, json_string_value(v))) {
            /* The value is not quoted: an expression may read case data, which is personal. */
            rc = fail(r, CF_EINVAL, "%s:%d:%d: the post computed here is %s", r->wf->path,
                      a->post_pos.line, a->post_pos.col,
                      json_is_string(v) ? "no declared post"
                      : json_is_null(v) ? "missing"
                                        : "not a text");
            json_decref(v);
            return rc;
        }
        *post = v;
    } else if (tk && tk->post) {
        *post = json_string(tk->post);
    }
    return 0;
}

/* A copy of text `s` the action keeps; NULL (and the step fails) when out of memory. */
static char *own_text(run *r, const char *s)
{
    char *c = strdup(s);
    if (!c)
        r->oom = 1;
    return c;
}

/* Appends action `a` (whose references it takes) to the output. */
static void emit(run *r, cf_step_action a)
{
    if (r->nout == r->capout) {
        size_t cap = r->capout ? 2 * r->capout : 8;
        cf_step_action *more = realloc(r->out, cap * sizeof *more);
        if (!more) {
            cf_step_action_clear(&a);
            r->oom = 1;
            return;
        }
        r->out = more;
        r->capout = cap;
    }
    r->out[r->nout++] = a;
}

static void emit_timer(run *r, const char *name, json_t *at)
{
    emit(r,
         (cf_step_action){.kind = CF_SA_TIMER, .u.timer = {.name = own_text(r, name), .at = at}});
}

static void emit_timer_cancel(run *r, const char *name)
{
    emit(r, (cf_step_action){.kind = CF_SA_TIMER_CANCEL, .u.timer = {.name = own_text(r, name)}});
}

static void emit_set(run *r, const char *field, json_t *value)
{
    emit(r, (cf_step_action){.kind = CF_SA_SET,
                             .u.set = {.field = own_text(r, field), .value = value}});
}

/* The value a ${...} part of a text names: case.*, event.*, task.* (the task whose event
 * this is), missing, settings.*, clocks.* or any other name an expression reads, or NULL. */
static json_t *text_value(run *r, const char *path)
{
    if (strncmp(path, "case.", 5) == 0)
        return lookup(r->data, path + 5);
    if (strncmp(path, "event.", 6) == 0)
        return lookup(json_object_get(r->event, "data"), path + 6);
    return lookup(r->root, path);
}

/* Appends a value to out[*o..n): texts as they are, numbers in digits, a list of texts joined
 * with 、; anything else (missing, objects) adds nothing. */
static void append_value(char *out, size_t n, size_t *o, const json_t *v)
{
    int k = 0;
    size_t i;
    const json_t *x;

    if (json_is_string(v))
        k = snprintf(out + *o, n - *o, "%s", json_string_value(v));
    else if (json_is_integer(v))
        k = snprintf(out + *o, n - *o, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        k = snprintf(out + *o, n - *o, "%.2f", json_real_value(v));
    else if (json_is_boolean(v))
        k = snprintf(out + *o, n - *o, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_array(v))
        json_array_foreach (v, i, x) {
            if (i > 0 && *o + 1 < n)
                *o += (size_t)snprintf(out + *o, n - *o, "、");
            if (*o >= n)
                *o = n - 1;
            append_value(out, n, o, x);
        }
    if (k > 0)
        *o += (size_t)k;
    if (*o >= n)
        *o = n - 1;
}

/* Writes `text` to out with each ${case.field}, ${event.field} and ${task.field} replaced by
 * its value; truncates at n - 1 bytes. */
static void fill_text(run *r, const char *text, char *out, size_t n)
{
    size_t o = 0;

    while (*text && o + 1 < n) {
        const char *end;
        if (text[0] == '$' && text[1] == '{' && (end = strchr(text, '}'))) {
            char path[128];
            size_t len = (size_t)(end - text - 2);
            if (len < sizeof path) {
                memcpy(path, text + 2, len);
                path[len] = '\0';
                append_value(out, n, &o, text_value(r, path));
            }
            text = end + 1;
            continue;
        }
        out[o++] = *text++;
    }
    out[o] = '\0';
}

static json_t *fill_message(run *r, const char *msg)
{
    char out[1024];
    fill_text(r, msg, out, sizeof out);
    return json_string(out);
}

/* The name of the instance an action works on (keyed.h): `base`, or base#KEY when the action
 * is keyed (`key:`) or is at an entry of `each`. */
static int instance_name(run *r, const cf_action *a, const char *base, char *out, size_t n)
{
    json_t *key = NULL;
    int rc;

    if (!r->each_key && !a->key) {
        snprintf(out, n, "%s", base);
        return 0;
    }
    if (r->each_key)
        key = json_string(r->each_key);
    else if ((rc = eval_expr(r, a->key, &key)))
        return rc;
    rc = cf_keyed_name(base, key, out, n);
    json_decref(key);
    if (rc)
        /* The key's value is case data: name its place, not the value. */
        return fail(r, CF_EINVAL, "%s:%d:%d: the key computed here is %s", r->wf->path,
                    a->key_pos.line, a->key_pos.col,
                    rc == CF_ERANGE ? "too long" : "not a text or a whole number (or holds '#')");
    return 0;
}

static int cancel_task(run *r, const char *activity)
{
    json_t *a = json_object_get(r->acts, activity);
    const char *status = json_string_value(json_object_get(a, "status"));

    if (!status || strcmp(status, "open") != 0)
        return 0;
    if (!(a = own_member(r, own_acts(r), activity)))
        return 0;
    json_object_set_new(a, "status", json_string("cancelled"));
    if (json_object_get(a, "task_id"))
        emit(r,
             (cf_step_action){.kind = CF_SA_TASK_CANCEL,
                              .u.task_cancel = {.activity = own_text(r, activity),
                                                .id = json_incref(json_object_get(a, "task_id"))}});
    return 0;
}

static void open_task(run *r, const cf_task_kind *tk, const char *kind, const char *activity,
                      const char *id, json_t *post, json_t *due, json_t *params, const char *title);

static int run_one_task(run *r, const cf_action *a)
{
    const cf_task_kind *tk = cf_workflow_kind(r->wf, a->name);
    json_t *post = NULL, *params = json_object(), *due = json_null();
    char id[32], base[128], as[192];
    int rc = 0;

    task_id(r, id, sizeof id);
    /* incident_${task.name}: one activity per failed task, so that one incident does not
     * replace another. */
    snprintf(base, sizeof base, "%s", a->as);
    if (a->as_template)
        fill_text(r, a->as, base, sizeof base);
    if ((rc = instance_name(r, a, base, as, sizeof as)) || (rc = action_post(r, a, tk, &post)))
        goto out;
    for (size_t i = 0; i < a->nfields; i++) {
        json_t *v = NULL;
        if ((rc = field_value(r, &a->fields[i], &v)))
            goto out;
        json_object_set_new(params, a->fields[i].name, v);
    }
    if (a->at) {
        cf_time t;
        if ((rc = eval_when(r, a->at, a->at_text, &t)))
            goto out;
        due = time_json(r, t);
    }
    /* A task started again under the same name replaces the open one. */
    cancel_task(r, as);
    open_task(r, tk, a->name, as, id, post, due, params, a->title);
out:
    json_decref(post);
    json_decref(params);
    json_decref(due);
    return rc;
}

/* Books the open task `activity` on the case and emits its action (the task action of the
 * table in docs/workflow-language.md).  Borrows post, due and params. */
static void open_task(run *r, const cf_task_kind *tk, const char *kind, const char *activity,
                      const char *id, json_t *post, json_t *due, json_t *params, const char *title)
{
    json_t *act = json_object();

    if (act &&
        (put(act, "task_id", json_string(id)) || put(act, "kind", json_string(kind)) ||
         put(act, "status", json_string_nocheck("open")) ||
         put(act, "post", post ? json_incref(post) : json_null()) ||
         put(act, "due", json_incref(due)) || put(act, "created_at", time_json(r, r->now)))) {
        json_decref(act);
        act = NULL;
    }
    if (json_object_set_new(own_acts(r), activity, act) == 0)
        mark_fresh(r, act);
    if (due && params) {
        cf_step_action out = {.kind = CF_SA_TASK,
                              .u.task = {.task = own_text(r, kind),
                                         .activity = own_text(r, activity),
                                         .id = own_text(r, id),
                                         .post = post ? json_incref(post) : json_null(),
                                         .due = json_incref(due),
                                         .params = json_incref(params),
                                         .worker = tk && tk->worker}};
        if (title)
            out.u.task.title = json_string(title);
        else if (tk && tk->title)
            out.u.task.title = json_string(tk->title);
        if (tk && tk->batch) {
            json_t *key = json_object_get(params, tk->group_by);
            /* The group key is text; a number (an office code) is written as its digits. */
            out.u.task.batch = json_is_string(key) ? json_incref(key)
                               : json_is_integer(key)
                                   ? json_sprintf("%lld", (long long)json_integer_value(key))
                                   : json_null();
        }
        emit(r, out);
    }
}

/*
 * A staff task returned (task.returned) with no transition of its own goes where the workflow's
 * `returns` says: it is made again under the same activity, on the post it was on (requeue)
 * or on another, due when it was, with the returned task's id, the reason and who returned it
 * as its params.  Nothing happens for a kind the workflow says nothing of.
 */
static int requeue(run *r, const char *activity)
{
    json_t *a = json_object_get(r->acts, activity), *post = NULL, *params;
    const json_t *data = json_object_get(r->event, "data");
    const cf_task_kind *tk = cf_workflow_kind(r->wf, json_string_value(json_object_get(a, "kind")));
    char id[32];
    int rc;

    if (!tk || tk->worker || !(tk->returned_requeue || tk->returned_post || tk->returned_expr))
        return 0;
    r->action_no++;
    task_id(r, id, sizeof id);
    if (tk->returned_requeue) {
        post = json_incref(json_object_get(a, "post"));
    } else {
        cf_action where = {.post = tk->returned_post,
                           .post_expr = tk->returned_expr,
                           .post_pos = tk->returned_pos};
        if ((rc = action_post(r, &where, tk, &post)))
            return rc;
    }
    params = json_pack("{s:O, s:O?, s:O?}", "returned_task", json_object_get(a, "task_id"),
                       "reason", json_object_get(data, "reason"), "returned_by",
                       json_object_get(r->event, "source"));
    open_task(r, tk, tk->name, activity, id, post, json_object_get(a, "due"), params, NULL);
    json_decref(post);
    json_decref(params);
    return 0;
}

/*
 * A task action: one task, or with `for_each` one task per element of the list it gives (the
 * element read as `item` by the task's `as`, params and post).  A value that is not a list, or
 * an empty one, makes no task.
 */
static int run_task(run *r, const cf_action *a)
{
    json_t *list = NULL, *item;
    size_t i;
    int rc;

    if (!a->for_each)
        return run_one_task(r, a);
    if ((rc = eval_expr(r, a->for_each, &list)))
        return rc;
    rc = 0;
    json_array_foreach (json_is_array(list) ? list : NULL, i, item) {
        json_object_set(r->root, "item", item);
        r->item_no = (long)i;
        if ((rc = run_one_task(r, a)))
            break;
    }
    r->item_no = -1;
    json_object_del(r->root, "item");
    json_decref(list);
    return rc;
}

static int assign(run *r, const cf_action *a)
{
    json_t *post = NULL;
    int rc;

    if (strcmp(a->name, "team") == 0) {
        cf_caseno cn;
        char why[256];
        if (cf_caseno_parse(r->case_no, &cn, why, sizeof why) != 0)
            return fail(r, CF_EINVAL, "cannot assign by case number: %s", why);
        /* Sequence 1 goes to the first team, 7 to the first again: deterministic and even. */
        post = json_string(r->wf->teams[(size_t)(cn.seq - 1) % r->wf->nteams]);
        json_object_set(r->data, "team", post);
    } else if ((rc = action_post(r, a, NULL, &post))) {
        return rc;
    }
    json_object_set(r->data, "handler_post", post);
    if (post)
        emit(r, (cf_step_action){.kind = CF_SA_ASSIGN, .u.assign.post = post});
    return 0;
}

/* ---- statutory clocks ---- */

static json_t *date_json(cf_date d)
{
    char buf[CF_DATE_BUFSZ];
    cf_date_format(d, buf, sizeof buf);
    return json_string_nocheck(buf); /* ASCII */
}

/* A whole number of months or days from an action's field: 0 to `max`. */
static int clock_count(run *r, const cf_action *a, const cf_field *f, long max, long *out)
{
    json_t *v = NULL;
    int rc;

    *out = 0;
    if (!f)
        return 0;
    if ((rc = field_value(r, f, &v)))
        return rc;
    if (json_is_null(v)) {
        json_decref(v);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        json_decref(v);
        return fail(r, CF_EINVAL, "%s:%d:%d: %s of clock '%s' must be a whole number from 0 to %ld",
                    r->wf->path, f->pos.line, f->pos.col, f->name, a->name, max);
    }
    *out = (long)json_integer_value(v);
    json_decref(v);
    return 0;
}

/* The clock action of the output: what happened to the clock, for simulate and the feed. */
static void emit_clock(run *r, const char *name, const char *op, const json_t *ck,
                       const json_t *ground)
{
    emit(r, (cf_step_action){.kind = CF_SA_CLOCK,
                             .u.clock = {.name = own_text(r, name),
                                         .op = own_text(r, op),
                                         .status = json_incref(json_object_get(ck, "status")),
                                         .last_day = json_incref(json_object_get(ck, "last_day")),
                                         .ground = json_incref((json_t *)ground)}});
}

/* Cancels the deadlines (timers) of a clock that are set. */
static void clock_cancel_deadlines(run *r, const cf_clock *c)
{
    for (size_t i = 0; i < c->ndeadlines; i++) {
        const char *name = c->deadlines[i].name;
        if (name && json_object_get(r->timers, name)) {
            json_object_del(r->timers, name);
            emit_timer_cancel(r, name);
        }
    }
}

/*
 * The clock's last day has (or may have) moved: computes it, keeps the clock's field and its
 * dates up to date, and, when the clock runs, sets each of its deadlines again at its new time.
 * A deadline whose new time has passed fires at once (it is set for now).
 */
static int clock_moved(run *r, const cf_clock *c, json_t *ck, const char *op, const json_t *ground)
{
    cf_date day;
    cf_time at, t;
    json_t *v;
    int rc;

    if (cf_clock_last_day(c, r->wf->calendar, ck, &day, &at) != 0)
        return fail(r, CF_EINVAL, "the state of clock '%s' of case %s is damaged", c->name,
                    r->case_no);
    {
        char what[160];
        snprintf(what, sizeof what, "the last day of clock %s", c->name);
        if ((rc = check_date(r, day, what)))
            return rc;
    }
    v = time_json(r, at);
    json_object_set(ck, "last_day", v);
    emit_clock(r, c->name, op, ck, ground);
    if (c->field) {
        json_object_set(r->data, c->field, v);
        emit_set(r, c->field, json_incref(v));
    }
    json_decref(v);
    for (size_t i = 0; i < c->ndates; i++) {
        if (!c->dates[i].name || !c->dates[i].at)
            continue;
        if ((rc = eval_when(r, c->dates[i].at, c->dates[i].text, &t)))
            return rc;
        v = time_json(r, t);
        json_object_set(r->data, c->dates[i].name, v);
        emit_set(r, c->dates[i].name, v);
    }
    if (strcmp(json_string_value(json_object_get(ck, "status")), "running") != 0)
        return 0;
    for (size_t i = 0; i < c->ndeadlines; i++) {
        if (!c->deadlines[i].name || !c->deadlines[i].at)
            continue;
        if ((rc = eval_when(r, c->deadlines[i].at, c->deadlines[i].text, &t)))
            return rc;
        if (t < r->now)
            t = r->now;
        json_object_set_new(r->timers, c->deadlines[i].name, time_json(r, t));
        emit_timer(r, c->deadlines[i].name, time_json(r, t));
    }
    return 0;
}

/* The ground of an action (a copy), or JSON null when it gives none. */
static int ground_value(run *r, const cf_action *a, json_t **g)
{
    *g = NULL;
    if (!a->ground) {
        *g = json_null();
        return 0;
    }
    return field_value(r, a->ground, g);
}

static json_t *source_json(const run *r)
{
    json_t *s = json_object_get(r->event, "source");
    return json_is_string(s) ? json_incref(s) : json_null();
}

/* The clock `name` of the case, made the step's own whole: a clock action changes it deep down
 * (its pauses and extensions).  NULL when the case has no such clock, or out of memory (r->oom). */
static json_t *own_clock(run *r, const char *name)
{
    json_t *ck = json_object_get(r->clocks, name), *copy;

    if (!json_is_object(ck) || is_fresh(r, ck))
        return ck;
    if (!(copy = copy_deep(ck)) || json_object_set_new(r->clocks, name, copy) != 0) {
        r->oom = 1;
        return NULL;
    }
    mark_fresh(r, copy);
    return copy;
}

static int run_clock(run *r, const cf_action *a)
{
    const cf_clock *c = cf_workflow_clock(r->wf, a->name);
    json_t *ck = own_clock(r, a->name), *ground = NULL, *pauses, *open = NULL;
    const char *status = json_string_value(json_object_get(ck, "status"));
    cf_date today = cf_time_date(r->now, offset(r));
    long months = 0, days = 0;
    cf_time from = r->now;
    int rc = 0;

    if (!c || !r->clocks)
        return fail(r, CF_EINVAL, "no clock '%s' in workflow %s", a->name, r->wf->name);
    pauses = json_object_get(ck, "pauses");
    if (json_array_size(pauses) > 0) {
        open = json_array_get(pauses, json_array_size(pauses) - 1);
        if (!json_is_null(json_object_get(open, "to")))
            open = NULL;
    }
    switch (a->kind) {
    case CF_ACT_START_CLOCK:
        if ((rc = clock_count(r, a, a->months, 1200, &months)) ||
            (rc = clock_count(r, a, a->days, 36500, &days)))
            return rc;
        if (a->at && (rc = eval_when(r, a->at, a->at_text, &from)))
            return rc;
        ck = json_pack("{s:s, s:o, s:i, s:i, s:i, s:[], s:[]}", "status", "running", "started",
                       time_json(r, from), "months", (int)months, "days", (int)days, "paused_days",
                       0, "pauses", "extensions");
        if (json_object_set_new(r->clocks, a->name, ck) != 0)
            return fail(r, CF_ENOMEM, "out of memory");
        mark_fresh(r, ck);
        return clock_moved(r, c, ck, "start", NULL);
    case CF_ACT_EXTEND_CLOCK:
        if (!status || strcmp(status, "stopped") == 0)
            return 0; /* no clock runs: nothing to extend */
        if ((rc = clock_count(r, a, a->months, 1200, &months)) ||
            (rc = clock_count(r, a, a->days, 36500, &days)) || (rc = ground_value(r, a, &ground)))
            return rc;
        json_object_set_new(
            ck, "months", json_integer(json_integer_value(json_object_get(ck, "months")) + months));
        json_object_set_new(ck, "days",
                            json_integer(json_integer_value(json_object_get(ck, "days")) + days));
        json_array_append_new(json_object_get(ck, "extensions"),
                              json_pack("{s:o, s:i, s:i, s:O, s:o}", "on", date_json(today),
                                        "months", (int)months, "days", (int)days, "ground", ground,
                                        "by", source_json(r)));
        rc = clock_moved(r, c, ck, "extend", ground);
        json_decref(ground);
        return rc;
    case CF_ACT_PAUSE_CLOCK:
        if (!status || strcmp(status, "stopped") == 0)
            return 0; /* a clock not running (none for this kind of case) does not pause */
        if ((rc = ground_value(r, a, &ground)))
            return rc;
        if (open) {
            /* Paused already on another ground: the pause goes on until every ground ends. */
            json_t *grounds = json_object_get(open, "grounds"), *g;
            size_t i;
            int seen = 0;
            json_array_foreach (grounds, i, g) {
                seen |= json_equal(g, ground);
            }
            if (!seen)
                json_array_append(grounds, ground);
        } else {
            json_object_set_new(ck, "status", json_string("paused"));
            json_array_append_new(pauses,
                                  json_pack("{s:o, s:n, s:n, s:[O], s:o}", "from", date_json(today),
                                            "to", "days", "grounds", ground, "by", source_json(r)));
        }
        emit_clock(r, a->name, "pause", ck, ground);
        /* A paused clock cannot run out: its deadlines wait for it to resume. */
        clock_cancel_deadlines(r, c);
        json_decref(ground);
        return 0;
    case CF_ACT_RESUME_CLOCK: {
        json_t *grounds;
        cf_date began;
        if (!open)
            return 0; /* not paused: nothing to resume */
        if ((rc = ground_value(r, a, &ground)))
            return rc;
        grounds = json_object_get(open, "grounds");
        if (!json_is_null(ground)) {
            size_t before = json_array_size(grounds);
            for (size_t i = 0; i < json_array_size(grounds); i++)
                if (json_equal(json_array_get(grounds, i), ground))
                    json_array_remove(grounds, i--);
            if (json_array_size(grounds) == before) {
                /* Not paused on this ground: nothing to resume. */
                json_decref(ground);
                return 0;
            }
            if (json_array_size(grounds) > 0) {
                /* Other grounds still hold the clock. */
                emit_clock(r, a->name, "resume", ck, ground);
                json_decref(ground);
                return 0;
            }
        }
        if (cf_date_parse(json_string_value(json_object_get(open, "from")), &began) != 0)
            began = today;
        /* The day the pause began is paused, the day it ends is counted again. */
        days = today > began ? (long)(today - began) : 0;
        json_object_set_new(open, "to", date_json(today));
        json_object_set_new(open, "days", json_integer(days));
        json_object_set_new(
            ck, "paused_days",
            json_integer(json_integer_value(json_object_get(ck, "paused_days")) + days));
        json_object_set_new(ck, "status", json_string("running"));
        rc = clock_moved(r, c, ck, "resume", ground);
        json_decref(ground);
        return rc;
    }
    case CF_ACT_STOP_CLOCK:
        if (!status || strcmp(status, "stopped") == 0)
            return 0;
        if (open) {
            cf_date began;
            if (cf_date_parse(json_string_value(json_object_get(open, "from")), &began) != 0)
                began = today;
            json_object_set_new(open, "to", date_json(today));
            json_object_set_new(open, "days", json_integer(today > began ? today - began : 0));
            json_object_set_new(
                ck, "paused_days",
                json_integer(json_integer_value(json_object_get(ck, "paused_days")) +
                             (today > began ? today - began : 0)));
        }
        json_object_set_new(ck, "status", json_string("stopped"));
        json_object_set_new(ck, "stopped_on", date_json(today));
        emit_clock(r, a->name, "stop", ck, NULL);
        clock_cancel_deadlines(r, c);
        return 0;
    default: return 0;
    }
}

static int run_one(run *r, const cf_action *a);

/* An action with `each`: once for every entry of the record it names (in the order of the
 * entries' names), with the entry readable as `record`, where `where` holds. */
static int run_each(run *r, const cf_action *a)
{
    json_t *entries = NULL, *names, *name, *saved;
    size_t i;
    int rc, truth, ran = 0;

    if ((rc = eval_expr(r, a->each, &entries)))
        return rc;
    if (!(names = cf_keyed_entries(entries))) {
        json_decref(entries);
        return fail(r, CF_ENOMEM, "out of memory");
    }
    saved = json_incref(json_object_get(r->root, "record"));
    rc = 0;
    json_array_foreach (names, i, name) {
        const char *key = json_string_value(name);
        json_object_set(r->root, "record", json_object_get(entries, key));
        if ((rc = test_expr(r, a->where, &truth)))
            break;
        if (!truth)
            continue;
        /* Each entry's task is an action of its own: its id must differ from the others'. */
        if (ran++)
            r->action_no++;
        r->each_key = key;
        rc = run_one(r, a);
        r->each_key = NULL;
        if (rc)
            break;
    }
    if (saved)
        json_object_set_new(r->root, "record", saved);
    else
        json_object_del(r->root, "record");
    json_decref(names);
    json_decref(entries);
    return rc;
}

/* record: writes the fields of the entry KEY of the case field `name` (an object of entries),
 * keeping its other members; the entry is then readable as `record`. */
static int run_record(run *r, const cf_action *a)
{
    json_t *all, *entry, *key = NULL;
    char name[192];
    const char *k;
    int rc;

    if ((rc = instance_name(r, a, a->name, name, sizeof name)))
        return rc;
    k = cf_keyed_key(name);
    if (!(all = own_member(r, r->data, a->name))) {
        json_object_set_new(r->data, a->name, json_object());
        all = json_object_get(r->data, a->name);
        mark_fresh(r, all);
    }
    if (!(entry = own_member(r, all, k))) {
        json_object_set_new(all, k, json_object());
        entry = json_object_get(all, k);
        mark_fresh(r, entry);
    }
    if (r->oom || !json_is_object(all) || !json_is_object(entry))
        return fail(r, CF_ENOMEM, "out of memory");
    json_object_set(r->root, "record", entry);
    for (size_t i = 0; i < a->nfields + a->ntimes; i++) {
        const cf_field *f = i < a->nfields ? &a->fields[i] : &a->times[i - a->nfields];
        json_t *v = NULL;
        cf_time t;
        if (i < a->nfields) {
            if ((rc = field_value(r, f, &v)))
                return rc;
        } else {
            if ((rc = eval_when(r, f->when, f->text, &t)))
                return rc;
            v = time_json(r, t);
        }
        json_object_set_new(entry, f->name, v);
    }
    key = json_string(k);
    emit(r,
         (cf_step_action){
             .kind = CF_SA_RECORD,
             .u.record = {.field = own_text(r, a->name), .key = key, .value = json_incref(entry)}});
    return 0;
}

static int run_action(run *r, const cf_action *a)
{
    r->action_no++;
    return a->each ? run_each(r, a) : run_one(r, a);
}

static int run_one(run *r, const cf_action *a)
{
    int rc = 0;
    cf_time t;
    char name[192];

    switch (a->kind) {
    case CF_ACT_TASK: return run_task(r, a);
    case CF_ACT_RECORD: return run_record(r, a);
    case CF_ACT_CANCEL_TASK:
        if ((rc = instance_name(r, a, a->name, name, sizeof name)))
            return rc;
        return cancel_task(r, name);
    case CF_ACT_TIMER:
        if ((rc = instance_name(r, a, a->name, name, sizeof name)) ||
            (rc = eval_when(r, a->at, a->at_text, &t)))
            return rc;
        json_object_set_new(r->timers, name, time_json(r, t));
        emit_timer(r, name, time_json(r, t));
        return 0;
    case CF_ACT_CANCEL_TIMER:
        if ((rc = instance_name(r, a, a->name, name, sizeof name)))
            return rc;
        if (json_object_get(r->timers, name)) {
            json_object_del(r->timers, name);
            emit_timer_cancel(r, name);
        }
        return 0;
    case CF_ACT_SET:
    case CF_ACT_SET_TIME:
        for (size_t i = 0; i < a->nfields; i++) {
            json_t *v = NULL;
            if (a->kind == CF_ACT_SET) {
                if ((rc = field_value(r, &a->fields[i], &v)))
                    return rc;
            } else {
                if ((rc = eval_when(r, a->fields[i].when, a->fields[i].text, &t)))
                    return rc;
                v = time_json(r, t);
            }
            json_object_set(r->data, a->fields[i].name, v);
            emit_set(r, a->fields[i].name, v);
        }
        return 0;
    case CF_ACT_ASSIGN: return assign(r, a);
    case CF_ACT_START_CLOCK:
    case CF_ACT_PAUSE_CLOCK:
    case CF_ACT_RESUME_CLOCK:
    case CF_ACT_EXTEND_CLOCK:
    case CF_ACT_STOP_CLOCK: return run_clock(r, a);
    case CF_ACT_MERGE: {
        json_t *v = NULL;
        if ((rc = eval_expr(r, a->value, &v)))
            return rc;
        if (!json_is_object(v)) {
            json_decref(v);
            return fail(r, CF_EINVAL, "%s:%d:%d: merge needs an object", r->wf->path,
                        a->name_pos.line, a->name_pos.col);
        }
        json_object_update(r->data, v);
        emit(r, (cf_step_action){.kind = CF_SA_MERGE, .u.merge.fields = v});
        return 0;
    }
    case CF_ACT_NOTIFY: {
        json_t *post = NULL;
        if ((rc = action_post(r, a, NULL, &post)))
            return rc;
        json_t *message = fill_message(r, a->message);
        /* A message that is not text (cut inside a character) makes no action, as before. */
        if (message)
            emit(r, (cf_step_action){
                        .kind = CF_SA_NOTIFY,
                        .u.notify = {.post = post ? post : json_null(), .message = message}});
        else
            json_decref(post);
        return 0;
    }
    }
    return 0;
}

static int run_actions(run *r, const cf_action *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = run_action(r, &acts[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* At the end of a case's life nothing may stay pending: open tasks and timers are cancelled. */
static void close_everything(run *r)
{
    const char *name;
    json_t *a, *tmp;
    void *iter;

    if (!own_acts(r))
        return;
    json_object_foreach (r->acts, name, a) {
        cancel_task(r, name);
    }
    json_object_foreach_safe (r->timers, iter, name, tmp) {
        (void)tmp;
        emit_timer_cancel(r, name);
        json_object_del(r->timers, name);
    }
}

static int enter(run *r, int index)
{
    const cf_state *s = &r->wf->states[index];
    int rc;

    json_object_set_new(r->st, "state", json_string(s->name));
    json_array_append_new(r->path, json_string(s->name));
    if ((rc = run_actions(r, s->enter, s->nenter)))
        return rc;
    if (s->final)
        close_everything(r);
    return 0;
}

/* Checks a transition's requirements; when some fail, runs its `else` actions with `missing`
 * (the list of what is missing) readable and sets *refused.  Returns 0 or an error. */
static int requirements(run *r, const cf_transition *t, int *refused)
{
    json_t *missing = json_array();
    int rc = 0, truth;

    *refused = 0;
    if (!missing)
        return fail(r, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nrequires; i++) {
        if ((rc = test_expr(r, t->requires[i].that, &truth)))
            goto out;
        if (!truth) {
            char text[512];
            fill_text(r, t->requires[i].missing, text, sizeof text);
            json_array_append_new(missing, json_string(text));
        }
    }
    if (json_array_size(missing) == 0)
        goto out;
    *refused = 1;
    json_object_set(r->root, "missing", missing);
    rc = run_actions(r, t->otherwise, t->notherwise);
    json_object_del(r->root, "missing");
out:
    json_decref(missing);
    return rc;
}

static int take(run *r, const cf_transition *t)
{
    int cur = cf_workflow_state_index(r->wf, state_name(r)), rc, refused;

    if (t->refuse) {
        char why[1024];
        fill_text(r, t->refuse, why, sizeof why);
        return fail(r, CF_EPERM, "refused: %s", why);
    }
    if (t->nrequires) {
        if ((rc = requirements(r, t, &refused)))
            return rc;
        if (refused)
            return 0;
    }

    if (t->to_index >= 0 && cur >= 0) {
        const cf_state *s = &r->wf->states[cur];
        if ((rc = run_actions(r, s->exit, s->nexit)))
            return rc;
    }
    if ((rc = run_actions(r, t->actions, t->nactions)))
        return rc;
    if (t->to_index >= 0)
        return enter(r, t->to_index);
    return 0;
}

/* Whether transition `t` may be taken in state `s` (an any_state one is not in every state). */
static int applies_here(const cf_state *s, const cf_transition *t, int anywhere)
{
    if (!anywhere)
        return 1;
    if (s->final)
        return 0;
    for (size_t e = 0; e < t->nexcept; e++)
        if (strcmp(t->except[e], s->name) == 0)
            return 0;
    return 1;
}

/* A transition with `of` reads the entry of the event's key in that record as `record`. */
static void bind_of(run *r, const cf_transition *t, const char *key)
{
    if (t->of && key)
        json_object_set(r->root, "record", json_object_get(json_object_get(r->data, t->of), key));
    else
        json_object_del(r->root, "record");
}

/*
 * Finds the first transition of the current state (then of any_state) that
 * matches: for an event (`type` set) its type and filters and `if`, for the
 * automatic ones (`type` NULL) its `when`.  *found is NULL when none does.
 */
static int match(run *r, const char *type, const char *activity, const char *timer,
                 const cf_transition **found)
{
    int cur = cf_workflow_state_index(r->wf, state_name(r)), rc, truth;
    const cf_state *s = &r->wf->states[cur];
    const char *key = NULL;

    *found = NULL;
    for (size_t i = 0; i < s->non + r->wf->nany; i++) {
        int anywhere = i >= s->non;
        const cf_transition *t = anywhere ? &r->wf->any[i - s->non] : &s->on[i];
        if (!applies_here(s, t, anywhere))
            continue;
        if (type ? !t->on || strcmp(t->on, type) != 0 : t->on != NULL)
            continue;
        if (t->task && (!activity || !cf_keyed_match(t->task, activity, &key)))
            continue;
        if (t->timer && (!timer || !cf_keyed_match(t->timer, timer, &key)))
            continue;
        bind_of(r, t, key);
        if ((rc = test_expr(r, t->guard, &truth)))
            return rc;
        if (truth) {
            *found = t;
            return 0;
        }
    }
    return 0;
}

/* The post and the account of a staff source "staff:<post>:<account>", into post and acct;
 * returns 0 when the source is not a member of staff. */
static int staff_source(const char *source, char *post, size_t pn, char *acct, size_t an)
{
    const char *p, *c;
    if (!source || strncmp(source, "staff:", 6) != 0)
        return 0;
    p = source + 6;
    c = strchr(p, ':');
    if (!c || c == p || !c[1] || (size_t)(c - p) >= pn)
        return 0;
    snprintf(post, pn, "%.*s", (int)(c - p), p);
    snprintf(acct, an, "%s", c + 1);
    return 1;
}

/*
 * A case.decided event under a workflow that declares its decisions: the decision must be one
 * of them, made in a state where it may be made, by staff of a post that may make it.  Returns
 * 0, or CF_EPERM / CF_ESTATE with the reason.
 */
static int check_decision(run *r)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(r->event, "data"), "decision"));
    const char *source = json_string_value(json_object_get(r->event, "source"));
    const cf_decision *d;
    const char *st = state_name(r);
    char post[128], acct[256], posts[512], why[256];
    size_t o = 0;
    int may;

    if (r->wf->ndecisions == 0 || strcmp(r->type, "case.decided") != 0)
        return 0;
    if (!(d = cf_workflow_decision(r->wf, name))) {
        for (size_t i = 0; i < r->wf->ndecisions && o + 1 < sizeof posts; i++)
            o += (size_t)snprintf(posts + o, sizeof posts - o, "%s%s", i ? ", " : "",
                                  r->wf->decisions[i].name);
        posts[o < sizeof posts ? o : sizeof posts - 1] = '\0';
        return fail(r, CF_EPERM,
                    "decision '%s' is not expected in state '%s': it is none of workflow %s's "
                    "decisions (%s)",
                    name ? name : "", st, r->wf->name, o ? posts : "none");
    }
    if (!cf_decision_open(r->wf, d, st))
        return fail(r, CF_ESTATE, "decision '%s' is not expected in state '%s'", d->name, st);
    if (!staff_source(source, post, sizeof post, acct, sizeof acct))
        post[0] = '\0';
    json_object_set_new(r->root, "state", json_string(st));
    if ((may = cf_decision_by(d, r->root, post, posts, sizeof posts, why, sizeof why)) < 0)
        return fail(r, CF_EINVAL, "in state '%s': %s", st, why);
    if (may)
        return 0;
    return fail(r, CF_EPERM, "decision '%s' is made by staff of %s; '%s' may not make it", d->name,
                posts[0] ? posts : "no post", source ? source : "");
}

/* Books a task.* event on its activity; returns the activity's name in *activity. */
static int book_task(run *r, const json_t *data, const char **activity)
{
    const char *id = json_string_value(json_object_get(data, "task_id"));
    const char *name;
    json_t *a;

    *activity = NULL;
    json_object_foreach (r->acts, name, a) {
        const char *aid = json_string_value(json_object_get(a, "task_id"));
        if (id && aid && strcmp(id, aid) == 0) {
            const char *status = json_string_value(json_object_get(a, "status"));
            if (strcmp(status, "open") != 0)
                return fail(r, CF_EDUP, "task %s (%s) is %s already, not open", id, name, status);
            *activity = name;
            /* `name` stays valid: the old state keeps the activities being iterated. */
            if (!(a = own_member(r, own_acts(r), name)))
                return fail(r, CF_ENOMEM, "out of memory");
            /* Expressions of the transition read the task as `task` (task.post, task.kind). */
            json_object_set_new(r->root, "task",
                                json_pack("{s:s, s:O, s:O, s:s?}", "name", name, "kind",
                                          json_object_get(a, "kind"), "post",
                                          json_object_get(a, "post"), "key", cf_keyed_key(name)));
            if (strcmp(r->type, "task.completed") == 0) {
                json_object_set_new(a, "status", json_string("done"));
                json_object_set(a, "result", json_object_get(data, "result"));
            } else if (strcmp(r->type, "task.failed") == 0) {
                json_object_set_new(a, "status", json_string("failed"));
                json_object_set(a, "error", json_object_get(data, "error"));
            } else {
                json_object_set_new(a, "status", json_string("returned"));
                json_object_set(a, "reason", json_object_get(data, "reason"));
            }
            json_object_set_new(a, "finished_at", time_json(r, r->now));
            return 0;
        }
    }
    return fail(r, CF_ENOTFOUND, "case has no task %s", id ? id : "(no task_id)");
}

static int follow_automatic(run *r)
{
    for (int steps = 0;; steps++) {
        const cf_transition *t;
        int rc = match(r, NULL, NULL, NULL, &t);
        if (rc)
            return rc;
        if (!t)
            return 0;
        if (steps == MAX_AUTO_STEPS)
            return fail(r, CF_EINVAL,
                        "automatic transitions keep firing (%d in a row, last at %s:%d:%d)",
                        MAX_AUTO_STEPS, r->wf->path, t->pos.line, t->pos.col);
        if ((rc = take(r, t)))
            return rc;
        /* A `when` transition that stays in its state would fire forever. */
        if (t->to_index < 0)
            return 0;
    }
}

static int apply(run *r, const json_t *state)
{
    const json_t *data = json_object_get(r->event, "data");
    const char *activity = NULL, *timer = NULL;
    const cf_transition *t = NULL;
    int rc;

    if (!state) {
        if (strcmp(r->type, r->wf->creates_on) != 0)
            return fail(r, CF_ENOTFOUND, "unknown case: no case %s exists for event %s", r->case_no,
                        r->type);
        r->st = json_pack("{s:s, s:i, s:s, s:s, s:i, s:O, s:{}, s:{}}", "workflow", r->wf->name,
                          "version", r->wf->version, "case", r->case_no, "state", "", "seq", 0,
                          "data", data ? (json_t *)data : json_null(), "activities", "timers");
    } else {
        if (strcmp(r->type, r->wf->creates_on) == 0)
            return fail(r, CF_EDUP, "case %s exists already", r->case_no);
        /* The step's own top of the state, data, timers and clocks: own_acts, own_member and
         * own_clock copy the activities and deeper parts as the step changes them. */
        static const char *const own[] = {"data", "timers", "clocks"};
        r->st = json_copy((json_t *)state);
        for (size_t i = 0; r->st && i < sizeof own / sizeof *own; i++) {
            json_t *part = json_object_get(state, own[i]), *c;
            if (!json_is_object(part))
                continue;
            c = json_copy(part);
            if (json_object_set_new(r->st, own[i], c) != 0) {
                json_decref(r->st);
                r->st = NULL;
            }
        }
    }
    if (!r->st)
        return fail(r, CF_ENOMEM, "out of memory");
    r->acts_own = !state; /* a new case's activities are the step's own */
    /* The event's data becomes the case's data only through the creating event; copy it so
     * that later changes to the case do not reach back into the caller's event. */
    if (!state)
        json_object_set_new(r->st, "data", data ? copy_deep(data) : json_object());
    r->seq = (long)json_integer_value(json_object_get(r->st, "seq")) + 1;
    json_object_set_new(r->st, "seq", json_integer(r->seq));
    json_object_set_new(r->st, "updated_at", time_json(r, r->now));
    r->data = json_object_get(r->st, "data");
    r->acts = json_object_get(r->st, "activities");
    r->timers = json_object_get(r->st, "timers");
    if (r->wf->nclocks > 0) {
        if (!json_object_get(r->st, "clocks"))
            json_object_set_new(r->st, "clocks", json_object());
        r->clocks = json_object_get(r->st, "clocks");
        if (!json_is_object(r->clocks))
            return fail(r, CF_EINVAL, "the stored state of case %s is damaged", r->case_no);
    }
    if (!json_is_object(r->data) || !json_is_object(r->acts) || !json_is_object(r->timers))
        return fail(r, CF_EINVAL, "the stored state of case %s is damaged", r->case_no);

    r->root = json_object();
    if (!r->root || put(r->root, "case", json_incref(r->data)) ||
        put(r->root, "event", data ? json_incref((json_t *)data) : json_null()) ||
        put(r->root, "activities", json_incref(r->acts)) ||
        put(r->root, "timers", json_incref(r->timers)) ||
        put(r->root, "now", time_json(r, r->now)) ||
        put(r->root, "event_type", json_string(r->type)) ||
        put(r->root, "event_time", time_json(r, r->event_time)) ||
        put(r->root, "event_source",
            json_object_get(r->event, "source") ? json_incref(json_object_get(r->event, "source"))
                                                : json_null()))
        return fail(r, CF_ENOMEM, "out of memory");
    {
        /* Who sent the event, for rules on who may do what: event_post and event_account of
         * staff (null for anyone else). */
        char post[128], acct[256];
        int staff = staff_source(json_string_value(json_object_get(r->event, "source")), post,
                                 sizeof post, acct, sizeof acct);
        json_object_set_new(r->root, "event_post", staff ? json_string(post) : json_null());
        json_object_set_new(r->root, "event_account", staff ? json_string(acct) : json_null());
        json_object_set(r->root, "settings",
                        r->wf->settings_json ? r->wf->settings_json : json_null());
        json_object_set(r->root, "clocks", r->clocks ? r->clocks : json_null());
    }

    if (!state) {
        if ((rc = enter(r, r->wf->initial)))
            return rc;
        return follow_automatic(r);
    }
    json_array_append_new(r->path, json_string(state_name(r)));
    if (r->wf->states[cf_workflow_state_index(r->wf, state_name(r))].final)
        return fail(r, CF_ESTATE, "case %s is %s: its life has ended, no %s is accepted",
                    r->case_no, state_name(r), r->type);

    if ((rc = check_decision(r)))
        return rc;
    if (strncmp(r->type, "task.", 5) == 0) {
        if ((rc = book_task(r, data, &activity)))
            return rc;
    } else if (strcmp(r->type, "timer.fired") == 0) {
        const char *due = json_string_value(json_object_get(data, "due"));
        const char *set;
        cf_time want, got;
        timer = json_string_value(json_object_get(data, "timer"));
        set = timer ? json_string_value(json_object_get(r->timers, timer)) : NULL;
        if (!set)
            return fail(r, CF_ESTATE, "timer %s is not set on case %s", timer ? timer : "(none)",
                        r->case_no);
        /* A timer restarted after this firing was made is set for another time: the old
         * firing must not consume the new timer.  Instants are compared, not texts. */
        if (!due || cf_time_parse(due, &got) != 0 || cf_time_parse(set, &want) != 0 || got != want)
            return fail(r, CF_ESTATE,
                        "stale timer.fired: timer %s of case %s is set for %s, this firing is "
                        "for %s",
                        timer, r->case_no, set, due ? due : "(no due time)");
        json_object_del(r->timers, timer);
        /* Expressions read the timer as `timer` (timer.key of a keyed timer). */
        json_object_set_new(r->root, "timer",
                            json_pack("{s:s, s:s?}", "name", timer, "key", cf_keyed_key(timer)));
    }
    if ((rc = match(r, r->type, activity, timer, &t)))
        return rc;
    if (t) {
        if ((rc = take(r, t)))
            return rc;
    } else if (activity && strcmp(r->type, "task.returned") == 0) {
        if ((rc = requeue(r, activity)))
            return rc;
    } else if (!activity && !timer) {
        /* Task results and timers change the case even when no transition reacts to them;
         * any other event that nothing expects is a mistake of its sender. */
        return fail(r, CF_ESTATE, "event %s is not expected in state '%s'", r->type, state_name(r));
    }
    return follow_automatic(r);
}

int cf_machine_apply(const cf_workflow *wf, const json_t *state, const json_t *event, cf_time now,
                     cf_step *out, char *err, size_t errsz)
{
    run r;
    int rc;
    const char *when;
    json_t *actions = NULL;

    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    r.item_no = -1;
    r.wf = wf;
    r.event = event;
    r.now = now;
    r.err = err;
    r.errsz = errsz;
    r.type = json_string_value(json_object_get(event, "type"));
    r.case_no = json_string_value(json_object_get(event, "case"));
    when = json_string_value(json_object_get(event, "time"));
    if (!r.type || !r.case_no || !when || cf_time_parse(when, &r.event_time) != 0)
        return fail(&r, CF_EINVAL, "the event lacks a type, a case or a valid time");
    r.path = json_array();
    r.warn = json_array();
    if (!r.path || !r.warn) {
        rc = fail(&r, CF_ENOMEM, "out of memory");
        goto out;
    }
    rc = apply(&r, state);
    if (rc == 0 && (r.oom || !(actions = cf_step_actions_json(r.out, r.nout))))
        rc = fail(&r, CF_ENOMEM, "out of memory");
    if (rc == 0) {
        json_t *first = json_array_get(r.path, 0);
        out->state = r.st;
        out->acts = r.out;
        out->nacts = r.nout;
        out->actions = actions;
        out->path = r.path;
        out->warnings = r.warn;
        r.st = r.path = r.warn = NULL;
        r.out = NULL;
        r.nout = 0;
        snprintf(out->from, sizeof out->from, "%s", state ? json_string_value(first) : "");
        snprintf(out->to, sizeof out->to, "%s",
                 json_string_value(json_object_get(out->state, "state")));
    }
out:
    json_decref(r.st);
    for (size_t i = 0; i < r.nout; i++)
        cf_step_action_clear(&r.out[i]);
    free(r.out);
    json_decref(r.path);
    json_decref(r.warn);
    json_decref(r.root);
    free(r.fresh);
    return rc;
}

void cf_step_clear(cf_step *step)
{
    json_decref(step->state);
    for (size_t i = 0; i < step->nacts; i++)
        cf_step_action_clear(&step->acts[i]);
    free(step->acts);
    json_decref(step->actions);
    json_decref(step->path);
    json_decref(step->warnings);
    memset(step, 0, sizeof *step);
}
