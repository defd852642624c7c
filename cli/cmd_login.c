/*
 * `caseflow login` and `caseflow logout`: a session of `caseflow serve` kept for the commands
 * that act as a person (`caseflow tasks`), so that a member of staff types the password once a
 * day rather than once a command.  The session is the server's, with its idle and absolute
 * timeouts; the file holding it (cli/client.h: cf_client_session_file) is readable by its owner
 * only, like an SSH key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow login [--server URL] --user NAME [--password-stdin]\n"
            "       caseflow logout\n"
            "\n"
            "login logs NAME in to `caseflow serve` at URL (else CASEFLOW_SERVER) with the\n"
            "password asked on the terminal (or the first line of stdin with --password-stdin)\n"
            "and keeps the session in CASEFLOW_SESSION_FILE, else\n"
            "$XDG_STATE_HOME/caseflow/session.json, else ~/.local/state/caseflow/session.json\n"
            "(readable by you only).  `caseflow tasks` then acts as NAME until the session ends:\n"
            "at logout, after the server's idle timeout, or when the password changes.\n"
            "logout ends the kept session on the server and removes the file.\n");
    return code;
}

int cf_cmd_login(int argc, char **argv)
{
    cf_client_opts o = {.command = "caseflow login"};
    char err[1024], path[4096];
    cf_client *c;
    cf_reply r;
    int usage_error, rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0);
        if ((strcmp(a, "--server") == 0 || strcmp(a, "--user") == 0) && i + 1 < argc)
            *(strcmp(a, "--server") == 0 ? &o.server : &o.user) = argv[++i];
        else if (strcmp(a, "--password-stdin") == 0)
            o.password_stdin = 1;
        else
            return usage(stderr, 2);
    }
    if (!o.user) {
        fprintf(stderr, "caseflow login: needs --user NAME\n");
        return 2;
    }
    if (!(c = cf_client_open(&o, &usage_error)))
        return usage_error ? 2 : 1;
    if (cf_client_call(c, "GET", "/api/v1/me", NULL, &r) != 200) {
        fprintf(stderr, "caseflow login: %s\n", r.detail);
    } else if (cf_client_session_save(c, o.user, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow login: %s\n", err);
    } else {
        const json_t *acc = json_object_get(r.json, "account");
        const char *post = json_string_value(json_object_get(acc, "post"));
        if (cf_client_session_file(path, sizeof path) != 0)
            path[0] = '\0';
        printf("logged in to %s as %s (%s%s%s); the session is kept in %s\n", cf_client_url(c),
               o.user, json_string_value(json_object_get(acc, "role")), post ? ", post " : "",
               post ? post : "", path);
        rc = 0;
    }
    cf_reply_free(&r);
    /* A kept session must outlive this process: it is ended by logout, not here. */
    if (rc == 0)
        cf_client_free(c);
    else
        cf_client_close(c);
    return rc;
}

int cf_cmd_logout(int argc, char **argv)
{
    cf_client_opts o = {.command = "caseflow logout"};
    char path[4096];
    cf_client *c;
    int usage_error;

    if (argc > 1)
        return usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                     strcmp(argv[1], "--help") == 0 ? 0 : 2);
    if (cf_client_session_file(path, sizeof path) != 0 || access(path, F_OK) != 0) {
        printf("not logged in\n");
        return 0;
    }
    /* A session the server no longer knows is ended too: the file goes in any case. */
    if ((c = cf_client_open(&o, &usage_error))) {
        cf_client_logout(c);
        cf_client_free(c);
    }
    if (unlink(path) != 0) {
        fprintf(stderr, "caseflow logout: %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("logged out\n");
    return 0;
}
