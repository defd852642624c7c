/* `caseflow check FILE...`: loads workflow definitions and prints every problem found. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/path.h"
#include "commands.h"
#include "core/workflow.h"

int cf_cmd_check(int argc, char **argv)
{
    int failed = 0, files = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: caseflow check FILE...\n\n"
                   "Loads each workflow definition with its calendar and event schemas and\n"
                   "checks it whole. Prints every problem as file:line:column: message and\n"
                   "exits 1 when there is any, 0 when all files are sound. A FILE that the\n"
                   "current folder lacks is looked up in the data folder\n"
                   "(workflows/enforcement_case.yaml is the installed workflow).\n");
            return 0;
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
