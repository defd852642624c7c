/*
 * `caseflow feed`: sends the filing system's export (JSON lines of event envelopes) to
 * caseflow.events keyed by case number, after validating every line against its event schema;
 * and `caseflow feed --generate N` prints a synthetic feed made by core/feedgen.
 *
 * Nothing valid is lost: a bad line is reported with its line number and skipped, every other
 * line is produced with the idempotent producer (acks=all), and the command waits for the
 * delivery report of every message before it says how many were sent.  A producer that fails
 * for good is replaced and the lines it had not confirmed are sent again (the engine drops a
 * second copy by its id); when no new producer can be made, the lines not sent are named.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/bus.h"
#include "base/backoff.h"
#include "base/config.h"
#include "base/path.h"
#include "commands.h"
#include "core/caseno.h"
#include "core/feedline.h"
#include "sim/feedgen.h"
#include "core/schema.h"

#define DEFAULT_TOPIC "<prefix>.events"
/* Longer lines are refused: Kafka's default message.max.bytes is about 1 MB. */
#define MAX_LINE (1024 * 1024)
/* Lines between progress reports on a log (non-tty) stderr, and on a terminal. */
#define PROGRESS_LOG 10000
#define PROGRESS_TTY 1000
/* Producers a feed makes at most: each that fails for good is replaced, up to this. */
#define MAX_PRODUCERS 10

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow feed [FILE|-] [--strict] [--dry-run] [--topic TOPIC]\n"
            "                     [--schemas DIR] [--config FILE]\n"
            "       caseflow feed --generate N [--seed S] [--start DATE] [--days D]\n"
            "                     [--court CODE] [--calendar FILE]\n"
            "\n"
            "Sends the filing system's export to Kafka: FILE (or stdin, also as '-') holds one\n"
            "event envelope a line (case.filed, case.corrected, case.withdrawn,\n"
            "payment.received, ...). Each line is validated against the schema of its type,\n"
            "its case number in the canonical form ((2026)豫0381执7号 for （2026）豫0381执７号);\n"
            "a bad line is reported on stderr as FILE:LINE: reason and not sent, every valid\n"
            "line is produced to the topic keyed by its case number (idempotent producer,\n"
            "acks=all), and the command waits until Kafka has acknowledged each one. At the\n"
            "end it prints how many were sent and rejected. Exit status: 0 when every line\n"
            "was sent, 1 when a line was rejected or not delivered, 2 for bad usage. A Kafka\n"
            "producer that fails for good is replaced and what it had not confirmed is sent\n"
            "again; lines that could not be sent are listed at the end, and sending the same\n"
            "file again is safe (the engine drops events it has by their id).\n"
            "\n"
            "  --strict          stop at the first bad line; nothing after it is sent\n"
            "  --dry-run         validate only; connect to nothing, send nothing\n"
            "  --topic TOPIC     the topic to send to (default " DEFAULT_TOPIC "); created when\n"
            "                    missing, with engine.partitions partitions\n"
            "  --schemas DIR     the event schemas (default schemas/events in the current\n"
            "                    folder, else the source tree's)\n"
            "  --config FILE     the configuration file (default: none; CASEFLOW_KAFKA and\n"
            "                    the other environment overrides apply either way)\n"
            "\n"
            "With --generate, prints a synthetic feed of N filed cases on stdout instead, the\n"
            "same bytes for the same options: filings on the working days of the period,\n"
            "corrections, withdrawals and voluntary payments (see sim/feedgen.h). Send it\n"
            "with: caseflow feed --generate 2000 --seed 7 | caseflow feed -\n"
            "\n"
            "  --seed S          the random seed, a number (default 1)\n"
            "  --start DATE      the first filing day (default 2026-03-02)\n"
            "  --days D          the length of the filing period in days (default 30)\n"
            "  --court CODE      the court code of the case numbers (default 豫0381)\n"
            "  --calendar FILE   working days (default workflows/calendars/cn.yaml in the\n"
            "                    current folder, else the source tree's)\n");
    return code;
}

