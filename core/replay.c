/*
 * Audit replay (replay.h): the hash chain recomputed from stored rows, the events run again
 * through the transition function, and the first place where either parts from what is stored.
 */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mask.h"
#include "core/maskjson.h"
#include "core/caseno.h"
#include "core/chain.h"
#include "core/machine.h"

/* How much of a value a message quotes. */
enum { QUOTE_MAX = 240 };

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* Cuts an incomplete UTF-8 sequence off the end of `s`, as a truncating snprintf leaves one:
 * the texts go into JSON, which must be valid UTF-8. */
static void utf8_trim(char *s)
{
    size_t len = strlen(s), start = len, need;
    unsigned char lead;

    while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80 && len - start < 3)
        start--;
    if (start == 0)
        return;
    lead = (unsigned char)s[start - 1];
    if (lead < 0xc0)
        return;
    need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (len - (start - 1) < need)
        s[start - 1] = '\0';
}

/* Writes a compact, masked, shortened rendering of `v` (which sits under `key`, or NULL). */
static void quote(const json_t *v, const char *key, char *buf, size_t n)
{
    json_t *masked = NULL;
    char *text;

    if (!v) {
        snprintf(buf, n, "(nothing)");
        return;
    }
    if (key && cf_mask_is_personal_key(key)) {
        /* A bare value is masked by the key it sits under. */
        json_t *wrap = json_pack("{s:O}", key, (json_t *)v);
        json_t *m = wrap ? cf_mask_json(wrap) : NULL;
        masked = m ? json_incref(json_object_get(m, key)) : NULL;
        json_decref(m);
        json_decref(wrap);
    } else {
        masked = cf_mask_json(v);
    }
    text = masked ? json_dumps(masked, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!text)
        snprintf(buf, n, "(out of memory)");
    else if (strlen(text) > QUOTE_MAX) {
        text[QUOTE_MAX] = '\0';
        utf8_trim(text);
        snprintf(buf, n, "%s...", text);
    } else
        snprintf(buf, n, "%s", text);
    free(text);
    json_decref(masked);
}

/*
 * Finds the first place where `a` and `b` (which sit under the object key `here`, or NULL)
 * differ, writing its JSON pointer into `path` (which holds the pointer so far, `len` bytes).
 * Returns 1 and the two values there (either may be NULL: missing) with the key they sit under,
 * or 0 when they are equal.
 */
static int first_diff(const json_t *a, const json_t *b, const char *here, char *path, size_t len,
                      size_t n, const json_t **da, const json_t **db, const char **key)
{
    if (json_equal(a, b))
        return 0;
    if (len >= n)
        len = n - 1;
    path[len] = '\0';
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)a, k, v) {
            const json_t *w = json_object_get(b, k);
            size_t l = len + (size_t)snprintf(path + len, n - len, "/%s", k);
            if (!w) {
                *da = v, *db = NULL, *key = k;
                return 1;
            }
            if (first_diff(v, w, k, path, l, n, da, db, key))
                return 1;
            path[len] = '\0';
        }
        json_object_foreach ((json_t *)b, k, v) {
            if (!json_object_get(a, k)) {
                snprintf(path + len, n - len, "/%s", k);
                *da = NULL, *db = v, *key = k;
                return 1;
            }
        }
    } else if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            size_t l = len + (size_t)snprintf(path + len, n - len, "/%zu", i);
            if (first_diff(json_array_get(a, i), json_array_get(b, i), here, path, l, n, da, db,
                           key))
                return 1;
            path[len] = '\0';
        }
    }
    *da = a, *db = b, *key = here;
    return 1;
}

/* Describes how the stored value `stored` and the replayed `replayed` differ: "/data/x: stored
 * 1, replayed 2". */
static void describe_diff(const json_t *stored, const json_t *replayed, char *buf, size_t n)
{
    char path[512] = "", qa[QUOTE_MAX + 16], qb[QUOTE_MAX + 16];
    const json_t *a = NULL, *b = NULL;
    const char *key = NULL;

    if (!first_diff(stored, replayed, NULL, path, 0, sizeof path, &a, &b, &key)) {
        snprintf(buf, n, "no difference");
        return;
    }
    quote(a, key, qa, sizeof qa);
    quote(b, key, qb, sizeof qb);
    snprintf(buf, n, "%s: stored %s, replayed %s", path[0] ? path : "(whole)", a ? qa : "nothing",
             b ? qb : "nothing");
}

