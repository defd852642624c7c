/*
 * The workflow model: a YAML definition of a case's life, loaded once into an
 * immutable structure that the transition function (machine.h) executes and
 * `caseflow check` and `caseflow graph` inspect.  docs/workflow-language.md
 * describes the language; this header describes the loaded form.
 *
 * Everything a workflow owns (names, expressions, time expressions, the
 * calendar and the event schemas it names) is freed by cf_workflow_free.
 */
#ifndef CF_WORKFLOW_H
#define CF_WORKFLOW_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/caltime.h"
#include "core/expr.h"
#include "core/schema.h"
#include "core/when.h"

/* Where something stands in its YAML file, 1-based. */
typedef struct cf_pos {
    int line, col;
} cf_pos;

/* Problems found while loading, each one line "file:line:column: message"; a loader reports
 * the problems of one file in the order of their positions. */
typedef struct cf_diags {
    char **lines;
    cf_pos *where; /* the position of each line */
    size_t count, cap;
    size_t lost; /* problems whose line was lost for want of memory */
} cf_diags;

void cf_diags_init(cf_diags *d);
void cf_diags_free(cf_diags *d);
/* Appends "file:line:column: message"; out of memory loses the line but counts it in `lost`. */
void cf_diags_add(cf_diags *d, const char *file, cf_pos pos, const char *fmt, ...) CF_PRINTF(4, 5);

enum cf_action_kind {
    CF_ACT_TASK,         /* create a task for a worker kind or a staff post */
    CF_ACT_CANCEL_TASK,  /* cancel an open task by its activity name (a list in YAML is one
                            action per name) */
    CF_ACT_TIMER,        /* start (or restart) a named timer */
    CF_ACT_CANCEL_TIMER, /* cancel a named timer (a list in YAML: one action per name) */
    CF_ACT_SET,          /* set case fields from expressions */
    CF_ACT_SET_TIME,     /* set case fields from time expressions */
    CF_ACT_ASSIGN,       /* assign the case: by the team rule, or to a named post */
    CF_ACT_NOTIFY,       /* a notification to a post */
    CF_ACT_MERGE,        /* merge the members of an object (e.g. corrected fields) into the case */
    CF_ACT_START_CLOCK,  /* start (or start again) a statutory clock */
    CF_ACT_PAUSE_CLOCK,  /* pause a clock, on a ground (中止执行, 公告送达 ...) */
    CF_ACT_RESUME_CLOCK, /* end a pause (of one ground, or of all) */
    CF_ACT_EXTEND_CLOCK, /* lengthen a clock's limit (an approved extension) */
    CF_ACT_STOP_CLOCK,   /* stop a clock for good (the case is closed) */
    CF_ACT_RECORD,       /* write an entry of a keyed record (case.measures.<key>) */
};

/*
 * A field set by an action: `name: expression`, or a time expression for set_time.  A quoted
 * YAML text ("车管所") and a YAML list or mapping are literal data, not expressions.
 */
typedef struct cf_field {
    const char *name;
    const char *text; /* the value as written, for messages */
    cf_expr *expr;
    cf_when *when;
    json_t *literal;
    cf_pos pos;
} cf_field;

typedef struct cf_action {
    enum cf_action_kind kind;
    cf_pos pos;          /* the action's mapping */
    cf_pos name_pos;     /* the value of its verb (the task kind, the timer's name ...) */
    cf_pos post_pos;     /* the value of `post` (or of assign/notify) */
    const char *name;    /* task kind, timer name, activity to cancel, or assign target */
    const char *as;      /* task: the activity name (defaults to the kind); it may hold ${...}
                            parts filled in from the case, e.g. incident_${task.name} */
    int as_template;     /* `as` has ${...} parts: the activity's name is known only at run time */
    const char *post;    /* task/notify/assign: a literal post id, or NULL */
    cf_expr *post_expr;  /* task/notify/assign: the post computed from the case, or NULL */
    cf_when *at;         /* timer: when it fires; task: its due date (NULL: none) */
    const char *at_text; /* the time expression as written, for graphs and messages */
    cf_field *fields;    /* set, set_time: the fields; task: its params */
    size_t nfields;
    const char *message; /* notify: the text, with ${expr} parts filled in */
    const char *title;   /* task: the title staff see; timer: what it reminds of */
    cf_expr *value;      /* merge: the object whose members are merged */
    cf_expr *for_each;   /* task: one task per element of this list, read as `item`; or NULL */
    /* Clocks: `name` is the clock, `at` (start_clock's `from`) the instant it counts from (NULL:
     * now); months and days the length (start) or the extension (extend); ground why it pauses,
     * resumes or is extended.  Each NULL when not given. */
    cf_field *months, *days, *ground;
    /* Keyed work (core/keyed.h): `key` names the instance of a task, timer or record at run
     * time (the activity or timer is NAME#KEY); `each` repeats a task, cancel_task or
     * cancel_timer for every entry of a record, keyed by the entry's name, where `where`
     * holds.  Each NULL when not given. */
    cf_expr *key, *each, *where;
    cf_pos key_pos;
    /* record: the case field holding the entries is `name`; `fields` are set from expressions,
     * `times` from time expressions (set and set_time under record). */
    cf_field *times;
    size_t ntimes;
} cf_action;

