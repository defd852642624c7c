/* Loading the configuration, connecting to PostgreSQL and finding the court's time zone for a
 * command, with its errors; and the case numbers users type. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "base/path.h"
#include "core/caseno.h"
#include "engine/registry.h"

PGconn *cf_cli_connect(cf_config *cfg, const char *who)
{
    char err[1024];
    PGconn *db;

    if (cf_config_load(cfg, getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        return NULL;
    }
    cf_store_set_timeouts(cfg->pg_statement_timeout_ms, cfg->pg_idle_tx_timeout_ms);
    db = cf_store_connect(cfg->postgres, err, sizeof err);
    if (!db)
        fprintf(stderr, "%s: %s\n", who, err);
    return db;
}

void cf_cli_disconnect(PGconn *db, cf_config *cfg)
{
    if (db)
        PQfinish(db);
    cf_config_free(cfg);
}

int cf_cli_workflows(const cf_config *cfg, cf_registry *reg, const char *who)
{
    char err[2048];
    char **paths = calloc(cfg->nworkflows + 1, sizeof *paths);
    int rc = 1;

    memset(reg, 0, sizeof *reg);
    for (size_t i = 0; paths && i < cfg->nworkflows; i++) {
        char buf[4096];
        paths[i] = strdup(cf_path_find(cfg->workflows[i], buf, sizeof buf));
    }
    if (!paths)
        fprintf(stderr, "%s: out of memory\n", who);
    else if (cf_registry_load(reg, paths, cfg->nworkflows, err, sizeof err) != 0)
        fprintf(stderr, "%s: loading the workflows: %s\n", who, err);
    else if (cf_registry_courts(reg, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        cf_registry_free(reg);
    } else
        rc = 0;
    for (size_t i = 0; paths && i < cfg->nworkflows; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

int cf_cli_post_declared(const cf_registry *reg, const char *post, char *known, size_t n)
{
    size_t used = 0;
    int found = 0;

    known[0] = '\0';
    for (size_t w = 0; w < reg->n; w++)
        for (size_t p = 0; p < reg->wf[w]->nposts; p++) {
            const char *id = reg->wf[w]->posts[p].id;
            if (strcmp(id, post) == 0)
                found = 1;
            if (used < n && !strstr(known, id))
                used += (size_t)snprintf(known + used, n - used, "%s%s", used ? ", " : "", id);
        }
    return found;
}

const char *cf_cli_case_no(const char *typed, char *buf, size_t n, const char *who)
{
    if (cf_caseno_normalize(typed, buf, n) != 0) {
        fprintf(stderr, "%s: '%s' is not a case number (not UTF-8, or too long)\n", who, typed);
        return NULL;
    }
    return buf;
}

int cf_cli_utc_offset(const cf_config *cfg, const char *who, int *offset)
{
    char err[2048];
    char **paths = calloc(cfg->nworkflows + 1, sizeof *paths);
    cf_registry reg;
    int rc = 1;

    memset(&reg, 0, sizeof reg);
    for (size_t i = 0; paths && i < cfg->nworkflows; i++) {
        char buf[4096];
        paths[i] = strdup(cf_path_find(cfg->workflows[i], buf, sizeof buf));
    }
    if (!paths)
        fprintf(stderr, "%s: out of memory\n", who);
    else if (cf_registry_load(&reg, paths, cfg->nworkflows, err, sizeof err) != 0)
        fprintf(stderr, "%s: loading the workflows for the court's time zone: %s\n", who, err);
    else if (reg.n == 0)
        fprintf(stderr, "%s: no workflows are configured: the court's time zone is unknown\n", who);
    else {
        *offset = cf_calendar_utc_offset(reg.wf[0]->calendar);
        rc = 0;
    }
    cf_registry_free(&reg);
    for (size_t i = 0; paths && i < cfg->nworkflows; i++)
        free(paths[i]);
    free(paths);
    return rc;
}
