/*
 * The configuration table and its loader: defaults, then a YAML file, then
 * environment variables, each value checked against its type and bounds.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/path.h"
#include "base/yamldoc.h"

enum type { T_STR, T_INT, T_ENUM, T_LIST, T_MAP };

struct setting {
    const char *name;
    enum type type;
    const char *def;
    long min, max;       /* T_INT bounds */
    const char *choices; /* T_ENUM: "a|b|c" */
    const char *env;
    size_t offset;       /* of the field in cf_config */
    size_t count_offset; /* T_LIST, T_MAP: of the count */
    const char *help;
};

#define AT(f) offsetof(cf_config, f)

static const struct setting settings[] = {
    {"postgres", T_STR, "postgresql://127.0.0.1/caseflow", 0, 0, NULL, "CASEFLOW_PG", AT(postgres),
     0,
     "PostgreSQL connection string of the engine, the workers and the CLI (passed to libpq, "
     "with keepalives and timeouts added unless it sets them); its role may append to the event "
     "log but not change it"},
    {"postgres_owner", T_STR, "", 0, 0, NULL, "CASEFLOW_PG_OWNER", AT(postgres_owner), 0,
     "PostgreSQL connection string of the role that owns the tables: only `caseflow db migrate` "
     "uses it"},
    {"postgres_statement_timeout_ms", T_INT, "30000", 0, 86400000, NULL,
     "CASEFLOW_PG_STATEMENT_TIMEOUT_MS", AT(pg_statement_timeout_ms), 0,
     "PostgreSQL's statement_timeout for caseflow's sessions (0: none), unless the connection "
     "string sets it; a statement that gets no answer for 5 s longer is given up and its "
     "connection dropped"},
    {"postgres_idle_tx_timeout_ms", T_INT, "60000", 0, 86400000, NULL,
     "CASEFLOW_PG_IDLE_TX_TIMEOUT_MS", AT(pg_idle_tx_timeout_ms), 0,
     "PostgreSQL's idle_in_transaction_session_timeout for caseflow's sessions (0: none), unless "
     "the connection string sets it"},
    {"kafka.bootstrap", T_STR, "127.0.0.1:9092", 0, 0, NULL, "CASEFLOW_KAFKA", AT(kafka), 0,
     "Kafka bootstrap servers"},
    {"kafka.topic_prefix", T_STR, "caseflow", 0, 0, NULL, "CASEFLOW_TOPIC_PREFIX", AT(topic_prefix),
     0, "topics are <prefix>.events, <prefix>.transitions, <prefix>.dlq, <prefix>.tasks.<kind>"},
    {"kafka.settings", T_MAP, NULL, 0, 0, NULL, NULL, AT(kafka_settings), AT(nkafka_settings),
     "librdkafka properties, passed through unchanged"},
    {"engine.group", T_STR, "caseflow-engine", 0, 0, NULL, "CASEFLOW_GROUP", AT(group), 0,
     "consumer group of the engines"},
    {"engine.instance", T_STR, "", 0, 0, NULL, "CASEFLOW_INSTANCE", AT(instance), 0,
     "a stable name for this engine (Kafka static membership): a restarted engine gets its "
     "partitions back at once"},
    {"engine.partitions", T_INT, "8", 1, 1024, NULL, NULL, AT(partitions), 0,
     "partitions of caseflow.events when caseflow creates the topic"},
    {"engine.batch_size", T_INT, "500", 1, 100000, NULL, "CASEFLOW_BATCH_SIZE", AT(batch_size), 0,
     "events in one transaction at most"},
    {"engine.batch_ms", T_INT, "20", 0, 10000, NULL, "CASEFLOW_BATCH_MS", AT(batch_ms), 0,
     "milliseconds a batch waits to fill"},
    {"engine.cache_cases", T_INT, "20000", 0, 10000000, NULL, NULL, AT(cache_cases), 0,
     "case states kept in memory"},
    {"engine.clock", T_ENUM, "real", 0, 0, "real|simulated", "CASEFLOW_CLOCK", AT(clock), 0,
     "the engine's clock"},
    {"engine.start", T_STR, "", 0, 0, NULL, "CASEFLOW_CLOCK_START", AT(start), 0,
     "the simulated clock's first instant (ISO 8601)"},
    /* enforcement_case.v1.yaml and .v2.yaml keep the cases filed under versions 1 and 2 on them
       (docs/workflow-language.md, Versions). */
    {"workflows", T_LIST,
     "workflows/enforcement_case.yaml,workflows/enforcement_case.v2.yaml,"
     "workflows/enforcement_case.v1.yaml,workflows/voluntary_payment.yaml",
     0, 0, NULL, "CASEFLOW_WORKFLOWS", AT(workflows), AT(nworkflows),
     "workflow definitions (comma-separated in the environment)"},
    {"data_dir", T_STR, "", 0, 0, NULL, "CASEFLOW_DATA_DIR", AT(data_dir), 0,
     "the folder that relative workflows, schemas, templates and web/ are found in when the "
     "current folder lacks them (empty: the install prefix's share/caseflow, or in a build tree "
     "the source tree)"},
    {"documents_dir", T_STR, "documents", 0, 0, NULL, "CASEFLOW_DOCUMENTS", AT(documents_dir), 0,
     "where workers store the documents they make"},
    {"log_level", T_ENUM, "info", 0, 0, "error|warn|info|debug|trace", "CASEFLOW_LOG_LEVEL",
     AT(log_level), 0, "error, warn, info, debug or trace"},
    {"worker.concurrency", T_INT, "8", 1, 256, NULL, "CASEFLOW_WORKER_CONCURRENCY",
     AT(worker_concurrency), 0, "tasks a worker process handles at once (threads)"},
    {"worker.retries", T_INT, "5", 0, 100, NULL, "CASEFLOW_WORKER_RETRIES", AT(worker_retries), 0,
     "tries after the first when a task fails for a passing reason; then task.failed"},
    {"worker.backoff_ms", T_INT, "200", 0, 600000, NULL, "CASEFLOW_WORKER_BACKOFF_MS",
     AT(worker_backoff_ms), 0, "the first retry's delay; it doubles each try, with jitter"},
    {"worker.backoff_max_ms", T_INT, "30000", 0, 3600000, NULL, NULL, AT(worker_backoff_max_ms), 0,
     "the longest delay between two tries"},
    {"worker.grace_ms", T_INT, "10000", 0, 600000, NULL, "CASEFLOW_WORKER_GRACE_MS",
     AT(worker_grace_ms), 0,
     "on SIGTERM: how long running handlers may finish before their tasks are abandoned"},
    {"worker.adapter", T_ENUM, "simulator", 0, 0, "simulator|http", "CASEFLOW_WORKER_ADAPTER",
     AT(worker_adapter), 0,
     "how workers reach the outside systems: the built-in simulator or HTTP"},
    {"worker.url", T_STR, "", 0, 0, NULL, "CASEFLOW_WORKER_URL", AT(worker_url), 0,
     "the HTTP adapter's base URL: a call POSTs JSON to <url>/<operation>"},
    {"worker.timeout_ms", T_INT, "10000", 1, 600000, NULL, "CASEFLOW_WORKER_TIMEOUT_MS",
     AT(worker_timeout_ms), 0, "the HTTP adapter's limit for one call"},
    {"worker.seed", T_INT, "1", 0, INT_MAX, NULL, "CASEFLOW_WORKER_SEED", AT(worker_seed), 0,
     "the simulators' seed: the same seed gives the same outcomes"},
    {"worker.sim.latency_ms", T_INT, "5", 0, 600000, NULL, "CASEFLOW_SIM_LATENCY_MS",
     AT(worker_sim_latency_ms), 0, "the simulators' mean latency of a call"},
    {"worker.sim.jitter_ms", T_INT, "2", 0, 600000, NULL, "CASEFLOW_SIM_JITTER_MS",
     AT(worker_sim_jitter_ms), 0, "the simulators' latency varies by up to this either way"},
    {"worker.sim.found", T_INT, "70", 0, 100, NULL, "CASEFLOW_SIM_FOUND", AT(worker_sim_found), 0,
     "percent of simulated answers that find something (the four add up to 100)"},
    {"worker.sim.nothing", T_INT, "25", 0, 100, NULL, "CASEFLOW_SIM_NOTHING",
     AT(worker_sim_nothing), 0, "percent of simulated answers that find nothing"},
    {"worker.sim.error", T_INT, "3", 0, 100, NULL, "CASEFLOW_SIM_ERROR", AT(worker_sim_error), 0,
     "percent of simulated calls that fail (retried)"},
    {"worker.sim.timeout", T_INT, "2", 0, 100, NULL, "CASEFLOW_SIM_TIMEOUT", AT(worker_sim_timeout),
     0, "percent of simulated calls that time out (retried)"},
    {"worker.kinds", T_MAP, NULL, 0, 0, NULL, NULL, AT(worker_kinds), AT(nworker_kinds),
     "overrides per kind: '<kind>.<setting>: value', e.g. 'six_checks.sim.error: 100'"},
    {"service.routes", T_STR, "workflows/routes/yanshi.yaml", 0, 0, NULL, "CASEFLOW_ROUTES",
     AT(service_routes), 0,
     "the delivery route table: which route's trip serves an address (docs/workers.md)"},
    /* [U] 偃师 was 豫0381 and may now be 豫0307 since it became a district (DOMAIN.md). */
    {"court.code", T_STR, "豫0381", 0, 0, NULL, "CASEFLOW_COURT", AT(court_code), 0,
     "the court's code (法院代字) in its case numbers, when no `courts:` list names the courts "
     "served: a payment remark that leaves it out means this court"},
    {"document.templates", T_STR, "workflows/templates", 0, 0, NULL, "CASEFLOW_TEMPLATES",
     AT(doc_templates), 0, "the folder of the document templates (one YAML file per document)"},
    /* [U] The court's name since 偃师 became a district of 洛阳 (2021); check the seal's wording.
     */
    {"document.court_name", T_STR, "河南省洛阳市偃师区人民法院", 0, 0, NULL, NULL,
     AT(doc_court_name), 0,
     "the court's name at the head of every document, when no `courts:` list names the courts "
     "served"},
    {"document.account_name", T_STR, "洛阳市偃师区人民法院", 0, 0, NULL, NULL, AT(doc_account_name),
     0, "the name of the court's case payment account (执行款专户) printed on the notices [U]"},
    {"document.account_bank", T_STR, "", 0, 0, NULL, NULL, AT(doc_account_bank), 0,
     "the bank of the case payment account (empty: the documents say 未配置)"},
    {"document.account_number", T_STR, "", 0, 0, NULL, NULL, AT(doc_account_number), 0,
     "the number of the case payment account (empty: the documents say 未配置)"},
    {"document.account_remark", T_STR, "${case_no}${respondent_names}", 0, 0, NULL, NULL,
     AT(doc_account_remark), 0,
     "what a payer writes in the transfer's remark, so that the payment can be matched to its "
     "case; ${field} placeholders of the documents' fields"},
    {"document.phone", T_STR, "", 0, 0, NULL, NULL, AT(doc_phone), 0,
     "the contact phone printed on the documents (empty: 未配置)"},
    {"anchor.key", T_STR, "", 0, 0, NULL, "CASEFLOW_ANCHOR_KEY", AT(anchor_key), 0,
     "the Ed25519 private key (PEM) that signs anchor files; empty: they are not signed"},
    {"anchor.pub", T_STR, "", 0, 0, NULL, "CASEFLOW_ANCHOR_PUB", AT(anchor_pub), 0,
     "the Ed25519 public key (PEM) that anchor files are checked against; empty: signatures "
     "are not checked"},
    /* The workplace API: caseflow serve (server/, docs/api.md). */
    {"server.listen", T_STR, "127.0.0.1", 0, 0, NULL, "CASEFLOW_LISTEN", AT(server_listen), 0,
     "the address caseflow serve binds (an IPv4 or IPv6 address; 0.0.0.0 for every interface)"},
    {"server.port", T_INT, "8080", 0, 65535, NULL, "CASEFLOW_PORT", AT(server_port), 0,
     "the port caseflow serve listens on (0: any free port, printed at start)"},
    {"server.body_limit", T_INT, "4194304", 1024, 1073741824, NULL, "CASEFLOW_BODY_LIMIT",
     AT(server_body_limit), 0, "bytes of a request body at most (larger: 413)"},
    {"server.session_idle_s", T_INT, "1800", 1, 604800, NULL, "CASEFLOW_SESSION_IDLE",
     AT(server_session_idle_s), 0, "a session unused this many seconds ends"},
    {"server.session_max_s", T_INT, "43200", 1, 2592000, NULL, NULL, AT(server_session_max_s), 0,
     "a session ends this many seconds after the login, used or not"},
    {"server.tls_cert", T_STR, "", 0, 0, NULL, "CASEFLOW_TLS_CERT", AT(server_tls_cert), 0,
     "PEM certificate (chain) for HTTPS; empty: plain HTTP"},
    {"server.tls_key", T_STR, "", 0, 0, NULL, "CASEFLOW_TLS_KEY", AT(server_tls_key), 0,
     "PEM private key of the certificate"},
    {"server.db_connections", T_INT, "8", 1, 256, NULL, NULL, AT(server_db_connections), 0,
     "PostgreSQL connections of one caseflow serve process"},
    {"server.connections", T_INT, "1000", 1, 100000, NULL, NULL, AT(server_connections), 0,
     "open HTTP connections at most (each has a thread)"},
    {"server.lock_after", T_INT, "5", 0, 1000, NULL, "CASEFLOW_LOCK_AFTER", AT(server_lock_after),
     0, "failed logins under one name within server.lock_s that lock it (0: never)"},
    {"server.lock_s", T_INT, "900", 1, 86400, NULL, "CASEFLOW_LOCK_SECONDS", AT(server_lock_s), 0,
     "how long failed logins count, and so how long a lock lasts"},
    {"server.wait_ms", T_INT, "10000", 0, 600000, NULL, "CASEFLOW_SERVER_WAIT_MS",
     AT(server_wait_ms), 0,
     "how long completing or returning a task waits for the engine's verdict (then 202)"},
    /* The web workplace (web/, docs/workplace.md). */
    {"server.web", T_STR, "web", 0, 0, NULL, "CASEFLOW_WEB", AT(server_web), 0,
     "the folder of the web workplace served under / (relative: from the current folder, the "
     "source tree, then the install prefix's share/caseflow)"},
    {"server.stream_s", T_INT, "120", 1, 3600, NULL, NULL, AT(server_stream_s), 0,
     "how long one server-sent event stream lasts before the browser reconnects (and is "
     "authenticated again)"},
};

