/* `caseflow serve`: runs the workplace API (server/) until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "commands.h"
#include "base/path.h"
#include "io/store.h"
#include "server/server.h"
#include "session.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* One line on stdout with the address, for the scripts and tests that start a server on port 0. */
static void print_address(const char *address, int port)
{
    printf("caseflow serve: listening on %s:%d\n", address, port);
    fflush(stdout);
}

int cf_cmd_serve(int argc, char **argv)
{
    const char *config = NULL;
    char err[2048], openapi[4096], web[4096];
    cf_config cfg;
    cf_registry reg;
    struct sigaction sa;
    int rc, level;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(
                "usage: caseflow serve [--config FILE]\n\n"
                "Runs the workplace API: JSON under /api/v1/ (server/openapi.json, docs/api.md),\n"
                "/metrics, /healthz and /readyz, and the web workplace under /\n"
                "(docs/workplace.md; its folder is server.web or CASEFLOW_WEB, by default web/).\n"
                "Accounts come from `caseflow users` and `caseflow tokens`.  Configuration:\n"
                "FILE (or $CASEFLOW_CONFIG), then the\n"
                "environment: CASEFLOW_LISTEN (default 127.0.0.1), CASEFLOW_PORT (8080; 0 picks\n"
                "a free one), CASEFLOW_BODY_LIMIT, CASEFLOW_SESSION_IDLE, CASEFLOW_TLS_CERT and\n"
                "CASEFLOW_TLS_KEY, CASEFLOW_LOCK_AFTER, CASEFLOW_LOCK_SECONDS, CASEFLOW_PG,\n"
                "CASEFLOW_KAFKA, CASEFLOW_TOPIC_PREFIX, CASEFLOW_WORKFLOWS.  Prints the address\n"
                "it listens on.  SIGTERM or SIGINT: stop taking connections, answer the\n"
                "requests at hand, stop.\n");
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr, "caseflow serve: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    cf_log_set_component("serve");
    if (cf_config_load(&cfg, config ? config : getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "caseflow serve: %s\n", err);
        cf_config_free(&cfg);
        return 1;
    }
    if (cf_log_parse_level(cfg.log_level, &level) == 0)
        cf_log_threshold = level;
    /* The configured statement timeout bounds a request's wait for PostgreSQL, as the engine's:
     * a server cut off from the database answers 503 after it, not at io/store's default. */
    cf_store_set_timeouts(cfg.pg_statement_timeout_ms, cfg.pg_idle_tx_timeout_ms);
    if (cf_cli_workflows(&cfg, &reg, "caseflow serve") != 0) {
        cf_config_free(&cfg);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A client that goes away mid-answer must not end the process. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    rc = cf_server_run(&cfg, &reg, cf_path_find("server/openapi.json", openapi, sizeof openapi),
                       cf_path_find(cfg.server_web, web, sizeof web), print_address,
                       &stop_requested, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "caseflow serve: %s\n", err);
    cf_registry_free(&reg);
    cf_config_free(&cfg);
    return rc != 0;
}