/*
 * Returns 1 when the two action lists hold the same actions, in any order (see replay.h for
 * why the order is not compared).
 */
static int same_actions(const json_t *stored, const json_t *replayed)
{
    size_t n = json_array_size(stored), used_n = 0;
    unsigned char *used;
    int same = 1;

    if (json_equal(stored, replayed))
        return 1;
    if (!json_is_array(stored) || !json_is_array(replayed) || n != json_array_size(replayed))
        return 0;
    used = calloc(n + 1, 1);
    if (!used)
        return 0;
    for (size_t i = 0; i < n && same; i++) {
        const json_t *r = json_array_get(replayed, i);
        size_t j;
        for (j = 0; j < n; j++)
            if (!used[j] && json_equal(json_array_get(stored, j), r))
                break;
        if (j == n)
            same = 0;
        else
            used[j] = 1, used_n++;
    }
    free(used);
    return same && used_n == n;
}

/* Whether the text at *s (before `end`) is the string `str` (`len` bytes) as jansson renders it:
 * quoted, with \\, \" and the control characters escaped; moves *s past it. */
static int string_is(const char *str, size_t len, const char **s, const char *end)
{
    const char *t = *s;

    if (t >= end || *t++ != '"')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        char esc[8];
        size_t n = 0;
        switch (c) {
        case '\\': n = (size_t)snprintf(esc, sizeof esc, "\\\\"); break;
        case '"': n = (size_t)snprintf(esc, sizeof esc, "\\\""); break;
        case '\b': n = (size_t)snprintf(esc, sizeof esc, "\\b"); break;
        case '\f': n = (size_t)snprintf(esc, sizeof esc, "\\f"); break;
        case '\n': n = (size_t)snprintf(esc, sizeof esc, "\\n"); break;
        case '\r': n = (size_t)snprintf(esc, sizeof esc, "\\r"); break;
        case '\t': n = (size_t)snprintf(esc, sizeof esc, "\\t"); break;
        default:
            if (c < 0x20)
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
        }
        if (n == 0) {
            if (t >= end || *t++ != (char)c)
                return 0;
        } else if ((size_t)(end - t) < n || memcmp(t, esc, n) != 0) {
            return 0;
        } else {
            t += n;
        }
    }
    if (t >= end || *t++ != '"')
        return 0;
    *s = t;
    return 1;
}

/* Whether the text at *s (before `end`) is `lit`; moves *s past it. */
static int literal_is(const char *lit, const char **s, const char *end)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *s) < n || memcmp(*s, lit, n) != 0)
        return 0;
    *s += n;
    return 1;
}

/*
 * Whether the text at *s (before `end`) is `v` as json_dumps(v, JSON_COMPACT) renders it (the
 * engine stores actions so), and moves *s past it: a walk of `v` along the text, without the
 * dump's buffer, callbacks and loop check.  A value it does not render (a real number) answers
 * 0: the caller then parses the text and compares values, so 0 is never wrong, only slower.
 */
static int text_is(const json_t *v, const char **s, const char *end)
{
    const char *key;
    size_t len, i;
    json_t *m;
    int first = 1;
    char num[32];

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (!literal_is("{", s, end))
            return 0;
        json_object_keylen_foreach((json_t *)v, key, len, m)
        {
            if ((!first && !literal_is(",", s, end)) || !string_is(key, len, s, end) ||
                !literal_is(":", s, end) || !text_is(m, s, end))
                return 0;
            first = 0;
        }
        return literal_is("}", s, end);
    case JSON_ARRAY:
        if (!literal_is("[", s, end))
            return 0;
        json_array_foreach (v, i, m) {
            if ((i > 0 && !literal_is(",", s, end)) || !text_is(m, s, end))
                return 0;
        }
        return literal_is("]", s, end);
    case JSON_STRING: return string_is(json_string_value(v), json_string_length(v), s, end);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return literal_is(num, s, end);
    case JSON_TRUE: return literal_is("true", s, end);
    case JSON_FALSE: return literal_is("false", s, end);
    case JSON_NULL: return literal_is("null", s, end);
    default: return 0;
    }
}

/* Returns 1 when `v` rendered as the engine stores actions (json_dumps, JSON_COMPACT) is `text`
 * byte for byte: then parsing `text` gives `v` again. */
static int renders_as(const json_t *v, const char *text)
{
    const char *s = text, *end = text + strlen(text);
    return text_is(v, &s, end) && s == end;
}

