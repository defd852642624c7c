/* `caseflow doctor`: checks that the PostgreSQL and Kafka named by the environment answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bus.h"
#include "base/store.h"
#include "commands.h"

int cf_cmd_doctor(int argc, char **argv)
{
    char err[512];
    const char *pg = getenv("CASEFLOW_PG"), *kafka = getenv("CASEFLOW_KAFKA");
    int failed = 0, nbrokers = 0;
    PGconn *db;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: caseflow doctor\n\n"
               "Checks that PostgreSQL (CASEFLOW_PG) and Kafka (CASEFLOW_KAFKA) answer.\n"
               "Exits 0 when both do, 1 otherwise.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "caseflow doctor: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    db = cf_store_connect(pg, err, sizeof err);
    if (db) {
        printf("postgresql: ok (server %d)\n", PQserverVersion(db));
        PQfinish(db);
    } else {
        printf("postgresql: FAILED: %s\n", err);
        failed = 1;
    }
    if (cf_bus_ping(kafka, 5000, &nbrokers, err, sizeof err) == 0) {
        printf("kafka: ok (%d broker%s at %s)\n", nbrokers, nbrokers == 1 ? "" : "s", kafka);
    } else {
        printf("kafka: FAILED: %s\n", err);
        failed = 1;
    }
    return failed;
}
