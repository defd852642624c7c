/* `caseflow db rebuild`: every case recomputed from its event log alone and compared with what
 * the database stores (engine/rebuild.h); this file parses and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "io/store.h"
#include "commands.h"
#include "engine/rebuild.h"
#include "session.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: caseflow db rebuild [--case CASE_NO] [--verbose] [--config FILE]\n\n"
                 "Recomputes every case's state, timers and open tasks from its event log alone,\n"
                 "with the workflow version it was filed under, and compares them with what the\n"
                 "database stores: the hash chain, each event's states and actions, the final\n"
                 "state, the case row, the timers and the open tasks.  Reads one snapshot and\n"
                 "writes nothing; engines may run meanwhile.  Prints one line per difference,\n"
                 "'CASE_NO: what', then a summary.  A timer that has fired and whose event is\n"
                 "not applied yet is counted, not reported.\n"
                 "  --case CASE_NO  only this case\n"
                 "  --verbose       also name each case that agrees\n"
                 "Configuration: FILE (or $CASEFLOW_CONFIG), then the environment (CASEFLOW_PG).\n"
                 "Exit status: 0 every case agrees, 1 a case differs or could not be checked (or\n"
                 "an error), 2 bad usage.\n");
}

typedef struct printer {
    int verbose;
} printer;

static int print_case(const cf_rebuild_case *c, void *arg)
{
    const printer *p = arg;
    const char *line = c->report, *end;

    if (!*line && p->verbose)
        printf("%s: ok (%zu events)\n", c->case_no, c->events);
    for (; *line; line = end + (*end == '\n')) {
        end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        printf("%s: %.*s\n", c->case_no, (int)(end - line), line);
    }
    return 0;
}

int cf_cmd_db_rebuild(int argc, char **argv)
{
    static const struct option longopts[] = {{"case", required_argument, NULL, 'c'},
                                             {"config", required_argument, NULL, 'f'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *only = NULL, *config = NULL;
    char err[2048], caseno[512];
    printer p = {0};
    cf_rebuild_totals tot;
    cf_registry reg;
    cf_config cfg;
    PGconn *db = NULL;
    int c, rc = 1;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': only = optarg; break;
        case 'f': config = optarg; break;
        case 'v': p.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr,
                    "caseflow db rebuild: unknown option or missing value '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "caseflow db rebuild: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (only && !(only = cf_cli_case_no(only, caseno, sizeof caseno, "caseflow db rebuild")))
        return 2;
    memset(&reg, 0, sizeof reg);
    if (cf_config_load(&cfg, config ? config : getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "caseflow db rebuild: %s\n", err);
        goto out;
    }
    if (cf_cli_workflows(&cfg, &reg, "caseflow db rebuild") != 0)
        goto out;
    if (!(db = cf_store_connect(cfg.postgres, err, sizeof err))) {
        fprintf(stderr, "caseflow db rebuild: %s\n", err);
        goto out;
    }
    rc = cf_rebuild_check(db, &reg, only, print_case, &p, &tot, err, sizeof err);
    if (rc != 0 && rc != CF_ESTATE) {
        fprintf(stderr, "caseflow db rebuild: %s\n", err);
        rc = 1;
        goto out;
    }
    printf("db rebuild: %zu case%s, %zu events recomputed from the log: ", tot.cases,
           tot.cases == 1 ? "" : "s", tot.events);
    if (rc == 0)
        printf("all agree with the database");
    else
        printf("%zu differ, %zu not checked", tot.differ, tot.unchecked);
    if (tot.in_flight)
        printf(" (%zu timer%s fired, %s event%s not applied yet)", tot.in_flight,
               tot.in_flight == 1 ? "" : "s", tot.in_flight == 1 ? "its" : "their",
               tot.in_flight == 1 ? "" : "s");
    printf("\n");
    rc = rc != 0;
out:
    if (db)
        PQfinish(db);
    cf_registry_free(&reg);
    cf_config_free(&cfg);
    return rc;
}