/* Returns the first action of `in` that `other` lacks, or NULL. */
static const json_t *missing_from(const json_t *in, const json_t *other)
{
    size_t i, j;
    const json_t *a, *b;

    json_array_foreach (in, i, a) {
        int found = 0;
        json_array_foreach (other, j, b) {
            found |= json_equal(a, b);
        }
        if (!found)
            return a;
    }
    return NULL;
}

/* Describes how two action lists differ: their lengths, and the first action one of them
 * lacks. */
static void describe_actions(const json_t *stored, const json_t *replayed, char *buf, size_t n)
{
    char count[96] = "", q[QUOTE_MAX + 16];
    const json_t *extra = missing_from(replayed, stored), *lost = missing_from(stored, replayed);

    if (json_array_size(stored) != json_array_size(replayed))
        snprintf(count, sizeof count, "stored %zu actions, replay gives %zu; ",
                 json_array_size(stored), json_array_size(replayed));
    if (extra && !count[0]) {
        /* As many actions on both sides: the stored one in the same place is its counterpart. */
        size_t i = 0;
        int k;
        while (json_array_get(replayed, i) != extra)
            i++;
        k = snprintf(
            buf, n, "action %zu (%s %s): ", i + 1,
            str_or(json_string_value(json_object_get(extra, "kind")), "?"),
            str_or(json_string_value(json_object_get(extra, "activity")),
                   str_or(json_string_value(json_object_get(extra, "name")),
                          str_or(json_string_value(json_object_get(extra, "field")), ""))));
        if (k > 0 && (size_t)k < n)
            describe_diff(json_array_get(stored, i), extra, buf + k, n - (size_t)k);
    } else if (extra) {
        quote(extra, NULL, q, sizeof q);
        snprintf(buf, n, "%sreplay gives %s, which is not stored", count, q);
    } else if (lost) {
        quote(lost, NULL, q, sizeof q);
        snprintf(buf, n, "%sstored %s, which replay does not give", count, q);
    } else {
        snprintf(buf, n, "%sthe same actions, repeated a different number of times", count);
    }
}

/* Returns 1 when the row's columns beside the body say what its body says; else describes the
 * first one that does not. */
static int columns_match(const cf_replay_row *row, const char *case_no, char *why, size_t n)
{
    const char *id = json_string_value(json_object_get(row->body, "id"));
    const char *type = json_string_value(json_object_get(row->body, "type"));
    const char *source = json_string_value(json_object_get(row->body, "source"));
    const char *bcase = json_string_value(json_object_get(row->body, "case"));
    const char *time = json_string_value(json_object_get(row->body, "time"));
    char norm[512];
    cf_time t;

    /* The body keeps the number as it was written; the row has its canonical form. */
    if (bcase && cf_caseno_normalize(bcase, norm, sizeof norm) == 0)
        bcase = norm;
    if (!json_is_object(row->body))
        return snprintf(why, n, "the stored body is not an event envelope"), 0;
    if (!id || strcmp(id, str_or(row->event_id, "")) != 0)
        return snprintf(why, n, "the row's event id '%s' is not its body's '%s'",
                        str_or(row->event_id, ""), str_or(id, "")),
               0;
    if (!type || strcmp(type, str_or(row->type, "")) != 0)
        return snprintf(why, n, "the row's type '%s' is not its body's '%s'", str_or(row->type, ""),
                        str_or(type, "")),
               0;
    if (!source || strcmp(source, str_or(row->source, "")) != 0)
        return snprintf(why, n, "the row's source '%s' is not its body's '%s'",
                        str_or(row->source, ""), str_or(source, "")),
               0;
    if (!bcase || strcmp(bcase, case_no) != 0)
        return snprintf(why, n, "the body names case '%.200s'", str_or(bcase, "")), 0;
    if (!time || cf_time_parse(time, &t) != 0 || t != row->event_time)
        return snprintf(why, n, "the row's event time is not its body's '%s'", str_or(time, "")), 0;
    return 1;
}

/*
 * Checks one link: row `i` must have seq i + 1, point back to `prev`, agree with its body and
 * give its stored hash.  Writes the hash the row gives after `prev` into `hash` (unless its seq
 * is not `want`: then `hash` is ""). Returns 0 when the link holds, 1 with the reason in `why`
 * when it does not, or CF_ENOMEM.
 */