enum { NSETTINGS = sizeof settings / sizeof settings[0] };

static char **str_at(cf_config *c, const struct setting *s)
{
    return (char **)(void *)((char *)c + s->offset);
}

static int *int_at(cf_config *c, const struct setting *s)
{
    return (int *)(void *)((char *)c + s->offset);
}

static size_t *count_at(cf_config *c, const struct setting *s)
{
    return (size_t *)(void *)((char *)c + s->count_offset);
}

static void free_value(cf_config *c, const struct setting *s)
{
    if (s->type == T_LIST) {
        char **list = *(char ***)(void *)str_at(c, s);
        for (size_t i = 0; i < *count_at(c, s); i++)
            free(list[i]);
        free(list);
        *(char ***)(void *)str_at(c, s) = NULL;
        *count_at(c, s) = 0;
    } else if (s->type == T_MAP) {
        cf_kv *kv = *(cf_kv **)(void *)str_at(c, s);
        for (size_t i = 0; i < *count_at(c, s); i++) {
            free(kv[i].key);
            free(kv[i].value);
        }
        free(kv);
        *(cf_kv **)(void *)str_at(c, s) = NULL;
        *count_at(c, s) = 0;
    } else if (s->type != T_INT) {
        free(*str_at(c, s));
        *str_at(c, s) = NULL;
    }
}