/* ---- Options ---------------------------------------------------------------------------- */

typedef struct options {
    const char *file, *topic, *schemas, *config;
    int strict, dry_run;
    const char *generate, *seed, *start, *days, *court, *calendar;
} options;

/* Matches `--name VALUE` or `--name=VALUE` at argv[*i]: returns 1 and sets *value, 0 when the
 * argument is another one, -1 when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "caseflow feed: %s needs a value (see caseflow feed --help)\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* Returns 0 and the options, 1 after --help, or 2 for bad usage (after saying why). */
static int parse_options(int argc, char **argv, options *o)
{
    struct {
        const char *name;
        const char **slot;
    } valued[] = {
        {"--topic", &o->topic},       {"--schemas", &o->schemas}, {"--config", &o->config},
        {"--generate", &o->generate}, {"--seed", &o->seed},       {"--start", &o->start},
        {"--days", &o->days},         {"--court", &o->court},     {"--calendar", &o->calendar},
    };

    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int matched = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, 0);
            return 1;
        }
        if (strcmp(a, "--strict") == 0) {
            o->strict = 1;
            continue;
        }
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
            continue;
        }
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !matched; k++) {
            int rc = opt_value(argc, argv, &i, valued[k].name, valued[k].slot);
            if (rc < 0)
                return 2;
            matched = rc;
        }
        if (matched)
            continue;
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "caseflow feed: unknown option '%s' (see caseflow feed --help)\n", a);
            return 2;
        }
        if (o->file) {
            fprintf(stderr, "caseflow feed: one input only ('%s' and '%s')\n", o->file, a);
            return 2;
        }
        o->file = a;
    }
    if (o->generate) {
        const char *feed_only = o->file      ? "an input file"
                                : o->strict  ? "--strict"
                                : o->dry_run ? "--dry-run"
                                : o->topic   ? "--topic"
                                : o->schemas ? "--schemas"
                                : o->config  ? "--config"
                                             : NULL;
        if (feed_only) {
            fprintf(stderr, "caseflow feed: --generate prints a feed; %s is for sending one\n",
                    feed_only);
            return 2;
        }
    } else {
        const char *gen_only = o->seed       ? "--seed"
                               : o->start    ? "--start"
                               : o->days     ? "--days"
                               : o->court    ? "--court"
                               : o->calendar ? "--calendar"
                                             : NULL;
        if (gen_only) {
            fprintf(stderr, "caseflow feed: %s needs --generate N\n", gen_only);
            return 2;
        }
    }
    return 0;
}

/* Parses a whole decimal number in [lo, hi]; returns 0 or -1. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* The path given, else the data file `rel` (base/path.h). */
static const char *locate(const char *given, const char *rel, char *buf, size_t n)
{
    return given ? given : cf_path_find(rel, buf, n);
}

/* ---- Generating ------------------------------------------------------------------------- */

static int print_event(const json_t *event, void *arg)
{
    char *line = json_dumps(event, CF_FEEDGEN_DUMP_FLAGS);
    int rc = 0;
    (void)arg;
    if (!line)
        return CF_ENOMEM;
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF)
        rc = CF_EIO;
    free(line);
    return rc;
}

