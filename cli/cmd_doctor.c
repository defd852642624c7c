/* `caseflow doctor`: checks that the configuration loads, the data files are found, and the
 * PostgreSQL and Kafka it names answer. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bus.h"
#include "base/config.h"
#include "base/path.h"
#include "io/store.h"
#include "commands.h"
#include "engine/registry.h"
#include "session.h"

int cf_cmd_doctor(int argc, char **argv)
{
    char err[512], dir[PATH_MAX];
    int failed = 0, nbrokers = 0;
    cf_config cfg;
    cf_registry reg;
    PGconn *db;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: caseflow doctor\n\n"
               "Loads the configuration ($CASEFLOW_CONFIG, then the environment), prints the\n"
               "data folder that workflows and schemas are found in and checks that the\n"
               "workflows load, then that PostgreSQL (postgres, CASEFLOW_PG) and Kafka\n"
               "(kafka.bootstrap, CASEFLOW_KAFKA) answer. Exits 0 when all do, 1 otherwise.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "caseflow doctor: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (cf_config_load(&cfg, getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        printf("configuration: FAILED: %s\n", err);
        cf_config_free(&cfg);
        return 1;
    }
    printf("configuration: ok (%s)\n", cfg.source);
    printf("data: %s\n", cf_path_data_dir(dir, sizeof dir) ? dir : "(not found)");
    if (cf_cli_workflows(&cfg, &reg, "caseflow doctor") == 0) {
        printf("workflows: ok (%zu)\n", reg.n);
    } else {
        printf("workflows: FAILED (see above)\n");
        failed = 1;
    }
    /* Also after a failure: the registry keeps what it loaded before the bad file. */
    cf_registry_free(&reg);
    db = cf_store_connect(cfg.postgres, err, sizeof err);
    if (db) {
        printf("postgresql: ok (server %d)\n", PQserverVersion(db));
        PQfinish(db);
    } else {
        printf("postgresql: FAILED: %s\n", err);
        failed = 1;
    }
    if (cf_bus_ping(cfg.kafka, 5000, &nbrokers, err, sizeof err) == 0) {
        printf("kafka: ok (%d broker%s at %s)\n", nbrokers, nbrokers == 1 ? "" : "s", cfg.kafka);
    } else {
        printf("kafka: FAILED: %s\n", err);
        failed = 1;
    }
    cf_config_free(&cfg);
    return failed;
}