/* Sets one value from text; `where` names its origin in messages ("file:3:5", "CASEFLOW_PG"). */
static int set_value(cf_config *c, const struct setting *s, const char *text, const char *where,
                     char *err, size_t errsz)
{
    if (s->type == T_INT) {
        char *end;
        long v;
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno || *end || end == text || v < s->min || v > s->max)
            return cf_errf(err, errsz, CF_EINVAL,
                           "%s: %s must be a whole number from %ld to %ld, "
                           "not '%s'",
                           where, s->name, s->min, s->max, text);
        *int_at(c, s) = (int)v;
        return 0;
    }
    if (s->type == T_ENUM) {
        size_t n = strlen(text);
        const char *p = s->choices;
        int ok = 0;
        while (*p) {
            size_t len = strcspn(p, "|");
            ok |= len == n && strncmp(p, text, n) == 0;
            p += len + (p[len] == '|');
        }
        if (!ok)
            return cf_errf(err, errsz, CF_EINVAL, "%s: %s must be one of %s, not '%s'", where,
                           s->name, s->choices, text);
    }
    if (s->type == T_LIST) {
        /* From text: a comma-separated list (the environment's form). */
        char *copy = strdup(text), *save = NULL;
        char **list = NULL;
        size_t n = 0;
        free_value(c, s);
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char **l = realloc(list, (n + 1) * sizeof *l);
            if (!l)
                break;
            list = l;
            list[n++] = strdup(tok);
        }
        free(copy);
        *(char ***)(void *)str_at(c, s) = list;
        *count_at(c, s) = n;
        return 0;
    }
    free(*str_at(c, s));
    *str_at(c, s) = strdup(text);
    return *str_at(c, s) ? 0 : cf_errf(err, errsz, CF_ENOMEM, "out of memory");
}