static int generate(const options *o)
{
    char err[512], calbuf[4096];
    const char *calpath = locate(o->calendar, "workflows/calendars/cn.yaml", calbuf, sizeof calbuf);
    cf_feedgen_opts g;
    cf_calendar *cal = NULL;
    long v;
    int rc = 2, y0, y1;

    cf_feedgen_defaults(&g);
    if (parse_long(o->generate, 1, CF_FEEDGEN_MAX_CASES, &g.cases) != 0) {
        fprintf(stderr, "caseflow feed: --generate '%s': the number of cases must be 1 to %ld\n",
                o->generate, CF_FEEDGEN_MAX_CASES);
        goto out;
    }
    if (o->seed) {
        char *end;
        errno = 0;
        g.seed = strtoull(o->seed, &end, 10);
        if (errno || end == o->seed || *end || o->seed[0] == '-') {
            fprintf(stderr, "caseflow feed: --seed '%s' is not a number (0 to %" PRIu64 ")\n",
                    o->seed, UINT64_MAX);
            goto out;
        }
    }
    if (o->start && cf_date_parse(o->start, &g.start) != 0) {
        fprintf(stderr, "caseflow feed: --start '%s' is not a date as 2026-03-02\n", o->start);
        goto out;
    }
    if (o->days) {
        if (parse_long(o->days, 1, CF_FEEDGEN_MAX_DAYS, &v) != 0) {
            fprintf(stderr, "caseflow feed: --days '%s' must be a number of days, 1 to %d\n",
                    o->days, CF_FEEDGEN_MAX_DAYS);
            goto out;
        }
        g.days = (int)v;
    }
    if (o->court)
        g.court = o->court;
    /* A missing calendar would silently change which days are working days, and with them the
     * output for the same seed: refuse rather than fall back. */
    cal = cf_calendar_load(calpath, err, sizeof err);
    if (!cal) {
        fprintf(stderr, "caseflow feed: %s\n", err);
        rc = 1;
        goto out;
    }
    g.calendar = cal;
    cf_date_to_ymd(g.start, &y0, NULL, NULL);
    cf_date_to_ymd(g.start + g.days - 1, &y1, NULL, NULL);
    for (int y = y0; y <= y1; y++)
        if (!cf_calendar_knows(cal, cf_date_from_ymd(y, 1, 1)))
            fprintf(stderr,
                    "caseflow feed: warning: %s has no holidays for %d; Monday to Friday are "
                    "taken as its working days\n",
                    calpath, y);
    rc = cf_feedgen_run(&g, print_event, NULL, err, sizeof err);
    if (rc == CF_EIO || (rc == 0 && fflush(stdout) != 0)) {
        fprintf(stderr, "caseflow feed: writing the feed to stdout: %s\n", strerror(errno));
        rc = 1;
    } else if (rc != 0) {
        fprintf(stderr, "caseflow feed: --generate: %s\n", err);
        rc = rc == CF_EINVAL ? 2 : 1;
    }
out:
    cf_calendar_free(cal);
    return rc;
}

/* ---- Sending ---------------------------------------------------------------------------- */

/* A valid line handed to the producer and not yet confirmed: kept until its delivery report says
 * delivered, so that a new producer can send it again when the one it went to failed for good. */
typedef struct pending {
    struct pending *prev, *next;
    long line;
    unsigned gen;    /* the producer it was last handed to (feed.gen) */
    size_t len;      /* of the line */
    const char *key; /* NULL or into data */
    const char *id;  /* into data */
    char data[];     /* the line, then key and id, each ended by a NUL */
} pending;

typedef struct feed {
    const char *name; /* the input's name in messages */
    const char *topic;
    char topic_buf[160]; /* <prefix>.events when no --topic is given */
    cf_schema_set *schemas;
    const cf_schema *envelope;
    rd_kafka_t *rk; /* NULL in a dry run */
    const cf_config *cfg;
    pending *first, *last; /* the lines not yet confirmed, in the order sent */
    unsigned gen;          /* producers made so far, less one */
    int renewing;   /* the failed producer's last reports are coming (cf_bus_producer_renew) */
    json_t *ids;    /* event id -> the line it was first seen on */
    json_t *unsent; /* the numbers of the lines not sent, for the summary */
    long line, valid, rejected, delivered, undelivered;
    int tty, progress_shown, fatal;
} feed;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Clears a progress line on a terminal before another message is written. */
static void clear_progress(feed *F)
{
    if (F->progress_shown) {
        fputs("\r\033[K", stderr);
        F->progress_shown = 0;
    }
}

static void report(feed *F, long line, const char *fmt, ...) CF_PRINTF(3, 4);

