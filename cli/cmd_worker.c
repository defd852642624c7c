/* `caseflow worker KIND`: the worker process of one kind of bulk work (workers/runtime.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "commands.h"
#include "workers/runtime.h"
#include "workers/worker.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: caseflow worker KIND [--config FILE]\n\n"
            "Consumes <prefix>.tasks.KIND, does each task through the kind's adapter (the\n"
            "simulator, or HTTP to worker.url) and produces its result to <prefix>.events.\n"
            "KIND: documents, service, network_query, six_checks, auction, archive.\n"
            "Configuration: FILE (or $CASEFLOW_CONFIG), then the environment: CASEFLOW_KAFKA,\n"
            "CASEFLOW_TOPIC_PREFIX, CASEFLOW_WORKER_CONCURRENCY, CASEFLOW_WORKER_RETRIES,\n"
            "CASEFLOW_WORKER_BACKOFF_MS, CASEFLOW_WORKER_ADAPTER (simulator|http),\n"
            "CASEFLOW_WORKER_URL, CASEFLOW_WORKER_SEED, CASEFLOW_SIM_LATENCY_MS,\n"
            "CASEFLOW_SIM_FOUND, CASEFLOW_SIM_NOTHING, CASEFLOW_SIM_ERROR, CASEFLOW_SIM_TIMEOUT;\n"
            "worker.kinds in the file overrides them per kind. SIGTERM or SIGINT: finish the\n"
            "tasks in progress (up to worker.grace_ms), commit, stop.\n");
}

int cf_cmd_worker(int argc, char **argv)
{
    const char *config = NULL, *kind = NULL;
    char err[2048], component[96];
    struct sigaction sa;
    cf_config cfg;
    int level, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (argv[i][0] != '-' && !kind) {
            kind = argv[i];
        } else {
            fprintf(stderr, "caseflow worker: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!kind) {
        usage(stderr);
        return 2;
    }
    if (!cf_worker_kind_find(kind)) {
        fprintf(stderr, "caseflow worker: no worker kind '%s' (see --help)\n", kind);
        return 2;
    }
    snprintf(component, sizeof component, "worker:%s", kind);
    cf_log_set_component(component);
    if (!config)
        config = getenv("CASEFLOW_CONFIG");
    if (cf_config_load(&cfg, config, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow worker: %s\n", err);
        cf_config_free(&cfg);
        return 1;
    }
    if (cf_log_parse_level(cfg.log_level, &level) == 0)
        cf_log_threshold = level;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = cf_worker_run(&cfg, kind, &stop_requested, err, sizeof err);
    if (rc != 0)
        cf_error("%s", err);
    cf_config_free(&cfg);
    return rc != 0;
}