static int link_broken(const cf_replay_case *c, const cf_replay_row *row, long long want,
                       const char *prev, char hash[65], char *why, size_t n)
{
    hash[0] = '\0';
    if (row->seq != want)
        return snprintf(why, n, "expected seq %lld here: %s", want,
                        row->seq > want ? "events are missing before it" : "seq out of order"),
               1;
    if (cf_chain_hash(prev, c->case_no, row->seq, str_or(row->event_id, ""),
                      str_or(row->body_text, ""), row->body_text ? row->body_len : 0,
                      str_or(row->state_after, ""), hash) != 0)
        return CF_ENOMEM;
    if (strcmp(str_or(row->prev_hash, ""), prev) != 0)
        return snprintf(why, n,
                        "its prev_hash %.12s... is not the hash %.12s... of the event before it",
                        str_or(row->prev_hash, ""), prev),
               1;
    if (!columns_match(row, c->case_no, why, n))
        return 1;
    if (strcmp(hash, str_or(row->hash, "")) != 0)
        return snprintf(why, n,
                        "the stored event does not give its stored hash (%.12s..., recomputed "
                        "%.12s...): its body, id or state_after was changed",
                        str_or(row->hash, ""), hash),
               1;
    return 0;
}

/* Fills out->chain and out->chain_seq; returns 0 or CF_ENOMEM. */
static int check_chain(const cf_replay_case *c, const cf_replay_row *rows, size_t n, cf_replay *out)
{
    char why[400], hash[65];
    const char *prev = cf_chain_genesis;

    for (size_t i = 0; i < n; i++) {
        long long want = (long long)i + 1;
        int rc = link_broken(c, &rows[i], want, prev, hash, why, sizeof why);
        if (rc < 0)
            return rc;
        if (rc) {
            out->chain_seq = rows[i].seq > 0 ? rows[i].seq : want;
            snprintf(out->chain, sizeof out->chain, "broken at seq %lld: %s", out->chain_seq, why);
            return 0;
        }
        prev = str_or(rows[i].hash, "");
    }
    if (strcmp(prev, str_or(c->head_hash, "")) != 0) {
        out->chain_seq = n > 0 ? rows[n - 1].seq : 1;
        snprintf(out->chain, sizeof out->chain,
                 "broken at seq %lld: the case's head hash %.12s... is not the last event's "
                 "hash %.12s... (events after it are missing, or the case row was changed)",
                 out->chain_seq, str_or(c->head_hash, ""), prev);
        return 0;
    }
    snprintf(out->chain, sizeof out->chain, "ok");
    return 0;
}

/* Runs rows[0 .. upto) through the machine; returns 1 when every row was applied. */
static int run_rows(const cf_workflow *wf, const cf_replay_row *rows, size_t upto, cf_replay *out,
                    int *nomem)
{
    char err[512], what[900];

    snprintf(out->replay, sizeof out->replay, "ok");
    for (size_t i = 0; i < upto; i++) {
        const cf_replay_row *row = &rows[i];
        cf_step step;
        /* As the engine applied it: with the case number in its canonical form. */
        json_t *ev = json_copy((json_t *)row->body);
        int rc;
        if (!ev) {
            *nomem = 1;
            return 0;
        }
        cf_caseno_normalize_event(ev);
        rc = cf_machine_apply(wf, out->state, ev, row->applied_at, &step, err, sizeof err);
        json_decref(ev);
        what[0] = '\0';
        if (rc == CF_ENOMEM) {
            *nomem = 1;
            return 0;
        }
        if (rc != 0) {
            /* After a first difference, a refusal is its consequence: the first stays named. */
            if (out->replay_seq == 0) {
                out->replay_seq = row->seq;
                snprintf(out->replay, sizeof out->replay,
                         "differs at seq %lld (%s, %s): the workflow refuses the event: %s",
                         row->seq, str_or(row->event_id, ""), str_or(row->type, ""), err);
            }
            out->stopped = row->seq;
            return 0;
        }
        json_decref(out->state);
        out->state = json_incref(step.state);
        out->replayed = i + 1;
        if (out->replay_seq == 0) {
            if (strcmp(step.from, str_or(row->state_before, "")) != 0)
                snprintf(what, sizeof what, "state before: stored '%s', replayed '%s'",
                         str_or(row->state_before, ""), step.from);
            else if (strcmp(step.to, str_or(row->state_after, "")) != 0)
                snprintf(what, sizeof what, "state after: stored '%s', replayed '%s'",
                         str_or(row->state_after, ""), step.to);
            else if (!row->actions_text || !renders_as(step.actions, row->actions_text)) {
                json_t *parsed = NULL;
                const json_t *stored = row->actions;
                if (!stored && row->actions_text)
                    stored = parsed = json_loads(row->actions_text, 0, NULL);
                if (!same_actions(stored, step.actions)) {
                    char d[800] = "";
                    describe_actions(stored, step.actions, d, sizeof d);
                    snprintf(what, sizeof what, "actions: %s", d);
                }
                json_decref(parsed);
            }
            if (what[0]) {
                out->replay_seq = row->seq;
                snprintf(out->replay, sizeof out->replay, "differs at seq %lld (%s, %s): %s",
                         row->seq, str_or(row->event_id, ""), str_or(row->type, ""), what);
            }
        }
        cf_step_clear(&step);
    }
    return 1;
}