/* Writes one "NAME:LINE: message" line to stderr. */
static void report(feed *F, long line, const char *fmt, ...)
{
    va_list ap;
    clear_progress(F);
    fprintf(stderr, "%s:%ld: ", F->name, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void progress(feed *F)
{
    char text[160];
    int due = F->tty ? F->line % PROGRESS_TTY == 0 : F->line % PROGRESS_LOG == 0;
    if (!due)
        return;
    /* Deliveries lag behind reading: the count of delivered messages catches up at the end. */
    if (F->rk)
        snprintf(text, sizeof text, "caseflow feed: %ld lines, %ld rejected, %ld delivered so far",
                 F->line, F->rejected, F->delivered);
    else
        snprintf(text, sizeof text, "caseflow feed: %ld lines, %ld valid, %ld rejected", F->line,
                 F->valid, F->rejected);
    if (F->tty) {
        fprintf(stderr, "\r%s", text);
        F->progress_shown = 1;
    } else {
        fprintf(stderr, "%s\n", text);
    }
}

/* Removes `p` from the lines in flight and frees it. */
static void settle(feed *F, pending *p)
{
    *(p->prev ? &p->prev->next : &F->first) = p->next;
    *(p->next ? &p->next->prev : &F->last) = p->prev;
    free(p);
}

/* Counts line `p` as not delivered (after it was reported) and lets it go. */
static void lost(feed *F, pending *p)
{
    F->undelivered++;
    json_array_append_new(F->unsent, json_integer(p->line));
    settle(F, p);
}

/*
 * The delivery report of one message (librdkafka calls it from rd_kafka_poll and
 * rd_kafka_flush on this thread).  The message's opaque is its line (pending); the payload was
 * copied at produce time.  A line refused by a producer that failed for good stays in flight:
 * the next producer sends it again (renew).
 */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    feed *F = opaque;
    pending *p = m->_private;
    if (!m->err) {
        F->delivered++;
        settle(F, p);
        return;
    }
    if (F->renewing || m->err == RD_KAFKA_RESP_ERR__FATAL || cf_bus_producer_failed(rk, NULL, 0))
        return;
    report(F, p->line, "not delivered to %s: %s", F->topic, rd_kafka_err2str(m->err));
    lost(F, p);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    feed *F = opaque;
    char why[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof why);
        clear_progress(F);
        fprintf(stderr, "caseflow feed: Kafka: the producer failed for good: %s\n", why);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        clear_progress(F);
        fprintf(stderr, "caseflow feed: Kafka: %s (retrying until message.timeout.ms)\n", reason);
    }
}

/*
 * Validates one line; returns 0 and sets *event (owned by the caller, its case in the canonical
 * form) and *key (borrowed from it: the canonical case number, NULL for an event without a
 * case), or reports the reason and returns -1.  The line itself is sent as written (the engine
 * keeps the original).
 */
static int check_line(feed *F, const char *text, size_t len, json_t **event, const char **key)
{
    char err[1024];
    const char *id;
    json_t *ev, *seen;

    *event = NULL;
    if (len > MAX_LINE) {
        report(F, F->line, "the line is longer than %d bytes", MAX_LINE);
        return -1;
    }
    if (cf_feedline_check(F->schemas, F->envelope, text, len, &ev, err, sizeof err) != 0) {
        report(F, F->line, "%s", err);
        return -1;
    }
    /* The engine drops an event whose id it has seen: a second line with the same id would be
     * lost without a word, so it is refused here. */
    id = json_string_value(json_object_get(ev, "id"));
    seen = json_object_get(F->ids, id);
    if (seen) {
        report(F, F->line, "duplicate event id '%s' (first on line %" JSON_INTEGER_FORMAT ")", id,
               json_integer_value(seen));
        goto bad;
    }
    if (json_object_set_new(F->ids, id, json_integer(F->line)) != 0) {
        report(F, F->line, "out of memory");
        goto bad;
    }
    *event = ev;
    *key = json_string_value(json_object_get(ev, "case"));
    return 0;
bad:
    json_decref(ev);
    return -1;
}

