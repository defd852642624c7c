/* The table of the `caseflow` subcommands; add a command here and in its own cmd_<name>.c. */
#include "commands.h"

#include <stddef.h>

const struct cf_command cf_commands[] = {
    {"check", "check workflow definitions and print every problem", cf_cmd_check},
    {"graph", "print a workflow's state machine as Graphviz DOT", cf_cmd_graph},
    {"simulate", "run a workflow on events from stdin, without Kafka or a database",
     cf_cmd_simulate},
    {"doctor", "check that PostgreSQL and Kafka named by the environment answer", cf_cmd_doctor},
    {NULL, NULL, NULL},
};