int cf_replay_verify(const cf_workflow *wf, const cf_replay_case *c, const cf_replay_row *rows,
                     size_t n, cf_time as_of, cf_replay *out)
{
    size_t upto = 0;
    int nomem = 0, all;

    memset(out, 0, sizeof *out);
    if (check_chain(c, rows, n, out) != 0)
        goto fail;
    while (upto < n && rows[upto].applied_at <= as_of)
        upto++;
    all = run_rows(wf, rows, upto, out, &nomem);
    if (nomem)
        goto fail;
    out->final = -1;
    if (!all)
        snprintf(out->final_text, sizeof out->final_text,
                 "not compared: the replay stopped at seq %lld", out->stopped);
    else if (upto < n)
        snprintf(out->final_text, sizeof out->final_text,
                 "not compared: replayed as of seq %lld of %lld", upto ? rows[upto - 1].seq : 0LL,
                 n ? rows[n - 1].seq : 0LL);
    else if (!out->state && !c->body)
        out->final = 1;
    else if (out->state && c->body && json_equal(out->state, c->body))
        out->final = 1;
    else {
        char d[900];
        describe_diff(c->body, out->state, d, sizeof d);
        out->final = 0;
        snprintf(out->final_text, sizeof out->final_text, "differs: %s", d);
    }
    if (out->final == 1)
        snprintf(out->final_text, sizeof out->final_text, "ok");
    utf8_trim(out->chain);
    utf8_trim(out->replay);
    utf8_trim(out->final_text);
    return out->chain_seq == 0 && out->replay_seq == 0 && out->final != 0 && all ? 0 : CF_ESTATE;
fail:
    cf_replay_clear(out);
    return CF_ENOMEM;
}

void cf_replay_clear(cf_replay *r)
{
    json_decref(r->state);
    memset(r, 0, sizeof *r);
}

/*
 * Masks one action.  Its own words are not personal data even where a key says so (a timer's or
 * a clock's `name` is the timer's or the clock's), and a `set` of a personal field is masked by the
 * field it sets.
 */
static json_t *mask_action(const json_t *a)
{
    const char *kind = json_string_value(json_object_get(a, "kind"));
    const char *field = json_string_value(json_object_get(a, "field"));
    json_t *m;

    if (kind && (strncmp(kind, "timer", 5) == 0 || strcmp(kind, "clock") == 0) &&
        json_is_string(json_object_get(a, "name"))) {
        json_t *copy = json_copy((json_t *)a);
        json_object_del(copy, "name");
        m = copy ? cf_mask_json(copy) : NULL;
        if (m)
            json_object_set(m, "name", json_object_get(a, "name"));
        json_decref(copy);
        return m;
    }
    m = cf_mask_json(a);
    if (m && kind && strcmp(kind, "set") == 0 && field && cf_mask_is_personal_key(field)) {
        json_t *wrap = json_pack("{s:O}", field, json_object_get(a, "value"));
        json_t *masked = wrap ? cf_mask_json(wrap) : NULL;
        json_object_set(m, "value", masked ? json_object_get(masked, field) : json_null());
        json_decref(masked);
        json_decref(wrap);
    }
    return m;
}