static const struct setting *find(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* ---- the YAML file ---- */

typedef struct reader {
    cf_config *cfg;
    const char *file;
    yaml_document_t doc;
    char *err;
    size_t errsz;
} reader;

static int walk(reader *R, yaml_node_t *n, const char *prefix);

static void where_of(const reader *R, const yaml_node_t *n, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s:%lu:%lu", R->file, (unsigned long)n->start_mark.line + 1,
             (unsigned long)n->start_mark.column + 1);
}

static void free_courts(cf_config *c)
{
    for (size_t i = 0; i < c->ncourts; i++) {
        cf_court_cfg *k = &c->courts[i];
        free(k->code);
        free(k->name);
        free(k->calendar);
        free(k->routes);
        for (size_t t = 0; t < k->nteams; t++)
            free(k->teams[t]);
        free(k->teams);
    }
    free(c->courts);
    c->courts = NULL;
    c->ncourts = 0;
}

/* A court code as case numbers carry it: a province's one-character abbreviation (a Han
 * character, three bytes of UTF-8) and four digits, as 豫0381. */
static int court_code_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (strlen(s) != 7 || u[0] < 0xE0 || u[0] > 0xEF || (u[1] & 0xC0) != 0x80 ||
        (u[2] & 0xC0) != 0x80)
        return 0;
    for (int i = 3; i < 7; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* One entry of `courts:`, a mapping of code, name, calendar, routes and teams, into `k`. */
static int read_court(reader *R, yaml_node_t *n, cf_court_cfg *k)
{
    char where[512];

    where_of(R, n, k->where, sizeof k->where);
    if (n->type != YAML_MAPPING_NODE)
        return cf_errf(R->err, R->errsz, CF_EINVAL,
                       "%s: courts: each court is a mapping of code, name, calendar, routes and "
                       "teams",
                       k->where);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(&R->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&R->doc, p->value);
        const char *name =
            key->type == YAML_SCALAR_NODE ? (const char *)key->data.scalar.value : "";
        char **field = strcmp(name, "code") == 0       ? &k->code
                       : strcmp(name, "name") == 0     ? &k->name
                       : strcmp(name, "calendar") == 0 ? &k->calendar
                       : strcmp(name, "routes") == 0   ? &k->routes
                                                       : NULL;
        where_of(R, v, where, sizeof where);
        if (strcmp(name, "teams") == 0) {
            size_t nitems;
            snprintf(k->teams_at, sizeof k->teams_at, "%s", where);
            if (v->type != YAML_SEQUENCE_NODE ||
                (nitems = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)) == 0)
                return cf_errf(R->err, R->errsz, CF_EINVAL,
                               "%s: courts: teams must list the court's teams, as [team_1, team_2]",
                               where);
            if (!(k->teams = calloc(nitems, sizeof *k->teams)))
                return cf_errf(R->err, R->errsz, CF_ENOMEM, "out of memory");
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *item = yaml_document_get_node(&R->doc, *it);
                if (item->type != YAML_SCALAR_NODE || !item->data.scalar.length) {
                    where_of(R, item, where, sizeof where);
                    return cf_errf(R->err, R->errsz, CF_EINVAL,
                                   "%s: courts: a team is a post's id, as team_1", where);
                }
                if (!(k->teams[k->nteams++] = strdup((const char *)item->data.scalar.value)))
                    return cf_errf(R->err, R->errsz, CF_ENOMEM, "out of memory");
            }
            continue;
        }
        if (!field)
            return cf_errf(R->err, R->errsz, CF_EINVAL,
                           "%s: courts: unknown setting '%s' of a court (code, name, calendar, "
                           "routes, teams)",
                           where, name);
        if (v->type != YAML_SCALAR_NODE || !v->data.scalar.length)
            return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: courts: %s must be a single value",
                           where, name);
        free(*field);
        if (!(*field = strdup((const char *)v->data.scalar.value)))
            return cf_errf(R->err, R->errsz, CF_ENOMEM, "out of memory");
        if (field == &k->code && !court_code_ok(k->code))
            return cf_errf(R->err, R->errsz, CF_EINVAL,
                           "%s: courts: code '%s' is not a court code as case numbers carry it "
                           "(a province and 4 digits, as 豫0381)",
                           where, k->code);
        if (field == &k->calendar)
            snprintf(k->calendar_at, sizeof k->calendar_at, "%s", where);
    }
    if (!k->code || !k->name)
        return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: courts: a court needs its %s", k->where,
                       !k->code ? "code (as 豫0381)" : "name (the heading of its documents)");
    return 0;
}

