/*
 * `caseflow users` and `caseflow tokens`: the accounts of the workplace API, made by an
 * administrator on the database host.  What each action does is engine/accounts.c's; this file
 * parses options, reads passwords from stdin (never from the command line, where `ps` shows
 * them) and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "commands.h"
#include "engine/accounts.h"
#include "session.h"

static void users_usage(FILE *out)
{
    fprintf(out,
            "usage: caseflow users add NAME --role ROLE [--post POST] [--court CODE]\n"
            "                         --password-stdin\n"
            "       caseflow users list [--json]\n"
            "       caseflow users disable NAME | enable NAME\n"
            "       caseflow users passwd NAME --password-stdin\n"
            "\n"
            "The accounts of `caseflow serve`, in the database named by CASEFLOW_PG.\n"
            "\n"
            "  ROLE  staff    the tasks of their POST and the cases those tasks reach\n"
            "        lead     every post: read, and reassign tasks\n"
            "        auditor  read-only, with replay; parties' personal data masked\n"
            "        admin    accounts\n"
            "  (service accounts of role ingest are made by `caseflow tokens add`.)\n"
            "  CODE  the court whose cases the account sees and works, one of the configuration's\n"
            "        `courts:` (default: the first, the home court)\n"
            "\n"
            "NAME is one word without ':' or '/'; events a member of staff sends name them as\n"
            "staff:<post>:<NAME>.  The password (10 to 1024 bytes) is the first line of stdin\n"
            "and is stored as an Argon2id hash.  passwd and disable end the account's sessions.\n"
            "Exit status: 0 done, 1 refused or failed, 2 bad usage.\n");
}

static void tokens_usage(FILE *out)
{
    fprintf(out, "usage: caseflow tokens add NAME --scope ingest\n"
                 "       caseflow tokens list [--json]\n"
                 "       caseflow tokens revoke ID\n"
                 "\n"
                 "Bearer tokens of service accounts (the filing system sending events to\n"
                 "POST /api/v1/events).  add creates the service account NAME when there is none\n"
                 "and prints the token once: only its SHA-256 is stored, so it cannot be shown\n"
                 "again.  revoke stops it at once.\n");
}

/* Reads the password: the first line of stdin, without its line end.  NULL after saying why. */
static char *read_password(const char *who)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);

    if (n <= 0) {
        fprintf(stderr, "%s: no password on stdin\n", who);
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static void print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2));
    if (text)
        puts(text);
    free(text);
}

/* The action of `caseflow CMD ACTION [OPTIONS]`, with `who` ("caseflow CMD ACTION") written for
 * messages and getopt set to read the options after it; NULL when there is none or help was
 * asked for, having printed `usage` and set *rc to the exit status. */
static const char *action_of(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
                             char *who, size_t whosz, int *rc)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        *rc = argc < 2 ? 2 : 0;
        return NULL;
    }
    snprintf(who, whosz, "caseflow %s %s", cmd, argv[1]);
    optind = 2;
    opterr = 0;
    return argv[1];
}

static void account_row(const json_t *a)
{
    const char *p = json_string_value(json_object_get(a, "post"));
    printf("%-20s %-8s %-18s %-9s %lld\n", json_string_value(json_object_get(a, "name")),
           json_string_value(json_object_get(a, "role")), p ? p : "-",
           json_is_true(json_object_get(a, "disabled")) ? "disabled" : "active",
           (long long)json_integer_value(json_object_get(a, "sessions")));
}

static void token_row(const json_t *t)
{
    printf("%-6lld %-20s %-12s %-8s %s\n", (long long)json_integer_value(json_object_get(t, "id")),
           json_string_value(json_object_get(t, "account")),
           json_string_value(json_object_get(t, "prefix")),
           json_string_value(json_object_get(t, "scope")),
           json_is_null(json_object_get(t, "revoked_at")) ? "active" : "revoked");
}

/* Prints `list` (taken) as JSON when `as_json`, else as a table: `head`, then a line per item by
 * `row`.  Returns 0, or 1 after printing `err` (why there is no list, NULL) prefixed by `who`. */
