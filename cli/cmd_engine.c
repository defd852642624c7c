/* `caseflow engine` and `caseflow db migrate`: the engine process and the schema's migrations. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/store.h"
#include "commands.h"
#include "engine/engine.h"
#include "engine/migrate.h"
#include "base/path.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Loads the configuration (file from --config or CASEFLOW_CONFIG) and sets the log level. */
static int load_config(const char *path, cf_config *cfg)
{
    char err[1024];
    int level;

    if (!path)
        path = getenv("CASEFLOW_CONFIG");
    if (cf_config_load(cfg, path, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow: %s\n", err);
        return 1;
    }
    if (cf_log_parse_level(cfg->log_level, &level) == 0)
        cf_log_threshold = level;
    cf_store_set_timeouts(cfg->pg_statement_timeout_ms, cfg->pg_idle_tx_timeout_ms);
    return 0;
}

int cf_cmd_engine(int argc, char **argv)
{
    const char *config = NULL;
    char err[2048], migrations[4096];
    char **paths;
    cf_config cfg;
    cf_registry reg = {0};
    struct sigaction sa;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(
                "usage: caseflow engine [--config FILE] [--print-config]\n\n"
                "Consumes caseflow.events and keeps every case's state in PostgreSQL.\n"
                "The database must be migrated first (caseflow db migrate, as the owner).\n"
                "--print-config prints the configuration, passwords masked.\n"
                "Configuration: FILE (or $CASEFLOW_CONFIG), then the environment:\n"
                "CASEFLOW_PG, CASEFLOW_KAFKA, CASEFLOW_CLOCK (real|simulated),\n"
                "CASEFLOW_CLOCK_START, CASEFLOW_GROUP, CASEFLOW_BATCH_SIZE, CASEFLOW_WORKFLOWS,\n"
                "CASEFLOW_LOG_LEVEL. SIGTERM or SIGINT: finish the batch, commit, flush, stop.\n");
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--print-config") == 0) {
            if (load_config(config, &cfg))
                return 1;
            cf_config_dump(&cfg, stdout);
            cf_config_free(&cfg);
            return 0;
        } else {
            fprintf(stderr, "caseflow engine: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    cf_log_set_component("engine");
    /* The engine allocates many small JSON values and, per batch, a few large buffers.  Release
     * builds link jemalloc (CMakeLists.txt), and this does nothing there.  With glibc's malloc
     * (the sanitizer builds), every large allocation first consolidates all fastbins
     * (malloc_consolidate took a tenth of the engine's time); without fastbins, tcache still
     * serves the small ones. */
    mallopt(M_MXFAST, 0);
    if (load_config(config, &cfg)) {
        cf_config_free(&cfg);
        return 1;
    }
    paths = calloc(cfg.nworkflows + 1, sizeof *paths);
    for (size_t i = 0; paths && i < cfg.nworkflows; i++) {
        char buf[4096];
        paths[i] = strdup(cf_path_find(cfg.workflows[i], buf, sizeof buf));
    }
    if (!paths || cf_registry_load(&reg, paths, cfg.nworkflows, err, sizeof err) != 0 ||
        cf_registry_courts(&reg, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow engine: %s\n", paths ? err : "out of memory");
        cf_registry_free(&reg);
        rc = 1;
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    cf_path_find("schemas/sql", migrations, sizeof migrations);
    rc = cf_engine_run(&cfg, &reg, migrations, &stop_requested, err, sizeof err);
    if (rc != 0)
        cf_error("%s", err);
    rc = rc != 0;
    cf_registry_free(&reg);
out:
    for (size_t i = 0; paths && i < cfg.nworkflows; i++)
        free(paths[i]);
    free(paths);
    cf_config_free(&cfg);
    return rc;
}

int cf_cmd_db(int argc, char **argv)
{
    char err[1024], migrations[4096], role[256];
    cf_config cfg;
    PGconn *db = NULL;
    int applied = 0, rc = 1;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: caseflow db migrate [--config FILE]\n"
               "       caseflow db rebuild [--case CASE_NO] [--verbose] [--config FILE]\n\n"
               "Applies the SQL migrations in schemas/sql that the database lacks, connected\n"
               "as the role that owns the tables (postgres_owner, CASEFLOW_PG_OWNER), and\n"
               "grants the engine's role (the user of postgres, CASEFLOW_PG) what it needs:\n"
               "INSERT and SELECT on the event log, never UPDATE, DELETE or TRUNCATE.\n"
               "The engine does not migrate: it stops at start on a schema that is behind.\n"
               "rebuild recomputes every case from its event log and reports what the\n"
               "database stores differently (caseflow db rebuild --help).\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "rebuild") == 0)
        return cf_cmd_db_rebuild(argc - 1, argv + 1);
    if (strcmp(argv[1], "migrate") != 0) {
        fprintf(stderr, "caseflow db: unknown action '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (load_config(argc > 3 && strcmp(argv[2], "--config") == 0 ? argv[3] : NULL, &cfg))
        goto out;
    if (!cfg.postgres_owner || !*cfg.postgres_owner) {
        fprintf(stderr, "caseflow db migrate: no owner's connection string: set postgres_owner "
                        "(CASEFLOW_PG_OWNER) to the role that owns the tables; the engine's role "
                        "(postgres, CASEFLOW_PG) only gets grants\n");
        goto out;
    }
    if (cf_store_conninfo_user(cfg.postgres, role, sizeof role) != 0) {
        fprintf(stderr, "caseflow db migrate: the engine's connection string (postgres): %s\n",
                role);
        goto out;
    }
    /* A migration may rewrite a large table: no statement timeout. */
    cf_store_set_timeouts(0, cfg.pg_idle_tx_timeout_ms);
    db = cf_store_connect(cfg.postgres_owner, err, sizeof err);
    if (!db) {
        fprintf(stderr, "caseflow db migrate: %s\n", err);
        goto out;
    }
    rc = cf_migrate(db, cf_path_find("schemas/sql", migrations, sizeof migrations), role, &applied,
                    err, sizeof err);
    if (rc)
        fprintf(stderr, "caseflow db migrate: %s\n", err);
    else
        printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
    rc = rc != 0;
out:
    if (db)
        PQfinish(db);
    cf_config_free(&cfg);
    return rc;
}
