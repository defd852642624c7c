/*
 * The subcommands of the `caseflow` binary.  Each lives in its own cli/cmd_<name>.c
 * and has the signature of a main(): it parses its own options, prints its own
 * --help, and returns the process exit code (0 ok, 1 failure, 2 bad usage).
 */
#ifndef CF_COMMANDS_H
#define CF_COMMANDS_H

struct cf_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The table of subcommands, ended by an entry whose name is NULL. */
extern const struct cf_command cf_commands[];

int cf_cmd_doctor(int argc, char **argv);
int cf_cmd_check(int argc, char **argv);
int cf_cmd_graph(int argc, char **argv);
int cf_cmd_simulate(int argc, char **argv);
int cf_cmd_feed(int argc, char **argv);
int cf_cmd_engine(int argc, char **argv);
int cf_cmd_db(int argc, char **argv);
int cf_cmd_db_rebuild(int argc, char **argv); /* `caseflow db rebuild`, cli/cmd_rebuild.c */
int cf_cmd_case(int argc, char **argv);
int cf_cmd_stats(int argc, char **argv);
int cf_cmd_report(int argc, char **argv);
int cf_cmd_worker(int argc, char **argv);
int cf_cmd_tasks(int argc, char **argv);
int cf_cmd_login(int argc, char **argv);
int cf_cmd_logout(int argc, char **argv);
int cf_cmd_replay(int argc, char **argv);
int cf_cmd_anchor(int argc, char **argv);
int cf_cmd_demo(int argc, char **argv);
int cf_cmd_users(int argc, char **argv);
int cf_cmd_tokens(int argc, char **argv);
int cf_cmd_serve(int argc, char **argv);

#endif