/* Hands line `p` (in flight) to the producer, waiting while librdkafka's queue is full.  Refused
 * by a producer that failed for good, it stays in flight for the next one; refused otherwise, it
 * is reported and let go.  Returns 0 or -1. */
static int send_line(feed *F, pending *p)
{
    char err[512];
    int rc;

    p->gen = F->gen;
    rc =
        cf_bus_produce(F->rk, F->topic, p->key, p->id, p->data, p->len, p, 600000, err, sizeof err);
    rd_kafka_poll(F->rk, 0);
    if (rc != 0 && !cf_bus_producer_failed(F->rk, NULL, 0)) {
        report(F, p->line, "not sent: %s", err);
        lost(F, p);
        return -1;
    }
    return 0;
}

/* Produces one valid line (copied, kept until confirmed).  Returns 0 or -1. */
static int produce(feed *F, const char *text, size_t len, const char *key, const char *id)
{
    size_t klen = key ? strlen(key) + 1 : 0, ilen = strlen(id ? id : "") + 1;
    pending *p = malloc(sizeof *p + len + 1 + klen + ilen);

    if (!p) {
        report(F, F->line, "not sent: out of memory");
        F->undelivered++;
        json_array_append_new(F->unsent, json_integer(F->line));
        return -1;
    }
    p->line = F->line;
    p->len = len;
    memcpy(p->data, text, len);
    p->data[len] = '\0';
    p->key = key ? memcpy(p->data + len + 1, key, klen) : NULL;
    p->id = memcpy(p->data + len + 1 + klen, id ? id : "", ilen);
    p->prev = F->last;
    p->next = NULL;
    *(F->last ? &F->last->next : &F->first) = p;
    F->last = p;
    return send_line(F, p);
}

/* The producer options of the feed (made again by renew). */
static cf_bus_producer_opts producer_opts(feed *F)
{
    const cf_bus_producer_opts o = {.client_id = "caseflow-feed",
                                    .on_delivery = on_delivery,
                                    .on_error = on_error,
                                    .opaque = F};
    return o;
}

/*
 * The producer failed for good (cf_bus_producer_failed): a new one sends again every line not
 * yet confirmed.  A line the old one had written after all then comes twice with the same id,
 * and the engine drops the second.  When no new producer can be made after a few tries, or
 * producers keep failing (a line that makes every one fail would be sent for ever), every line in
 * flight is reported not sent and the feed stops (F->fatal).  Returns 0 or -1.
 */
static int renew(feed *F)
{
    const cf_bus_producer_opts o = producer_opts(F);
    long again = 0;
    int rc = -1;

    if (F->gen + 1 >= MAX_PRODUCERS)
        fprintf(stderr, "caseflow feed: the Kafka producer failed for good %d times\n",
                MAX_PRODUCERS);
    for (int attempt = 1; attempt <= 5 && rc != 0 && F->gen + 1 < MAX_PRODUCERS; attempt++) {
        if (attempt > 1)
            cf_sleep_ms((int)cf_backoff_delay(500, 5000, attempt, NULL));
        F->renewing = 1;
        rc = cf_bus_producer_renew(&F->rk, F->cfg, &o);
        F->renewing = 0;
    }
    clear_progress(F);
    if (rc != 0) {
        fprintf(stderr, "caseflow feed: no new Kafka producer: stopping\n");
        while (F->first) {
            report(F, F->first->line, "not sent: the Kafka producer failed for good");
            lost(F, F->first);
        }
        F->fatal = 1;
        return -1;
    }
    F->gen++;
    for (pending *p = F->first, *next; p; p = next) {
        next = p->next;
        if (p->gen < F->gen) {
            again++;
            send_line(F, p);
        }
    }
    fprintf(stderr,
            "caseflow feed: a new Kafka producer took over; %ld line%s not yet confirmed sent "
            "again\n",
            again, again == 1 ? "" : "s");
    return 0;
}