/* A condition a transition requires (`requires:`), and what is missing when it does not hold. */
typedef struct cf_requirement {
    cf_expr *that;
    const char *missing;
    cf_pos pos;
} cf_requirement;

typedef struct cf_transition {
    cf_pos pos;                                 /* the transition's mapping */
    cf_pos on_pos, to_pos, task_pos, timer_pos; /* the values of event, to, task, timer */
    const char *on;                             /* event type; NULL for an automatic transition */
    const char *task;       /* only for task.* events of this activity, or NULL */
    const char *timer;      /* only for timer.fired of this timer, or NULL */
    cf_expr *guard;         /* `if:`; NULL is always true */
    const char *guard_text; /* as written, for graphs and messages */
    const char *to;         /* target state; NULL stays in the state */
    int to_index;           /* index of `to` in states, or -1 */
    cf_action *actions;
    size_t nactions;
    const char **except; /* any_state transitions: states where it does not apply */
    size_t nexcept;
    const char *refuse; /* the event is refused with this reason (${...} filled in), or NULL */
    cf_pos refuse_pos;
    cf_requirement *requires; /* all must hold for `to` and `do`; else `otherwise` runs */
    size_t nrequires;
    cf_action *otherwise; /* `else`: run instead when a requirement fails (`missing` lists them) */
    size_t notherwise;
    /* `of`: the keyed record whose entry of the event's key (task.key, timer.key) the
     * transition reads as `record`, or NULL. */
    const char *of;
    cf_pos of_pos;
} cf_transition;

typedef struct cf_state {
    const char *name;
    const char *title;
    cf_pos pos;
    int final;
    cf_action *enter, *exit;
    size_t nenter, nexit;
    cf_transition *on;
    size_t non;
} cf_state;

typedef struct cf_post {
    const char *id;
    const char *title;
    cf_pos pos;
} cf_post;

/* What a person fills in when completing a staff task: one field of its result, as the
 * workflow declares it under the task's `result:` (docs/workflow-language.md).  The web
 * workplace builds the completion form from these, and the queue refuses a result that does
 * not fit them (core/form.h). */
typedef enum cf_field_type {
    CF_FIELD_YES_NO, /* true or false */
    CF_FIELD_TEXT,   /* text of at most `max` characters */
    CF_FIELD_CHOICE, /* one of `choices` */
    CF_FIELD_AMOUNT, /* a sum of money in yuan: a number >= 0 with at most two decimals */
    CF_FIELD_POST,   /* a post of the workflow, one of `choices` when given */
    CF_FIELD_DATE,   /* a calendar date, YYYY-MM-DD */
    CF_FIELD_NUMBER  /* a whole number from 0 (months, a count) */
} cf_field_type;

typedef struct cf_result_field {
    const char *name;
    const char *title; /* the label staff see */
    const char *help;  /* a line under it, or NULL */
    cf_field_type type;
    int required;
    /* Required also when the yes/no field `if_field` of the same result is `if_value`
     * ("no, because ..."); NULL when not. */
    const char *if_field;
    int if_value;
    const char **choices;       /* choice, post: the values allowed, in order */
    const char **choice_titles; /* their labels (a post's title when not given), or NULL */
    size_t nchoices;
    int max; /* text: characters at most */
    cf_pos pos;
} cf_result_field;

/* A kind of task: done by a worker process (topic caseflow.tasks.<name>) or by staff of a post. */
typedef struct cf_task_kind {
    const char *name;
    const char *title;
    const char *post; /* staff tasks: the post whose queue gets it; workers: the post that
                         gets the incident when the worker gives up */
    cf_pos post_pos;
    int worker;         /* 1 for a worker kind, 0 for a staff task */
    cf_schedule *batch; /* batched worker kinds: when batches are dispatched, else NULL */
    const char *batch_text;
    const char *group_by; /* batched kinds: the task param that groups a batch */
    cf_pos pos;
    /* Staff tasks: the fields of the result, when the workflow declares them (`result:`). */
    cf_result_field *result;
    size_t nresult;
    int result_declared; /* 1 when `result:` is given (even empty: the result is {}) */
    /* Staff tasks: where the task goes when a clerk returns it (`returns:`, task.returned with
     * no transition of its own): made again on the post it was on (returned_requeue), on a
     * named post, or on the post an expression gives.  All unset: the workflow says nothing. */
    int returned_requeue;
    const char *returned_post;
    cf_expr *returned_expr;
    cf_pos returned_pos;
} cf_task_kind;

/* A post named by a rule: a declared post id, or an expression giving one (case.handler_post). */
typedef struct cf_post_ref {
    const char *post;
    cf_expr *expr;
    cf_pos pos;
} cf_post_ref;