/* `courts:`, the list of the courts this installation serves. */
static int read_courts(reader *R, yaml_node_t *v)
{
    char where[512];
    size_t n;
    int rc;

    where_of(R, v, where, sizeof where);
    if (v->type != YAML_SEQUENCE_NODE ||
        (n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)) == 0)
        return cf_errf(R->err, R->errsz, CF_EINVAL,
                       "%s: courts must list the courts served, each with its code and name",
                       where);
    free_courts(R->cfg);
    if (!(R->cfg->courts = calloc(n, sizeof *R->cfg->courts)))
        return cf_errf(R->err, R->errsz, CF_ENOMEM, "out of memory");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        cf_court_cfg *k = &R->cfg->courts[R->cfg->ncourts++];
        if ((rc = read_court(R, yaml_document_get_node(&R->doc, *it), k)))
            return rc;
        for (size_t i = 0; i + 1 < R->cfg->ncourts; i++)
            if (strcmp(R->cfg->courts[i].code, k->code) == 0)
                return cf_errf(R->err, R->errsz, CF_EINVAL,
                               "%s: courts: court %s is listed twice (first at %s)", k->where,
                               k->code, R->cfg->courts[i].where);
    }
    return 0;
}

static int take(reader *R, const char *key, yaml_node_t *v)
{
    const struct setting *s = find(key);
    char where[512];

    where_of(R, v, where, sizeof where);
    if (strcmp(key, "courts") == 0)
        return read_courts(R, v);
    if (!s) {
        if (v->type == YAML_MAPPING_NODE)
            return walk(R, v, key);
        return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: unknown setting '%s'", where, key);
    }
    if (s->type == T_LIST) {
        size_t n = 0;
        char **list;
        if (v->type != YAML_SEQUENCE_NODE)
            return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: %s must be a list", where, key);
        free_value(R->cfg, s);
        list = calloc((size_t)(v->data.sequence.items.top - v->data.sequence.items.start) + 1,
                      sizeof *list);
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             list && it < v->data.sequence.items.top; it++) {
            yaml_node_t *item = yaml_document_get_node(&R->doc, *it);
            if (item->type != YAML_SCALAR_NODE)
                return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: %s must list file names", where,
                               key);
            list[n++] = strdup((const char *)item->data.scalar.value);
        }
        *(char ***)(void *)str_at(R->cfg, s) = list;
        *count_at(R->cfg, s) = n;
        return 0;
    }
    if (s->type == T_MAP) {
        size_t n = 0;
        cf_kv *kv;
        if (v->type != YAML_MAPPING_NODE)
            return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: %s must be a mapping", where, key);
        free_value(R->cfg, s);
        kv = calloc((size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start) + 1,
                    sizeof *kv);
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; kv && p < v->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(&R->doc, p->key);
            yaml_node_t *val = yaml_document_get_node(&R->doc, p->value);
            if (k->type != YAML_SCALAR_NODE || val->type != YAML_SCALAR_NODE) {
                *(cf_kv **)(void *)str_at(R->cfg, s) = kv;
                *count_at(R->cfg, s) = n;
                return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: %s holds name: value pairs", where,
                               key);
            }
            kv[n].key = strdup((const char *)k->data.scalar.value);
            kv[n].value = strdup((const char *)val->data.scalar.value);
            n++;
        }
        *(cf_kv **)(void *)str_at(R->cfg, s) = kv;
        *count_at(R->cfg, s) = n;
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return cf_errf(R->err, R->errsz, CF_EINVAL, "%s: %s must be a single value", where, key);
    return set_value(R->cfg, s, (const char *)v->data.scalar.value, where, R->err, R->errsz);
}

