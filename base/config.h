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

typedef struct cf_config {
    char *postgres;        /* postgres          CASEFLOW_PG */
    char *kafka;           /* kafka.bootstrap   CASEFLOW_KAFKA */
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
    char *documents_dir; /* documents_dir     CASEFLOW_DOCUMENTS */
    char *log_level;     /* log_level         CASEFLOW_LOG_LEVEL */
    char *source;        /* where the configuration came from, for messages */
} cf_config;

/*
 * Fills `cfg` with the defaults, then the file at `path` (NULL: no file), then
 * the environment.  Relative paths (workflows, documents_dir) are relative to
 * the current folder.  Returns 0, or CF_EINVAL/CF_EIO/CF_EPARSE with "file:line:column: key: what
 * is wrong" in `err`.  Free with cf_config_free, also after an error.
 */
int cf_config_load(cf_config *cfg, const char *path, char *err, size_t errsz) CF_MUST_CHECK;

void cf_config_free(cf_config *cfg);

/* Prints every setting with its value and where it came from ("caseflow config"). */
void cf_config_dump(const cf_config *cfg, void *file);

#endif
