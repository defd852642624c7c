/* Loading the configuration and connecting to PostgreSQL for a command, with its errors. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/store.h"

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