static int walk(reader *R, yaml_node_t *n, const char *prefix)
{
    if (n->type != YAML_MAPPING_NODE)
        return cf_errf(R->err, R->errsz, CF_EINVAL, "%s:%lu:%lu: expected settings as name: value",
                       R->file, (unsigned long)n->start_mark.line + 1,
                       (unsigned long)n->start_mark.column + 1);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&R->doc, p->key);
        char key[256];
        int rc;
        if (k->type != YAML_SCALAR_NODE)
            return cf_errf(R->err, R->errsz, CF_EINVAL, "%s:%lu:%lu: a setting's name must be text",
                           R->file, (unsigned long)k->start_mark.line + 1,
                           (unsigned long)k->start_mark.column + 1);
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "",
                 (const char *)k->data.scalar.value);
        if ((rc = take(R, key, yaml_document_get_node(&R->doc, p->value))))
            return rc;
    }
    return 0;
}

/* A configuration file is a page or two; anything far larger is the wrong file. */
#define CONFIG_MAX_BYTES (1024 * 1024)

static int read_file(cf_config *cfg, const char *path, char *err, size_t errsz)
{
    reader R = {.cfg = cfg, .file = path, .err = err, .errsz = errsz};
    cf_yamldoc_error ye;
    char why[256], *text;
    size_t len;
    yaml_node_t *root;
    int rc;

    if ((rc = cf_yamldoc_read_file(path, CONFIG_MAX_BYTES, &text, &len, why, sizeof why)))
        return cf_errf(err, errsz, rc, "%s: %s", path, why);
    rc = cf_yamldoc_load(&R.doc, text, len, &ye);
    free(text);
    if (rc == CF_ENOMEM)
        return cf_errf(err, errsz, rc, "%s: out of memory", path);
    if (rc)
        return cf_errf(err, errsz, rc, "%s:%d:%d: %s%s", path, ye.line, ye.col,
                       rc == CF_EPARSE ? "bad YAML: " : "", ye.problem);
    root = yaml_document_get_root_node(&R.doc);
    if (root)
        rc = walk(&R, root, "");
    yaml_document_delete(&R.doc);
    return rc;
}