/* Makes the producer and the topic; returns 0, or 1 after saying why. */
static int connect_kafka(feed *F, const cf_config *cfg)
{
    char err[1024];
    const cf_bus_producer_opts o = producer_opts(F);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr;
    int rc;

    F->cfg = cfg;
    if (!(F->rk = cf_bus_producer_new(cfg, &o, err, sizeof err))) {
        fprintf(stderr, "caseflow feed: %s\n", err);
        return 1;
    }
    /* Without a broker the messages would wait for message.timeout.ms (minutes): fail now. */
    kerr = rd_kafka_metadata(F->rk, 0, NULL, &md, 10000);
    if (kerr) {
        fprintf(stderr, "caseflow feed: Kafka at %s does not answer: %s\n", cfg->kafka,
                rd_kafka_err2str(kerr));
        return 1;
    }
    rd_kafka_metadata_destroy(md);
    rc = cf_bus_create_topic(F->rk, F->topic, cfg->partitions, 10000, err, sizeof err);
    /* Where topics are made by an administrator, creating one may be refused; sending tells
     * whether the topic is there. */
    if (rc != 0)
        fprintf(stderr, "caseflow feed: warning: %s\n", err);
    return 0;
}

/* Waits until every queued message has its delivery report, renewing a producer that failed. */
static void drain(feed *F)
{
    while (!F->fatal && (rd_kafka_outq_len(F->rk) > 0 || cf_bus_producer_failed(F->rk, NULL, 0))) {
        if (cf_bus_producer_failed(F->rk, NULL, 0)) {
            renew(F);
            continue;
        }
        rd_kafka_flush(F->rk, 1000);
        if (F->tty && rd_kafka_outq_len(F->rk) > 0) {
            fprintf(stderr, "\rcaseflow feed: waiting for %d deliveries", rd_kafka_outq_len(F->rk));
            F->progress_shown = 1;
        }
    }
    clear_progress(F);
}

static int by_number(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Says which lines were not sent, in ranges ("lines not sent: 5, 17-40"), so that what to send
 * again is known. */
static void print_unsent(json_t *unsent)
{
    size_t n = json_array_size(unsent), i, j;
    long *v = malloc((n ? n : 1) * sizeof *v);
    json_t *x;

    if (!v)
        return;
    json_array_foreach (unsent, i, x)
        v[i] = (long)json_integer_value(x);
    qsort(v, n, sizeof *v, by_number);
    fputs("caseflow feed: lines not sent:", stderr);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && v[j] <= v[j - 1] + 1; j++)
            ;
        if (v[j - 1] == v[i])
            fprintf(stderr, "%s %ld", i ? "," : "", v[i]);
        else
            fprintf(stderr, "%s %ld-%ld", i ? "," : "", v[i], v[j - 1]);
    }
    fputc('\n', stderr);
    free(v);
}

