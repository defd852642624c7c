/* Loading the configuration and connecting to PostgreSQL for a command, with its errors; and
 * the case numbers users type. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/store.h"
#include "core/caseno.h"

PGconn *cf_cli_connect(cf_config *cfg, const char *who)
{
    char err[1024];
    PGconn *db;

    if (cf_config_load(cfg, getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        return NULL;
    }
    db = cf_store_connect(cfg->postgres, err, sizeof err);
    if (!db)
        fprintf(stderr, "%s: %s\n", who, err);
    return db;
}

const char *cf_cli_case_no(const char *typed, char *buf, size_t n, const char *who)
{
    if (cf_caseno_normalize(typed, buf, n) != 0) {
        fprintf(stderr, "%s: '%s' is not a case number (not UTF-8, or too long)\n", who, typed);
        return NULL;
    }
    return buf;
}