int cf_config_load(cf_config *cfg, const char *path, char *err, size_t errsz)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].def &&
            (rc = set_value(cfg, &settings[i], settings[i].def, "default", err, errsz)))
            return rc;
    cfg->source = strdup(path ? path : "defaults");
    if (path && (rc = read_file(cfg, path, err, errsz)))
        return rc;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = settings[i].env ? getenv(settings[i].env) : NULL;
        if (v && *v && (rc = set_value(cfg, &settings[i], v, settings[i].env, err, errsz)))
            return rc;
    }
    /* With a `courts:` list the home court is its first: CASEFLOW_COURT naming another court
     * would have no effect, so it is refused rather than silently ignored (#16). */
    {
        const char *env = getenv("CASEFLOW_COURT");
        if (cfg->ncourts > 0 && env && *env && strcmp(env, cfg->courts[0].code) != 0)
            return cf_errf(err, errsz, CF_EINVAL,
                           "CASEFLOW_COURT=%s conflicts with the courts: list (%s), whose first "
                           "court, %s, is the home court: unset CASEFLOW_COURT, or put %s first "
                           "in the list",
                           env, cfg->courts[0].where, cfg->courts[0].code, env);
    }
    /* Without a `courts:` list the installation serves the one court of court.code. */
    if (cfg->ncourts == 0) {
        if (!(cfg->courts = calloc(1, sizeof *cfg->courts)))
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        cfg->ncourts = 1;
        cfg->courts[0].code = strdup(cfg->court_code);
        cfg->courts[0].name = strdup(cfg->doc_court_name);
        snprintf(cfg->courts[0].where, sizeof cfg->courts[0].where, "court.code");
        if (!cfg->courts[0].code || !cfg->courts[0].name)
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }
    /* Every data file of this process is found from here on (base/path.h). */
    if (cf_path_set_data_dir(cfg->data_dir) != 0)
        return cf_errf(err, errsz, CF_ERANGE, "data_dir: the path is too long");
    return 0;
}

void cf_config_free(cf_config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        free_value(cfg, &settings[i]);
    free_courts(cfg);
    free(cfg->source);
    memset(cfg, 0, sizeof *cfg);
}

const cf_court_cfg *cf_config_court(const cf_config *cfg, const char *code)
{
    for (size_t i = 0; code && i < cfg->ncourts; i++)
        if (strcmp(cfg->courts[i].code, code) == 0)
            return &cfg->courts[i];
    return NULL;
}

const char *cf_config_court_codes(const cf_config *cfg, char *buf, size_t n)
{
    size_t used = 0;

    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < cfg->ncourts && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", cfg->courts[i].code);
    return buf;
}

/* ---- printing without secrets ---- */

/* Appends `n` bytes of `s` to out[*len], keeping room for the terminating NUL. */
static void put(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= outsz)
        return;
    if (n > outsz - 1 - *len)
        n = outsz - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncmp(s + n - k, suffix, k) == 0;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The key=value form: `key = value` pairs separated by spaces, a value maybe 'quoted'. */
static void mask_keyvalue(const char *in, char *out, size_t outsz, size_t *len)
{
    const char *p = in;
    while (*p) {
        const char *key = p, *value;
        size_t keylen;
        if (is_space(*p) || *p == '=') {
            put(out, outsz, len, p++, 1);
            continue;
        }
        while (*p && *p != '=' && !is_space(*p))
            p++;
        keylen = (size_t)(p - key);
        while (is_space(*p))
            p++;
        if (*p != '=') {
            /* Not a pair (libpq would refuse the string): copy it as it is. */
            put(out, outsz, len, key, (size_t)(p - key));
            continue;
        }
        for (p++; is_space(*p); p++)
            ;
        value = p;
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            p += *p == '\'';
        } else {
            while (*p && !is_space(*p))
                p++;
        }
        put(out, outsz, len, key, (size_t)(value - key));
        if (ends_with(key, keylen, "password"))
            put(out, outsz, len, "****", 4);
        else
            put(out, outsz, len, value, (size_t)(p - value));
    }
}