/* A deadline on a clock: a timer (`deadlines`) or a case field (`dates`) computed from the
 * clock's last day, and computed again whenever that day moves. */
typedef struct cf_clock_deadline {
    const char *name;
    cf_when *at;
    const char *text;
    const char *title; /* a timer's: what it reminds of, or NULL */
    cf_pos pos;
} cf_clock_deadline;

/*
 * A statutory clock (法定期限): it counts from an instant for a length in months and days, a
 * pause moves its last day later by the calendar days the pause lasted (the day it began
 * counted, the day it ended not), an extension lengthens it, and a last day off work moves to
 * the next working day.  The case's state keeps each clock (machine.h).
 */
typedef struct cf_clock {
    const char *name;
    const char *title;
    const char *field; /* the case field that always holds the current last day, or NULL */
    int minute;        /* the last day's time of day, 23:59 unless `at` says otherwise */
    int exact;         /* 1: a last day off work stays where it is */
    cf_clock_deadline *deadlines, *dates;
    size_t ndeadlines, ndates;
    cf_pos pos;
} cf_clock;

/* A value of the court's own choosing (`settings:`), read as settings.NAME. */
typedef struct cf_setting {
    const char *name;
    json_t *value;
    cf_pos pos;
} cf_setting;

/* A decision staff make with `case.decided` (`decisions:`): who may make it, and where. */
typedef struct cf_decision {
    const char *name;
    const char *title;
    cf_post_ref *by; /* the posts whose staff may make it */
    size_t nby;
    const char **in, **except; /* the states where it may (in) or may not (except) be made */
    cf_pos *in_pos, *except_pos;
    size_t nin, nexcept;
    /* What the decision carries besides its name (`fields:`, the syntax of a staff task's
     * `result:`): the members of the case.decided event's data, for the workplace's form and
     * the check before the event is sent.  None: the decision carries nothing more. */
    cf_result_field *fields;
    size_t nfields;
    cf_pos pos;
} cf_decision;

typedef struct cf_event_decl {
    const char *type;
    const cf_schema *schema; /* from the workflow's schema folder; NULL when missing */
    cf_pos pos;
} cf_event_decl;

typedef struct cf_workflow {
    const char *path;
    const char *name;
    int version;
    const char *title;
    const char *creates_on; /* the event type that creates a case (default case.filed) */
    cf_state *states;
    size_t nstates;
    int initial;
    cf_transition *any; /* transitions that apply in every state but their `except` list */
    size_t nany;
    cf_post *posts;
    size_t nposts;
    cf_task_kind *kinds;
    size_t nkinds;
    cf_event_decl *events;
    size_t nevents;
    const char **teams; /* assignment: the teams ordinary cases are dealt to, in order */
    cf_pos *team_pos;
    size_t nteams;
    cf_setting *settings;
    size_t nsettings;
    json_t *settings_json; /* the settings as one object, for expressions */
    cf_clock *clocks;
    size_t nclocks;
    cf_decision *decisions; /* none: case.decided is not checked for who makes it */
    size_t ndecisions;
    cf_calendar *calendar;
    cf_schema_set *schemas;
    struct cf_arena *arena;                /* owns the strings and arrays above */
    const struct cf_workflow_index *index; /* the lookups by name below, in O(log n) */
} cf_workflow;

/* any_state transitions a workflow may have at most: every event of every case tries them. */
#define CF_WORKFLOW_MAX_ANY 1000

/*
 * Loads and checks the workflow in the YAML file `path`, with the calendar and
 * the schema folder it names (relative to the file).  Every problem found is
 * added to `diags`; the result is NULL when there was any problem, else a
 * workflow the caller frees with cf_workflow_free.
 */
cf_workflow *cf_workflow_load(const char *path, cf_diags *diags);

/* The same from YAML text already in memory; `path` names it in messages and anchors the
 * relative paths of its calendar and schemas. */
cf_workflow *cf_workflow_parse(const char *path, const char *text, size_t len, cf_diags *diags);

void cf_workflow_free(cf_workflow *wf);

/* Lookups by name (of the first declaration when a name is declared twice); each returns NULL
 * or -1 when there is none. */
int cf_workflow_state_index(const cf_workflow *wf, const char *name);
const cf_post *cf_workflow_post(const cf_workflow *wf, const char *id);
const cf_task_kind *cf_workflow_kind(const cf_workflow *wf, const char *name);
const cf_event_decl *cf_workflow_event(const cf_workflow *wf, const char *type);
const cf_clock *cf_workflow_clock(const cf_workflow *wf, const char *name);
const cf_setting *cf_workflow_setting(const cf_workflow *wf, const char *name);
const cf_decision *cf_workflow_decision(const cf_workflow *wf, const char *name);
/* The title of timer `name` (what it reminds of): the `title` of a clock's deadline or of an
 * action that starts it, or NULL when none is given. */
const char *cf_workflow_timer_title(const cf_workflow *wf, const char *name);

#endif
