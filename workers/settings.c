/*
 * A worker kind's settings: the worker.* rows of the configuration table, with
 * the overrides that worker.kinds holds for the kind ("six_checks.sim.error:
 * 100") applied, each checked against its bounds.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/runtime.h"

#define SET(f) offsetof(cf_worker_settings, f)

static const struct override {
    const char *name;
    size_t offset;
    int min, max;
} overrides[] = {
    {"concurrency", SET(concurrency), 1, 256},
    {"retries", SET(retries), 0, 100},
    {"backoff_ms", SET(backoff_ms), 0, 600000},
    {"backoff_max_ms", SET(backoff_max_ms), 0, 3600000},
    {"grace_ms", SET(grace_ms), 0, 600000},
    {"timeout_ms", SET(adapter.timeout_ms), 1, 600000},
    {"sim.latency_ms", SET(adapter.latency_ms), 0, 600000},
    {"sim.jitter_ms", SET(adapter.jitter_ms), 0, 600000},
    {"sim.found", SET(adapter.weights[CF_SIM_FOUND]), 0, 100},
    {"sim.nothing", SET(adapter.weights[CF_SIM_NOTHING]), 0, 100},
    {"sim.error", SET(adapter.weights[CF_SIM_ERROR]), 0, 100},
    {"sim.timeout", SET(adapter.weights[CF_SIM_TIMEOUT]), 0, 100},
};

static int apply_override(cf_worker_settings *s, const char *name, const char *value,
                          const char *key, char *err, size_t errsz)
{
    char *end;
    long v;

    if (strcmp(name, "adapter") == 0) {
        if (strcmp(value, "simulator") != 0 && strcmp(value, "http") != 0)
            return cf_errf(err, errsz, CF_EINVAL,
                           "worker.kinds: %s must be simulator or http, not '%s'", key, value);
        s->adapter.type = strcmp(value, "http") == 0 ? CF_ADAPTER_HTTP : CF_ADAPTER_SIMULATOR;
        return 0;
    }
    if (strcmp(name, "url") == 0) {
        snprintf(s->adapter_url, sizeof s->adapter_url, "%s", value);
        return 0;
    }
    if (strcmp(name, "seed") == 0) {
        unsigned long long u = strtoull(value, &end, 10);
        if (*end || end == value)
            return cf_errf(err, errsz, CF_EINVAL,
                           "worker.kinds: %s must be a whole number, not '%s'", key, value);
        s->adapter.seed = u;
        return 0;
    }
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
        if (strcmp(overrides[i].name, name) != 0)
            continue;
        v = strtol(value, &end, 10);
        if (*end || end == value || v < overrides[i].min || v > overrides[i].max)
            return cf_errf(err, errsz, CF_EINVAL,
                           "worker.kinds: %s must be a whole number from %d to %d, not '%s'", key,
                           overrides[i].min, overrides[i].max, value);
        *(int *)(void *)((char *)s + overrides[i].offset) = (int)v;
        return 0;
    }
    return cf_errf(err, errsz, CF_EINVAL, "worker.kinds: unknown setting '%s' in '%s'", name, key);
}

int cf_worker_settings_get(const cf_config *cfg, const char *kind, cf_worker_settings *s, char *err,
                           size_t errsz)
{
    size_t klen = strlen(kind);

    memset(s, 0, sizeof *s);
    s->concurrency = cfg->worker_concurrency;
    s->retries = cfg->worker_retries;
    s->backoff_ms = cfg->worker_backoff_ms;
    s->backoff_max_ms = cfg->worker_backoff_max_ms;
    s->grace_ms = cfg->worker_grace_ms;
    s->adapter.type = cfg->worker_adapter && strcmp(cfg->worker_adapter, "http") == 0
                          ? CF_ADAPTER_HTTP
                          : CF_ADAPTER_SIMULATOR;
    snprintf(s->adapter_url, sizeof s->adapter_url, "%s", cfg->worker_url ? cfg->worker_url : "");
    s->adapter.timeout_ms = cfg->worker_timeout_ms;
    s->adapter.seed = (unsigned long long)cfg->worker_seed;
    s->adapter.latency_ms = cfg->worker_sim_latency_ms;
    s->adapter.jitter_ms = cfg->worker_sim_jitter_ms;
    s->adapter.weights[CF_SIM_FOUND] = cfg->worker_sim_found;
    s->adapter.weights[CF_SIM_NOTHING] = cfg->worker_sim_nothing;
    s->adapter.weights[CF_SIM_ERROR] = cfg->worker_sim_error;
    s->adapter.weights[CF_SIM_TIMEOUT] = cfg->worker_sim_timeout;
    for (size_t i = 0; i < cfg->nworker_kinds; i++) {
        const char *key = cfg->worker_kinds[i].key, *dot = strchr(key, '.');
        cf_worker_settings scratch;
        int rc;
        if (!dot || dot == key || !dot[1])
            return cf_errf(err, errsz, CF_EINVAL,
                           "worker.kinds: '%s' must be <kind>.<setting>, e.g. six_checks.sim.error",
                           key);
        /* Entries of other kinds are checked too, so that a mistyped setting is found at once. */
        scratch = *s;
        rc = apply_override((size_t)(dot - key) == klen && strncmp(key, kind, klen) == 0 ? s
                                                                                         : &scratch,
                            dot + 1, cfg->worker_kinds[i].value, key, err, errsz);
        if (rc)
            return rc;
    }
    s->adapter.name = kind;
    s->adapter.url = s->adapter_url;
    return 0;
}
