/*
 * The workflow loader's own parts, shared by its files and by no one else: the loader's state,
 * the YAML helpers (workflow_yaml.c), the parsers of the sections (workflow_parse.c) and the
 * checks over the whole workflow (workflow_check.c); workflow.c holds the top level.  Every
 * function here reports its problems through ERR and goes on, so that one run shows them all.
 */
#ifndef CF_WORKFLOW_LOADER_H
#define CF_WORKFLOW_LOADER_H

#include <jansson.h>
#include <stddef.h>
#include <yaml.h>

#include "base/arena.h"
#include "core/workflow.h"

/* An expression and the scalar it was parsed from, for placing problems found later. */
struct expr_at {
    const cf_expr *e;
    const yaml_node_t *n;
};

/* A time expression and the scalar it was parsed from. */
struct when_at {
    const cf_when *w;
    const yaml_node_t *n;
};

typedef struct loader {
    cf_workflow *wf;
    cf_arena *ar;
    cf_diags *d;
    const char *file;
    const char *src; /* the YAML text, to place problems inside multi-line scalars */
    size_t srclen;
    size_t *char_at; /* the byte offset of every CHAR_STEP-th character of src */
    size_t nchar_at;
    size_t bom; /* 1 when src starts with a byte order mark, which libyaml does not count */
    yaml_document_t doc;
    size_t errors_at_start;
    cf_pos root;           /* where the top-level mapping starts: missing keys are reported there */
    cf_pos created_by;     /* the value of created_by, or root */
    struct expr_at *exprs; /* sorted by expression once every expression is parsed */
    size_t nexprs, capexprs;
    struct when_at *whens; /* every time expression and its scalar, in the order parsed */
    size_t nwhens, capwhens;
    size_t skipped; /* problems past MAX_PROBLEMS, not reported one by one */
} loader;

/* Characters between two entries of char_at: finding a mark's byte offset walks at most this
 * many characters, however long its line. */
#define CHAR_STEP 64

/* Problems reported per file at most; the rest are counted in one last line.  A broken file
 * of a few megabytes can have a problem per line, and placing each costs time. */
#define MAX_PROBLEMS 1000

/* Where problems of the file as a whole are reported. */
#define TOP ((cf_pos){1, 1})

/* Past MAX_PROBLEMS a problem is only counted: its position, which may cost a walk through
 * its scalar, is not even computed. */
#define ERR(L, pos, ...)                                                        \
    do {                                                                        \
        if ((L)->d->count + (L)->d->lost - (L)->errors_at_start < MAX_PROBLEMS) \
            cf_diags_add((L)->d, (L)->file, (pos), __VA_ARGS__);                \
        else                                                                    \
            (L)->skipped++;                                                     \
    } while (0)

/* A mapping's pairs and a sequence's items, for iteration. */
#define PAIRS(n)     (n)->data.mapping.pairs.start
#define PAIRS_END(n) (n)->data.mapping.pairs.top
#define ITEMS(n)     (n)->data.sequence.items.start
#define ITEMS_END(n) (n)->data.sequence.items.top

/* The workflow keeps every parsed expression in a list so that cf_workflow_free can free them. */
struct owned {
    struct owned *next;
    cf_expr *expr;
    cf_when *when;
    cf_schedule *schedule;
    json_t *json;
};

/* A name and the index of what it names, in a list sorted by name, then by index. */
struct named {
    const char *name;
    size_t i;
};

struct cf_workflow_index {
    struct named *states, *posts, *kinds, *events;
    size_t nstates, nposts, nkinds, nevents;
};

/* Reports every declaration of a name but the first, from a sorted list: `what` names the kind
 * of thing ("state"), `pos_of_i` where declaration i stands. */
#define REPORT_TWICE(L, list, n, what, posexpr)                                      \
    do {                                                                             \
        for (size_t k_ = 1; (list) && k_ < (n); k_++) {                              \
            if (strcmp((list)[k_].name, (list)[k_ - 1].name) == 0) {                 \
                size_t i = (list)[k_].i;                                             \
                ERR(L, posexpr, "%s '%s' is declared twice", what, (list)[k_].name); \
            }                                                                        \
        }                                                                            \
    } while (0)

/* ---- workflow_yaml.c: the YAML helpers and the expressions the workflow owns ---- */

yaml_node_t *wf_node(loader *L, int id);

cf_pos wf_pos_of(const yaml_node_t *n);

