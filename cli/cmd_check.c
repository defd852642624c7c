/* `caseflow check FILE...`: loads workflow definitions and prints every problem found; with
 * --config, a configuration file with the courts it serves. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/path.h"
#include "commands.h"
#include "core/workflow.h"
#include "session.h"

/* Loads configuration `path` (and the environment), its workflows and its courts' calendars and
 * teams; returns 0 when all are sound, else 1 after printing what is wrong. */
static int check_config(const char *path)
{
    char err[2048];
    cf_config cfg;
    cf_registry reg;
    int rc = 1;

    if (cf_config_load(&cfg, path, err, sizeof err) != 0) {
        printf("%s\n", err);
    } else if (cf_cli_workflows(&cfg, &reg, "caseflow check") == 0) {
        fprintf(stderr, "%s: ok (%zu workflows, %zu courts: %s)\n", path, reg.n, cfg.ncourts,
                cf_config_court_codes(&cfg, err, sizeof err));
        cf_registry_free(&reg);
        rc = 0;
    }
    cf_config_free(&cfg);
    return rc;
}

int cf_cmd_check(int argc, char **argv)
{
    int failed = 0, files = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: caseflow check FILE...\n"
                   "       caseflow check --config CONFIG\n\n"
                   "Loads each workflow definition with its calendar and event schemas and\n"
                   "checks it whole. Prints every problem as file:line:column: message and\n"
                   "exits 1 when there is any, 0 when all files are sound. A FILE that the\n"
                   "current folder lacks is looked up in the data folder\n"
                   "(workflows/enforcement_case.yaml is the installed workflow).\n"
                   "With --config, checks a configuration file (with the environment) instead:\n"
                   "its settings, the workflows it names, and each of its courts' calendar and\n"
                   "teams.\n");
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 2 != argc) {
                fprintf(stderr, "usage: caseflow check --config CONFIG\n");
                return 2;
            }
            return check_config(argv[i + 1]);
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "caseflow check: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        char path[PATH_MAX];
        const char *file = cf_path_find(argv[i], path, sizeof path);
        cf_diags d;
        cf_workflow *wf;
        cf_diags_init(&d);
        wf = cf_workflow_load(file, &d);
        for (size_t k = 0; k < d.count; k++)
            if (d.lines[k])
                fprintf(stdout, "%s\n", d.lines[k]);
        if (!wf) {
            failed = 1;
            if (d.count == 0)
                printf("%s:1:1: could not be loaded\n", file);
        } else {
            fprintf(stderr, "%s: ok (workflow %s version %d, %zu states)\n", file, wf->name,
                    wf->version, wf->nstates);
        }
        cf_workflow_free(wf);
        cf_diags_free(&d);
        files++;
    }
    if (files == 0) {
        fprintf(stderr, "usage: caseflow check FILE...\n");
        return 2;
    }
    return failed;
}
