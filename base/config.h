/*
 * Configuration: one YAML file plus environment overrides, described by one
 * table of name, type, default and bounds (as PgBouncer's and Redis's are).
 * librdkafka settings under `kafka.settings` pass through unchanged, and so
 * does the PostgreSQL connection string, so that TLS or SASL to a production
 * cluster needs no code.
 */
#ifndef CF_CONFIG_H
#define CF_CONFIG_H

#include <stddef.h>

#include "err.h"

typedef struct cf_kv {
    char *key, *value;
} cf_kv;

/*
 * One court the installation serves: an entry of the `courts:` list, or, without that list, the
 * one court of court.code, document.court_name and service.routes.  NULL members fall back to
 * the installation's settings (the workflows' own calendar and teams, service.routes).
 */
typedef struct cf_court_cfg {
    char *code;     /* 豫0381: the court code (法院代字) its case numbers carry */
    char *name;     /* the heading of its documents */
    char *calendar; /* its working-day calendar file, or NULL */
    char *routes;   /* its delivery route table, or NULL */
    char **teams;   /* the teams its ordinary cases are dealt to, in order, or NULL */
    size_t nteams;
    /* Where the entry, its calendar and its teams were written ("file:line:column"), for the
     * messages of whoever checks them further (engine/registry.c). */
    char where[512], calendar_at[512], teams_at[512];
} cf_court_cfg;

typedef struct cf_config {
    char *postgres;       /* postgres          CASEFLOW_PG: the engine's, workers' and CLI's role */
    char *postgres_owner; /* postgres_owner    CASEFLOW_PG_OWNER: the role that owns the tables */
    int pg_statement_timeout_ms; /* postgres_statement_timeout_ms CASEFLOW_PG_STATEMENT_TIMEOUT_MS
                                  */
    int pg_idle_tx_timeout_ms;   /* postgres_idle_tx_timeout_ms   CASEFLOW_PG_IDLE_TX_TIMEOUT_MS */
    char *kafka;                 /* kafka.bootstrap   CASEFLOW_KAFKA */
    char *topic_prefix;    /* kafka.topic_prefix CASEFLOW_TOPIC_PREFIX: <prefix>.events, ... */
    cf_kv *kafka_settings; /* kafka.settings: librdkafka properties, passed through */
    size_t nkafka_settings;
    char *group;      /* engine.group      CASEFLOW_GROUP */
    char *instance;   /* engine.instance   CASEFLOW_INSTANCE: static group membership id */
    int partitions;   /* engine.partitions: of caseflow.events when caseflow creates it */
    int batch_size;   /* engine.batch_size: events per transaction at most */
    int batch_ms;     /* engine.batch_ms: how long a batch waits to fill */
    int cache_cases;  /* engine.cache_cases: case states kept in memory */
    char *clock;      /* engine.clock      CASEFLOW_CLOCK: real | simulated */
    char *start;      /* engine.start: the simulated clock's first instant */
    char **workflows; /* workflows: definition files */
    size_t nworkflows;
    char *data_dir;      /* data_dir          CASEFLOW_DATA_DIR: where data files are found */
    char *documents_dir; /* documents_dir     CASEFLOW_DOCUMENTS */
    char *log_level;     /* log_level         CASEFLOW_LOG_LEVEL */
    /* Worker processes (caseflow worker KIND); workers/runtime.h reads them per kind. */
    int worker_concurrency; /* worker.concurrency  CASEFLOW_WORKER_CONCURRENCY */
    int worker_retries;     /* worker.retries      CASEFLOW_WORKER_RETRIES: tries after the first */
    int worker_backoff_ms;  /* worker.backoff_ms   CASEFLOW_WORKER_BACKOFF_MS */
    int worker_backoff_max_ms; /* worker.backoff_max_ms */
    int worker_grace_ms; /* worker.grace_ms     CASEFLOW_WORKER_GRACE_MS: a stopping worker waits */
    char *worker_adapter;      /* worker.adapter      CASEFLOW_WORKER_ADAPTER: simulator | http */
    char *worker_url;          /* worker.url          CASEFLOW_WORKER_URL */
    int worker_timeout_ms;     /* worker.timeout_ms   CASEFLOW_WORKER_TIMEOUT_MS: one HTTP call */
    int worker_seed;           /* worker.seed         CASEFLOW_WORKER_SEED: the simulators' seed */
    int worker_sim_latency_ms; /* worker.sim.latency_ms CASEFLOW_SIM_LATENCY_MS */
    int worker_sim_jitter_ms;  /* worker.sim.jitter_ms  CASEFLOW_SIM_JITTER_MS */
    int worker_sim_found;      /* worker.sim.found    CASEFLOW_SIM_FOUND: percent */
    int worker_sim_nothing;    /* worker.sim.nothing  CASEFLOW_SIM_NOTHING: percent */
    int worker_sim_error;      /* worker.sim.error    CASEFLOW_SIM_ERROR: percent */
    int worker_sim_timeout;    /* worker.sim.timeout  CASEFLOW_SIM_TIMEOUT: percent */
    cf_kv *worker_kinds;       /* worker.kinds: "<kind>.<setting>: value" overrides per kind */
    size_t nworker_kinds;
    /* The court's documents (workers/kind_documents.c, from workflows/templates/). */
    char *court_code;       /* court.code          CASEFLOW_COURT: 豫0381, in case numbers */
    char *doc_templates;    /* document.templates  CASEFLOW_TEMPLATES: the templates' folder */
    char *service_routes;   /* service.routes  CASEFLOW_ROUTES: the delivery route table */
    char *doc_court_name;   /* document.court_name: the heading of every document */
    char *doc_account_name; /* document.account_name: the case payment account (执行款专户) */
    char *doc_account_bank; /* document.account_bank */
    char *doc_account_number; /* document.account_number */
    char *doc_account_remark; /* document.account_remark: what a payer writes, with ${fields} */
    char *doc_phone;          /* document.phone: the contact phone printed on the documents */
    /* courts: the courts this installation serves; the first is the home court of the keys that
     * name none (payment references).  Never empty after cf_config_load. */
    cf_court_cfg *courts;
    size_t ncourts;
    /* The anchor of the hash chains (caseflow anchor, caseflow replay --anchor). */
    char *anchor_key; /* anchor.key  CASEFLOW_ANCHOR_KEY: the Ed25519 private key that signs */
    char *anchor_pub; /* anchor.pub  CASEFLOW_ANCHOR_PUB: the public key that checks */
    /* The workplace API (caseflow serve, server/). */
    char *server_listen;       /* server.listen       CASEFLOW_LISTEN: the address to bind */
    int server_port;           /* server.port         CASEFLOW_PORT (0: any free port) */
    int server_body_limit;     /* server.body_limit   CASEFLOW_BODY_LIMIT: bytes of a request */
    int server_session_idle_s; /* server.session_idle_s CASEFLOW_SESSION_IDLE */
    int server_session_max_s;  /* server.session_max_s */
    char *server_tls_cert;     /* server.tls_cert     CASEFLOW_TLS_CERT: PEM file, "" no TLS */
    char *server_tls_key;      /* server.tls_key      CASEFLOW_TLS_KEY */
    int server_db_connections; /* server.db_connections */
    int server_connections;    /* server.connections: open HTTP connections at most */
    int server_lock_after;     /* server.lock_after   CASEFLOW_LOCK_AFTER: failed logins */
    int server_lock_s;         /* server.lock_s       CASEFLOW_LOCK_SECONDS */
    int server_wait_ms;        /* server.wait_ms      CASEFLOW_SERVER_WAIT_MS: for the engine */
    char *server_web;          /* server.web          CASEFLOW_WEB: the web workplace's folder */
    int server_stream_s;       /* server.stream_s: one event stream's life, in seconds */
    char *source;              /* where the configuration came from, for messages */
} cf_config;

