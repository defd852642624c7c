/*
 * Audit replay: checks a case's stored event log against its hash chain and against the
 * workflow version the case was filed under, and describes each stored event for a timeline.
 * Pure: the caller reads the rows from the database (cli/cmd_replay.c) or builds them itself
 * (tests/unit/test_replay.c); nothing here does I/O or reads the clock.
 *
 * What is verified, and what the result names when it fails:
 *  - the chain: every row's hash is cf_chain_hash of its own stored parts, every row's prev_hash
 *    is the hash of the row before it (cf_chain_genesis for the first), the sequence numbers run
 *    1, 2, 3 ..., the columns kept beside the body (event_id, type, source, event time) say what
 *    the hashed body says, and the last hash is the case's head hash.  The first row where any of
 *    this fails is "broken at seq N";
 *  - the replay: running the rows' bodies in order through cf_machine_apply with now = the row's
 *    applied_at gives, at each row, its stored state_before, state_after and actions.  Actions
 *    are compared as a collection: the engine emits the cancellations of a closing case in the
 *    key order of the case's stored state object, which PostgreSQL's jsonb reorders, so their
 *    order is not part of what the log fixes.  The first row where they part is "differs at seq N";
 *  - the final state: the replayed state equals the case's stored state (cases.body),
 *    whatever the order of object keys.
 */
#ifndef CF_REPLAY_H
#define CF_REPLAY_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "core/caltime.h"
#include "core/workflow.h"

/* One row of the events table.  Every pointer is borrowed for the length of a call. */
typedef struct cf_replay_row {
    long long seq;
    const char *event_id;
    const char *type;
    const char *source;
    cf_time event_time;    /* the event_time column */
    cf_time applied_at;    /* the engine's clock when it applied the event: replay's `now` */
    const char *body_text; /* the envelope as stored, byte for byte: the chain hashes this */
    size_t body_len;
    const json_t *body;       /* body_text parsed */
    const char *state_before; /* "" when the event created the case */
    const char *state_after;
    const json_t *actions; /* the stored actions parsed, or NULL when actions_text is given */
    /* The stored actions' text (events.actions, a json column: the engine's bytes), or NULL.
     * Replayed actions that render to these very bytes as the engine renders them agree without
     * parsing them (most of a replay's time went to parsing); others are compared as a
     * collection, with `actions` or the text parsed. */
    const char *actions_text;
    const char *prev_hash;
    const char *hash;
} cf_replay_row;

/* The case's row of the cases table.  Borrowed like the rows. */
typedef struct cf_replay_case {
    const char *case_no;
    const char *workflow;
    int version;
    const json_t *body; /* the stored state */
    const char *head_hash;
} cf_replay_case;

/* What cf_replay_verify found.  Each text is "ok" or says what is wrong, in one line. */
typedef struct cf_replay {
    size_t replayed;       /* rows replayed: those applied at or before the as-of time */
    long long chain_seq;   /* 0 when the chain is intact, else the first broken seq */
    long long replay_seq;  /* 0 when the replay agrees, else the first seq where it parts */
    long long stopped;     /* 0, or the seq of the event the workflow refused: replay stopped */
    int final;             /* 1 equal, 0 differs, -1 not compared (see final_text) */
    char chain[512];       /* "ok" or "broken at seq N: ..." */
    char replay[1024];     /* "ok" or "differs at seq N: ..." */
    char final_text[1024]; /* "ok", "differs: ..." or "not compared: ..." */
    json_t *state;         /* the replayed state after the last row replayed, or NULL (owned) */
} cf_replay;

/* Replay every row, whatever its applied_at. */
#define CF_REPLAY_ALL INT64_MAX

/*
 * Verifies `rows` (the case's whole log, in seq order) of case `c` against `wf` (the workflow
 * `c` names; the caller found it) and fills `out`, which the caller releases with
 * cf_replay_clear.  The chain is checked over every row; the replay runs over the rows applied
 * at or before `as_of` (CF_REPLAY_ALL: all of them) and stops at the first row the workflow
 * refuses; the final state is compared only when every row was replayed.
 * Returns 0 when everything verifies, CF_ESTATE when something does not (the texts say what),
 * or CF_ENOMEM.
 */
