/* The table of the `caseflow` subcommands; add a command here and in its own cmd_<name>.c. */
#include "commands.h"

#include <stddef.h>

const struct cf_command cf_commands[] = {
    {"check", "check workflow definitions and print every problem", cf_cmd_check},
    {"graph", "print a workflow's state machine as Graphviz DOT", cf_cmd_graph},
    {"simulate", "run a workflow on events from stdin, without Kafka or a database",
     cf_cmd_simulate},
    {"engine", "run the engine: events in, case state in PostgreSQL, tasks and feed out",
     cf_cmd_engine},
    {"db", "database operations: migrate, rebuild (check every case against its log)", cf_cmd_db},
    {"case", "show a case's state, data, timers and open tasks", cf_cmd_case},
    {"stats", "cases per state, tasks, dead letters, lag", cf_cmd_stats},
    {"report", "the command center's work: cases, tasks, batches, ledgers, stages", cf_cmd_report},
    {"feed", "send the filing feed to Kafka, or --generate a synthetic one", cf_cmd_feed},
    {"demo", "drive a running stack through months of generated cases (the main job)", cf_cmd_demo},
    {"tasks", "staff task queues through caseflow serve: list, claim, complete, return",
     cf_cmd_tasks},
    {"login", "log in to caseflow serve and keep the session for caseflow tasks", cf_cmd_login},
    {"logout", "end the session caseflow login kept", cf_cmd_logout},
    {"serve", "run the workplace API: HTTP/JSON for staff, leads, auditors and ingest",
     cf_cmd_serve},
    {"users", "accounts of the workplace API: add, list, disable, passwd", cf_cmd_users},
    {"tokens", "service accounts' tokens for HTTP ingest: add, list, revoke", cf_cmd_tokens},
    {"replay", "a case's timeline from its event log, verified by replay", cf_cmd_replay},
    {"anchor", "write or verify the anchor of the hash chains: every case's head hash in a file",
     cf_cmd_anchor},
    {"worker", "run a worker of one kind: tasks in, results out as events", cf_cmd_worker},
    {"doctor", "check that PostgreSQL and Kafka named by the environment answer", cf_cmd_doctor},
    {NULL, NULL, NULL},
};