static int print_list(json_t *list, int as_json, const char *head, void (*row)(const json_t *),
                      const char *who, const char *err)
{
    json_t *x;
    size_t i;

    if (!list) {
        fprintf(stderr, "%s: %s\n", who, err);
        return 1;
    }
    if (as_json) {
        print_json(list);
    } else {
        puts(head);
        json_array_foreach (list, i, x)
            row(x);
    }
    json_decref(list);
    return 0;
}

int cf_cmd_users(int argc, char **argv)
{
    static const struct option longopts[] = {{"role", required_argument, NULL, 'r'},
                                             {"post", required_argument, NULL, 'p'},
                                             {"password-stdin", no_argument, NULL, 's'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"court", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *action, *name = NULL, *role_text = NULL, *post = NULL, *court = NULL;
    int stdin_pw = 0, as_json = 0, c, rc = 1;
    char who[64], err[1024], known[1024];
    char *password = NULL;
    cf_config cfg;
    PGconn *db = NULL;
    cf_role role = 0;

    if (!(action = action_of(argc, argv, "users", users_usage, who, sizeof who, &rc)))
        return rc;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': role_text = optarg; break;
        case 'p': post = optarg; break;
        case 'c': court = optarg; break;
        case 's': stdin_pw = 1; break;
        case 'j': as_json = 1; break;
        case 'h': users_usage(stdout); return 0;
        default:
            fprintf(stderr,
                    "%s: unknown option or missing value '%s' (see caseflow users --help)\n", who,
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", who, argv[optind]);
        return 2;
    }
    if (strcmp(action, "add") == 0) {
        if (!name || !role_text || !stdin_pw) {
            fprintf(stderr, "%s: needs NAME, --role and --password-stdin\n", who);
            return 2;
        }
        if (cf_role_parse(role_text, &role) != 0 || role == CF_ROLE_INGEST) {
            fprintf(stderr,
                    "%s: --role is staff, lead, auditor or admin, not '%s' (service accounts: "
                    "caseflow tokens add)\n",
                    who, role_text);
            return 2;
        }
        if ((role == CF_ROLE_STAFF) != (post != NULL)) {
            fprintf(stderr, "%s: %s\n", who,
                    post ? "only staff accounts have a --post" : "a staff account needs --post");
            return 2;
        }
    } else if (court && strcmp(action, "add") != 0) {
        fprintf(stderr, "%s: only add takes --court\n", who);
        return 2;
    } else if (strcmp(action, "passwd") == 0) {
        if (!name || !stdin_pw || role_text || post) {
            fprintf(stderr, "%s: needs NAME and --password-stdin, nothing else\n", who);
            return 2;
        }
    } else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0) {
        if (!name || role_text || post || stdin_pw) {
            fprintf(stderr, "%s: needs NAME, nothing else\n", who);
            return 2;
        }
    } else if (strcmp(action, "list") == 0) {
        if (name || role_text || post || stdin_pw) {
            fprintf(stderr, "%s: takes only --json\n", who);
            return 2;
        }
    } else {
        fprintf(stderr, "caseflow users: unknown action '%s' (see caseflow users --help)\n",
                action);
        return 2;
    }
    if (stdin_pw && !(password = read_password(who)))
        return 1;
    if (!(db = cf_cli_connect(&cfg, who)))
        goto out;
    if (strcmp(action, "add") == 0) {
        cf_registry reg;
        if (post) {
            if (cf_cli_workflows(&cfg, &reg, who) != 0)
                goto out;
            if (!cf_cli_post_declared(&reg, post, known, sizeof known)) {
                fprintf(stderr, "%s: no workflow declares the post '%s' (posts: %s)\n", who, post,
                        known);
                cf_registry_free(&reg);
                rc = 2;
                goto out;
            }
            cf_registry_free(&reg);
        }
        if (court && !cf_config_court(&cfg, court)) {
            fprintf(stderr, "%s: this installation does not serve the court '%s' (courts: %s)\n",
                    who, court, cf_config_court_codes(&cfg, known, sizeof known));
            rc = 2;
            goto out;
        }
        if (cf_account_add(db, name, role, post, court, password, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            goto out;
        }
        printf("account %s added: %s%s%s of court %s\n", name, cf_role_name(role),
               post ? " of post " : "", post ? post : "", court ? court : cfg.courts[0].code);
    } else if (strcmp(action, "passwd") == 0) {
        if (cf_account_passwd(db, name, password, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            goto out;
        }
        printf("password of %s changed; its sessions are ended\n", name);
    } else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0) {
        int off = strcmp(action, "disable") == 0;
        if (cf_account_disable(db, name, off, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            goto out;
        }
        printf("account %s %s\n", name, off ? "disabled; its sessions are ended" : "enabled");
    } else {
        char head[128];
        snprintf(head, sizeof head, "%-20s %-8s %-18s %-9s %s", "NAME", "ROLE", "POST", "STATUS",
                 "SESSIONS");
        if (print_list(cf_account_list(db, err, sizeof err), as_json, head, account_row, who,
                       err) != 0)
            goto out;
    }
    rc = 0;
out:
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    cf_cli_disconnect(db, &cfg);
    return rc;
}

int cf_cmd_tokens(int argc, char **argv)
{
    static const struct option longopts[] = {{"scope", required_argument, NULL, 's'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *action, *arg = NULL, *scope = NULL;
    char who[64], err[1024], token[CF_SECRET_BUFSZ];
    int as_json = 0, c, rc = 1;
    cf_config cfg;
    PGconn *db = NULL;

    if (!(action = action_of(argc, argv, "tokens", tokens_usage, who, sizeof who, &rc)))
        return rc;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': scope = optarg; break;
        case 'j': as_json = 1; break;
        case 'h': tokens_usage(stdout); return 0;
        default:
            fprintf(stderr, "%s: unknown option or missing value '%s' (see --help)\n", who,
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        arg = argv[optind++];
    if (optind < argc || (strcmp(action, "add") == 0 && (!arg || !scope)) ||
        (strcmp(action, "revoke") == 0 && (!arg || scope)) ||
        (strcmp(action, "list") == 0 && (arg || scope))) {
        fprintf(stderr, "%s: bad arguments (see caseflow tokens --help)\n", who);
        return 2;
    }
    if (strcmp(action, "add") != 0 && strcmp(action, "revoke") != 0 &&
        strcmp(action, "list") != 0) {
        fprintf(stderr, "caseflow tokens: unknown action '%s' (see --help)\n", action);
        return 2;
    }
    if (!(db = cf_cli_connect(&cfg, who)))
        goto out;
    if (strcmp(action, "add") == 0) {
        long long id = 0;
        if (cf_token_add(db, arg, scope, token, &id, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            goto out;
        }
        /* The token alone on stdout, for scripts; the words on stderr. */
        printf("%s\n", token);
        fprintf(stderr,
                "token %lld for %s (scope %s): shown this once; send it as "
                "'Authorization: Bearer <token>'\n",
                id, arg, scope);
        memset(token, 0, sizeof token);
    } else if (strcmp(action, "revoke") == 0) {
        char *end;
        long long id = strtoll(arg, &end, 10);
        if (*end || end == arg) {
            fprintf(stderr, "%s: ID is the number `caseflow tokens list` shows\n", who);
            rc = 2;
            goto out;
        }
        if (cf_token_revoke(db, id, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            goto out;
        }
        printf("token %lld revoked\n", id);
    } else {
        char head[128];
        snprintf(head, sizeof head, "%-6s %-20s %-12s %-8s %s", "ID", "ACCOUNT", "PREFIX", "SCOPE",
                 "STATUS");
        if (print_list(cf_token_list(db, err, sizeof err), as_json, head, token_row, who, err) != 0)
            goto out;
    }
    rc = 0;
out:
    cf_cli_disconnect(db, &cfg);
    return rc;
}