int cf_replay_verify(const cf_workflow *wf, const cf_replay_case *c, const cf_replay_row *rows,
                     size_t n, cf_time as_of, cf_replay *out) CF_MUST_CHECK;

/* Releases what a result holds; safe on a zeroed or cleared result. */
void cf_replay_clear(cf_replay *r);

/*
 * A timeline entry for `row`: {seq, id, type, source, time (the envelope's), applied_at (at
 * `utc_offset_min`), from, to, data, actions}, with parties' personal data in data and actions
 * masked (base/mask.h).  New reference, or NULL when memory runs out.
 */
json_t *cf_replay_entry(const cf_replay_row *row, int utc_offset_min);

/*
 * Parses an --as-of argument: a date "YYYY-MM-DD" means the end of that day at
 * `utc_offset_min` (its last millisecond), anything else must be an ISO 8601 instant
 * (cf_time_parse).  Returns 0 or CF_EPARSE.
 */
int cf_replay_parse_as_of(const char *text, int utc_offset_min, cf_time *out) CF_MUST_CHECK;

/* ---- A case against an anchor (core/anchor.h) ------------------------------------------------ */

/* What cf_replay_anchor_end finds. */
enum {
    CF_REPLAY_ANCHOR_MATCH = 0,   /* the log still gives the anchored hash at the anchored seq */
    CF_REPLAY_ANCHOR_DIFFERS = 1, /* it does not: changed, rewritten or cut short */
    CF_REPLAY_ANCHOR_MISSING = 2, /* the case has no stored event at all */
};

/*
 * One case's log checked against the seq and hash an anchor file recorded for it: the stored
 * event at the anchored seq must still carry the anchored hash, and the chain recomputed from
 * cf_chain_genesis over the stored events up to that seq (each link as cf_replay_verify checks
 * it) must give that hash.  A history rewritten with every hash and the head hash recomputed
 * passes cf_replay_verify's chain check, but not this one.  The rows are taken one at a time,
 * so that a caller streaming a whole database holds only the row at hand.
 */
typedef struct cf_replay_anchor {
    const char *case_no; /* borrowed until cf_replay_anchor_end */
    long long seq;       /* the anchored seq */
    char hash[65];       /* the anchored hash */
    long long taken;     /* the rows taken, seq 1 .. taken */
    char chain[65];      /* the chain recomputed through row `taken` */
    long long broken;    /* 0, or the first seq where the stored log breaks */
    int stopped;         /* 1 after a row out of sequence: no later row is taken */
    char why[400];       /* why the log breaks there */
} cf_replay_anchor;

/* Starts checking `case_no` against the anchored `seq` and `hash` (64 hex digits). */
void cf_replay_anchor_begin(cf_replay_anchor *a, const char *case_no, long long seq,
                            const char *hash);

/*
 * Takes the case's next stored row; rows come in seq order, and those after the anchored seq are
 * ignored.  Only the chain's parts of the row are read (not actions or state_before).
 * Returns 0 or CF_ENOMEM.
 */
int cf_replay_anchor_take(cf_replay_anchor *a, const cf_replay_row *row) CF_MUST_CHECK;

/*
 * After the case's last row: returns CF_REPLAY_ANCHOR_MATCH, _DIFFERS or _MISSING, with one
 * line saying so in `text` and in *first_seq the first seq where the log differs, or 0 when it
 * cannot be told (a rewrite whose hashes were recomputed changes the anchored hash, not where).
 */
int cf_replay_anchor_end(const cf_replay_anchor *a, long long *first_seq, char *text, size_t n);

/*
 * Checks row `i` of `rows` on its own, for a per-event view of the chain: it has seq i + 1,
 * points back to the stored hash of the row before it (cf_chain_genesis for the first), agrees
 * with its body and gives its stored hash.  Unlike the chain verdict, which stops at the first
 * break, this tells which rows were touched: a changed body breaks its own row only, a row
 * removed or inserted breaks the link after it.  Returns 0 ("ok" in `why`), 1 with the reason
 * in `why`, or CF_ENOMEM.
 */
int cf_replay_link(const cf_replay_case *c, const cf_replay_row *rows, size_t i, char *why,
                   size_t n) CF_MUST_CHECK;

#endif