json_t *cf_replay_entry(const cf_replay_row *row, int utc_offset_min)
{
    char applied[CF_TIME_BUFSZ];
    json_t *data = cf_mask_json(json_object_get(row->body, "data"));
    json_t *actions = json_array();
    json_t *e = NULL;
    size_t i;
    const json_t *a;

    json_array_foreach (row->actions, i, a) {
        json_t *m = mask_action(a);
        if (!m || json_array_append_new(actions, m) != 0) {
            json_decref(actions);
            actions = NULL;
            break;
        }
    }

    cf_time_format(row->applied_at, utc_offset_min, applied, sizeof applied);
    if (data && actions)
        e = json_pack("{s:I, s:s, s:s, s:s, s:O?, s:s, s:s, s:s, s:O, s:O}", "seq",
                      (json_int_t)row->seq, "id", str_or(row->event_id, ""), "type",
                      str_or(row->type, ""), "source", str_or(row->source, ""), "time",
                      json_object_get(row->body, "time"), "applied_at", applied, "from",
                      str_or(row->state_before, ""), "to", str_or(row->state_after, ""), "data",
                      data, "actions", actions);
    json_decref(data);
    json_decref(actions);
    return e;
}

int cf_replay_parse_as_of(const char *text, int utc_offset_min, cf_time *out)
{
    cf_date d;

    if (!text)
        return CF_EPARSE;
    if (strlen(text) == 10 && cf_date_parse(text, &d) == 0) {
        *out = cf_time_at(d + 1, 0, utc_offset_min) - 1;
        return 0;
    }
    return cf_time_parse(text, out);
}

void cf_replay_anchor_begin(cf_replay_anchor *a, const char *case_no, long long seq,
                            const char *hash)
{
    memset(a, 0, sizeof *a);
    a->case_no = case_no;
    a->seq = seq;
    snprintf(a->hash, sizeof a->hash, "%s", hash);
    snprintf(a->chain, sizeof a->chain, "%s", cf_chain_genesis);
}

int cf_replay_anchor_take(cf_replay_anchor *a, const cf_replay_row *row)
{
    cf_replay_case c = {.case_no = a->case_no};
    char hash[65], why[sizeof a->why];
    int rc;

    if (a->stopped || a->taken >= a->seq)
        return 0;
    rc = link_broken(&c, row, a->taken + 1, a->chain, hash, why, sizeof why);
    if (rc < 0)
        return rc;
    if (rc && !a->broken) {
        a->broken = a->taken + 1;
        snprintf(a->why, sizeof a->why, "%s", why);
        utf8_trim(a->why);
    }
    if (!hash[0]) {
        /* Out of sequence: what follows cannot be chained. */
        a->stopped = 1;
        return 0;
    }
    /* The chain goes on from the recomputed hash, whatever the row stored. */
    memcpy(a->chain, hash, sizeof a->chain);
    a->taken++;
    return 0;
}

int cf_replay_anchor_end(const cf_replay_anchor *a, long long *first_seq, char *text, size_t n)
{
    *first_seq = 0;
    if (a->taken == 0 && !a->stopped) {
        snprintf(text, n,
                 "missing: the anchor has it at seq %lld (%.12s...), the database has no event "
                 "of it",
                 a->seq, a->hash);
        return CF_REPLAY_ANCHOR_MISSING;
    }
    if (a->broken) {
        *first_seq = a->broken;
        snprintf(text, n, "does not match the anchor at seq %lld: the log breaks at seq %lld: %s",
                 a->seq, a->broken, a->why);
    } else if (a->taken < a->seq) {
        *first_seq = a->taken + 1;
        snprintf(text, n,
                 "does not match the anchor at seq %lld: the log ends at seq %lld, the events "
                 "after it were removed",
                 a->seq, a->taken);
    } else if (strcmp(a->chain, a->hash) != 0) {
        snprintf(text, n,
                 "does not match the anchor at seq %lld: the stored events give %.12s..., the "
                 "anchor says %.12s...: an event up to seq %lld was changed and the hashes after "
                 "it recomputed (the anchor cannot tell which event)",
                 a->seq, a->chain, a->hash, a->seq);
    } else {
        snprintf(text, n, "matches the anchor at seq %lld", a->seq);
        return CF_REPLAY_ANCHOR_MATCH;
    }
    utf8_trim(text);
    return CF_REPLAY_ANCHOR_DIFFERS;
}

int cf_replay_link(const cf_replay_case *c, const cf_replay_row *rows, size_t i, char *why,
                   size_t n)
{
    char hash[65];
    int rc = link_broken(c, &rows[i], (long long)i + 1,
                         i == 0 ? cf_chain_genesis : str_or(rows[i - 1].hash, ""), hash, why, n);
    if (rc == 0)
        snprintf(why, n, "ok");
    return rc;
}