static int send_feed(const options *o)
{
    char err[1024], dirbuf[4096];
    const char *dir = locate(o->schemas, "schemas/events", dirbuf, sizeof dirbuf);
    int use_stdin = !o->file || strcmp(o->file, "-") == 0, rc = 1, stopped = 0;
    FILE *in = NULL;
    cf_config cfg;
    feed F;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    struct sigaction sa;

    memset(&F, 0, sizeof F);
    memset(&cfg, 0, sizeof cfg);
    /* With standard input closed, descriptor 0 goes to the next file or socket opened (a
     * schema file, a connection of librdkafka's) and reading "stdin" would read that: refuse
     * before anything is opened. */
    if (use_stdin && fcntl(STDIN_FILENO, F_GETFD) == -1) {
        fprintf(stderr,
                "caseflow feed: standard input is closed (%s); give the feed as a FILE or "
                "through a pipe\n",
                strerror(errno));
        return 2;
    }
    F.name = use_stdin ? "<stdin>" : o->file;
    F.topic = o->topic ? o->topic : DEFAULT_TOPIC;
    F.tty = isatty(STDERR_FILENO);
    if (!*F.topic) {
        fprintf(stderr, "caseflow feed: --topic must not be empty\n");
        return 2;
    }
    F.ids = json_object();
    F.unsent = json_array();
    F.schemas = cf_schema_set_new();
    if (!F.ids || !F.unsent || !F.schemas) {
        fprintf(stderr, "caseflow feed: out of memory\n");
        goto out;
    }
    if (cf_schema_set_load_dir(F.schemas, dir, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow feed: loading the event schemas: %s\n", err);
        goto out;
    }
    F.envelope = cf_schema_set_get(F.schemas, "envelope");
    if (!F.envelope) {
        fprintf(stderr, "caseflow feed: %s has no envelope.json\n", dir);
        goto out;
    }
    in = use_stdin ? stdin : fopen(o->file, "r");
    if (!in) {
        fprintf(stderr, "caseflow feed: %s: %s\n", o->file, strerror(errno));
        goto out;
    }
    if (!o->dry_run) {
        int crc = cf_config_load(&cfg, o->config, err, sizeof err);
        if (crc != 0) {
            fprintf(stderr, "caseflow feed: %s\n", err);
            goto out;
        }
        /* Without --topic: the events topic of the configured prefix, as the engine reads it. */
        if (!o->topic) {
            cf_bus_topic(&cfg, "events", F.topic_buf, sizeof F.topic_buf);
            F.topic = F.topic_buf;
        }
        if (connect_kafka(&F, &cfg) != 0)
            goto out;
    }
    /* Ctrl-C stops reading; what was read is still delivered and counted. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    while (!interrupted && !F.fatal && (len = getline(&buf, &cap, in)) > 0) {
        json_t *ev;
        const char *key;
        size_t n = (size_t)len;

        F.line++;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        if (strspn(buf, " \t") >= n) {
            progress(&F);
            continue;
        }
        if (check_line(&F, buf, n, &ev, &key) != 0) {
            F.rejected++;
            if (o->strict) {
                stopped = 1;
                break;
            }
        } else {
            F.valid++;
            if (F.rk) {
                produce(&F, buf, n, key, json_string_value(json_object_get(ev, "id")));
                if (cf_bus_producer_failed(F.rk, NULL, 0))
                    renew(&F);
            }
            json_decref(ev);
        }
        progress(&F);
    }
    if (!stopped && !interrupted && ferror(in)) {
        clear_progress(&F);
        fprintf(stderr, "caseflow feed: reading %s after line %ld: %s\n", F.name, F.line,
                strerror(errno));
        F.rejected++;
    }
    if (F.rk)
        drain(&F);
    clear_progress(&F);
    if (stopped)
        fprintf(stderr, "caseflow feed: stopped at line %ld (--strict): nothing after it sent\n",
                F.line);
    if (interrupted)
        fprintf(stderr, "caseflow feed: interrupted after line %ld: nothing after it sent\n",
                F.line);
    if (F.fatal)
        fprintf(stderr, "caseflow feed: stopped after line %ld: nothing after it sent\n", F.line);
    if (json_array_size(F.unsent) > 0)
        print_unsent(F.unsent);
    if (o->dry_run)
        fprintf(stderr,
                "caseflow feed: %ld valid, %ld rejected (%ld lines of %s; dry run, "
                "nothing sent)\n",
                F.valid, F.rejected, F.line, F.name);
    else
        fprintf(stderr,
                "caseflow feed: %ld sent to %s, %ld rejected, %ld not delivered (%ld lines "
                "of %s)\n",
                F.delivered, F.topic, F.rejected, F.undelivered, F.line, F.name);
    rc = F.rejected || F.undelivered || F.fatal || interrupted ? 1 : 0;
out:
    free(buf);
    if (in && in != stdin)
        fclose(in);
    if (F.rk)
        rd_kafka_destroy(F.rk);
    while (F.first)
        settle(&F, F.first);
    json_decref(F.unsent);
    cf_schema_set_free(F.schemas);
    json_decref(F.ids);
    cf_config_free(&cfg);
    return rc;
}

int cf_cmd_feed(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    return o.generate ? generate(&o) : send_feed(&o);
}
