/* The table of the `caseflow` subcommands; add a command here and in its own cmd_<name>.c. */
#include "commands.h"

#include <stddef.h>

const struct cf_command cf_commands[] = {
    {"doctor", "check that PostgreSQL and Kafka named by the environment answer", cf_cmd_doctor},
    {NULL, NULL, NULL},
};
