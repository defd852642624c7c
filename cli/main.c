/*
 * The `caseflow` command: one binary whose subcommands run the engine, the
 * workers and the tools for operators and staff.  This file only dispatches.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#ifndef CF_VERSION
#define CF_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out, "usage: caseflow [--help] [--version] COMMAND [ARGS...]\n\n"
                 "caseflow runs the case workflows of a court's enforcement command center.\n\n"
                 "Commands:\n");
    for (const struct cf_command *c = cf_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'caseflow COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("caseflow %s\n", CF_VERSION);
        return 0;
    }
    for (const struct cf_command *c = cf_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "caseflow: unknown command '%s'\n", argv[1]);
    fprintf(stderr, "Run 'caseflow --help' for the list of commands.\n");
    return 2;
}