/* Indexes the source's characters (every CHAR_STEP-th), so that mark_offset does not walk the
 * file from its start for each problem.  Returns 0 when memory runs out. */
int wf_chars_index(loader *L);

void wf_loader_free(loader *L);

/*
 * The position of character `col` (1-based) of a scalar's value, for problems inside
 * expressions.  Walks the source from where the value starts (after a quote, or on the line
 * after a block indicator `>-` or `|`): an escape (\" or '') is one character of the value, and
 * a line break with the indentation after it is one character (a space when folded, a newline
 * when literal), or one per blank line that follows it.
 */
cf_pos wf_pos_in(const loader *L, const yaml_node_t *n, int col);

int wf_is_map(loader *L, yaml_node_t *n, const char *what);

int wf_is_seq(loader *L, yaml_node_t *n, const char *what);

/* Returns the scalar's text owned by the arena, or NULL (reported) when it is no scalar. */
const char *wf_text(loader *L, yaml_node_t *n, const char *what);

const char *wf_raw(yaml_node_t *n);

int wf_boolean(loader *L, yaml_node_t *n, const char *what);

/* A mapping's pairs, for iteration. */
size_t wf_map_len(yaml_node_t *n);

size_t wf_seq_len(yaml_node_t *n);

/* Returns the value of `key` in mapping `n`, or NULL. */
yaml_node_t *wf_get(loader *L, yaml_node_t *n, const char *key);

/*
 * Reports keys of mapping `n` that are not in the NULL-terminated `allowed`
 * list (a typo must not be silently ignored), and keys given twice.  Linear in the size of the
 * mapping (and of `allowed`, a few words), however many keys it has.
 */
void wf_check_keys(loader *L, yaml_node_t *n, const char *const *allowed, const char *what);

void *wf_alloc_array(loader *L, size_t n, size_t size);

/* Parses an expression from a scalar; reports the problem at its column. */
cf_expr *wf_expression(loader *L, yaml_node_t *n, const char *what);

struct owned **wf_owned_list(cf_workflow *wf);

void wf_own(loader *L, cf_expr *e, cf_when *w, cf_schedule *s);

void wf_own_json(loader *L, json_t *j);

int wf_quoted(const yaml_node_t *n);

/* Literal data from YAML: quoted texts stay texts, plain ones that read as numbers, true, false
 * or null become those. */
json_t *wf_literal(loader *L, yaml_node_t *n, int depth);

cf_expr *wf_owned_expr(loader *L, yaml_node_t *n, const char *what);

int wf_expr_at_cmp(const void *a, const void *b);

/* The scalar an expression was parsed from, or NULL.  The checks run after every expression is
 * parsed and sorted (check_workflow). */
const yaml_node_t *wf_expr_node(loader *L, const cf_expr *e);

/*
 * The column (1-based, in characters) where `word` first stands in an expression's text as a
 * name of its own, outside quotes and not as a later segment of a path; 1 when it does not.
 */
int wf_word_column(const char *text, const char *word);

cf_when *wf_owned_when(loader *L, yaml_node_t *n, const char *what);

/* Where `word` stands in the time expression `w`, or `pos` when that cannot be told.  Time
 * expressions are far fewer than expressions: a linear search is enough. */
cf_pos wf_when_word_pos(loader *L, const cf_when *w, const char *word, cf_pos pos);

/* ---- workflow_parse.c: the sections of a workflow ---- */

cf_transition *wf_parse_transitions(loader *L, yaml_node_t *n, size_t *count, int anywhere);

void wf_parse_state(loader *L, yaml_node_t *k, yaml_node_t *n, cf_state *s);

void wf_parse_posts(loader *L, yaml_node_t *n);

void wf_parse_kinds(loader *L, yaml_node_t *n, int worker, size_t *at);

int wf_is_builtin_event(const char *type);

void wf_parse_events(loader *L, yaml_node_t *n);

void wf_parse_returns(loader *L, yaml_node_t *n);
void wf_parse_assignment(loader *L, yaml_node_t *n);

/* `settings:` name -> a value of the court's own choosing (a number, true/false, a text, a list).
 */
void wf_parse_settings(loader *L, yaml_node_t *n);

void wf_parse_clocks(loader *L, yaml_node_t *n);

void wf_parse_decisions(loader *L, yaml_node_t *n);

/* ---- workflow_check.c: checks over the whole workflow ---- */

void wf_check_workflow(loader *L);

#endif