/* The URI form: postgresql://user:password@host:port/db?password=...&sslpassword=... */
static void mask_uri(const char *in, char *out, size_t outsz, size_t *len)
{
    const char *auth = strstr(in, "://") + 3;
    size_t authlen = strcspn(auth, "/?#");
    const char *at = NULL, *p, *query;

    for (p = auth; p < auth + authlen; p++)
        if (*p == '@')
            at = p;
    if (at && memchr(auth, ':', (size_t)(at - auth))) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        put(out, outsz, len, in, (size_t)(colon + 1 - in));
        put(out, outsz, len, "****", 4);
        p = at;
    } else {
        p = in;
    }
    query = strchr(auth, '?');
    if (!query) {
        put(out, outsz, len, p, strlen(p));
        return;
    }
    put(out, outsz, len, p, (size_t)(query + 1 - p));
    for (p = query + 1; *p;) {
        size_t n = strcspn(p, "&#");
        const char *eq = memchr(p, '=', n);
        if (eq && ends_with(p, (size_t)(eq - p), "password")) {
            put(out, outsz, len, p, (size_t)(eq + 1 - p));
            put(out, outsz, len, "****", 4);
        } else {
            put(out, outsz, len, p, n);
        }
        p += n;
        if (*p)
            put(out, outsz, len, p++, 1);
    }
}

const char *cf_config_mask_conninfo(const char *conninfo, char *out, size_t outsz)
{
    size_t len = 0;

    if (outsz == 0)
        return out;
    out[0] = '\0';
    if (!conninfo)
        return out;
    if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0)
        mask_uri(conninfo, out, outsz, &len);
    else
        mask_keyvalue(conninfo, out, outsz, &len);
    return out;
}

int cf_config_is_secret(const char *key)
{
    size_t n = strlen(key);
    return ends_with(key, n, "password") || strstr(key, "secret") != NULL ||
           strcmp(key, "ssl.key.pem") == 0 || strcmp(key, "sasl.oauthbearer.config") == 0;
}

void cf_config_dump(const cf_config *cfg, void *file)
{
    FILE *out = file;
    cf_config *c = (cf_config *)cfg;

    fprintf(out, "# caseflow configuration (from %s and the environment)\n", cfg->source);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        fprintf(out, "# %s%s%s\n", s->help, s->env ? "; environment: " : "", s->env ? s->env : "");
        switch (s->type) {
        case T_INT: fprintf(out, "%s: %d\n", s->name, *int_at(c, s)); break;
        case T_LIST:
            fprintf(out, "%s:\n", s->name);
            for (size_t k = 0; k < *count_at(c, s); k++)
                fprintf(out, "  - %s\n", (*(char ***)(void *)str_at(c, s))[k]);
            break;
        case T_MAP:
            fprintf(out, "%s:\n", s->name);
            for (size_t k = 0; k < *count_at(c, s); k++) {
                const cf_kv *kv = &(*(cf_kv **)(void *)str_at(c, s))[k];
                fprintf(out, "  %s: %s\n", kv->key,
                        cf_config_is_secret(kv->key) ? "\"****\"" : kv->value);
            }
            break;
        default: {
            const char *v = *str_at(c, s);
            char masked[2048];
            /* A connection string may carry a password. */
            if (strncmp(s->name, "postgres", 8) == 0)
                v = cf_config_mask_conninfo(v, masked, sizeof masked);
            fprintf(out, "%s: \"%s\"\n", s->name, v ? v : "");
        }
        }
    }
    fprintf(out, "# the courts this installation serves (the first: of keys that name none)\n"
                 "courts:\n");
    for (size_t i = 0; i < cfg->ncourts; i++) {
        const cf_court_cfg *k = &cfg->courts[i];
        fprintf(out, "  - code: \"%s\"\n    name: \"%s\"\n", k->code, k->name);
        if (k->calendar)
            fprintf(out, "    calendar: \"%s\"\n", k->calendar);
        if (k->routes)
            fprintf(out, "    routes: \"%s\"\n", k->routes);
        for (size_t t = 0; t < k->nteams; t++)
            fprintf(out, "%s%s%s", t ? ", " : "    teams: [", k->teams[t],
                    t + 1 == k->nteams ? "]\n" : "");
    }
}