/*
 * Fills `cfg` with the defaults, then the file at `path` (NULL: no file), then
 * the environment.  Relative paths of data files (workflows, document.templates) are found
 * by cf_path_find (the current folder, then the data folder: data_dir, which this function
 * hands to cf_path_set_data_dir), documents_dir from the current folder.  Returns 0, or
 * CF_EINVAL/CF_EIO/CF_EPARSE with "file:line:column: key: what is wrong" in `err`.  Free with
 * cf_config_free, also after an error.
 */
int cf_config_load(cf_config *cfg, const char *path, char *err, size_t errsz) CF_MUST_CHECK;

void cf_config_free(cf_config *cfg);

/* The court of `code` among cfg->courts, or NULL when the installation does not serve it. */
const cf_court_cfg *cf_config_court(const cf_config *cfg, const char *code);

/* Writes the codes of cfg->courts, comma-separated, into `buf` (cut when too small); returns buf.
 */
const char *cf_config_court_codes(const cf_config *cfg, char *buf, size_t n);

/* Prints every setting with its value, secrets masked (see below), as YAML with comments. */
void cf_config_dump(const cf_config *cfg, void *file);

/*
 * Writes `conninfo` (a postgresql:// URI or a key=value string) into `out` with every password
 * replaced by "****": the one after the user name in a URI, and the values of `password` and
 * `sslpassword` (in a URI's query or as key=value).  Anything else is copied unchanged.  Always
 * NUL-terminated (cut when `outsz` is too small); returns `out`.  NULL gives "".
 */
const char *cf_config_mask_conninfo(const char *conninfo, char *out, size_t outsz);

/*
 * Returns 1 when a librdkafka setting named `key` holds a secret that must never be printed:
 * names ending in "password" (sasl.password, ssl.key.password, ssl.keystore.password) or
 * "secret", or containing "secret" (sasl.oauthbearer.client.secret), a private key in PEM
 * (ssl.key.pem) and the OAUTHBEARER configuration, which may carry credentials.
 */
int cf_config_is_secret(const char *key);

#endif
