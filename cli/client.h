/*
 * The workplace API's client.  The commands that act as a person (`caseflow tasks`, `caseflow
 * login`, the demo's clerks) send their requests to `caseflow serve`, which authenticates them
 * and decides what they may do (server/routes.c); nothing here decides it.  One request at a
 * time over libcurl, on one kept-alive connection, with a session (the cookie and CSRF token of a
 * login) or a service account's bearer token.
 */
#ifndef CF_CLIENT_H
#define CF_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

typedef struct cf_client cf_client;

/* An answer.  `json` is owned by the reply: free it with cf_reply_free. */
typedef struct cf_reply {
    long status;       /* the HTTP status; 0 when no answer came (`detail` says why) */
    json_t *json;      /* the body as JSON, or NULL */
    char type[64];     /* a problem's slug (urn:caseflow:problem:<slug>), or "" */
    char detail[1024]; /* a problem's detail, or why no answer came, or "" */
} cf_reply;

void cf_reply_free(cf_reply *r);

/*
 * A client of the server at `url` (http:// or https://, e.g. "http://127.0.0.1:8080"; a path or
 * trailing slash is dropped).  Returns it, or NULL with the reason in `err`.  Free it with
 * cf_client_free, which does not end the session (cf_client_logout does).
 */
cf_client *cf_client_new(const char *url, char *err, size_t errsz);
void cf_client_free(cf_client *c);

/* The server's base URL as given to cf_client_new, without a trailing slash. */
const char *cf_client_url(const cf_client *c);

/* Sends requests with bearer `token` (copied) from now on. */
void cf_client_use_token(cf_client *c, const char *token);
/* Sends requests with the session `cookie` and `csrf` token (copied) from now on. */
void cf_client_use_session(cf_client *c, const char *cookie, const char *csrf);
/* The session in use, for keeping it (`caseflow login`): its cookie value and CSRF token, both
 * "" when there is none.  The texts belong to the client. */
void cf_client_session(const cf_client *c, const char **cookie, const char **csrf);

/*
 * Logs in as `name` with `password` and uses the new session.  Returns 0, or with what the
 * server said in `err`: CF_EPERM (wrong name or password), CF_ESTATE (the account is disabled),
 * CF_ERANGE (locked for a while), CF_EIO (no answer from the server), CF_EINVAL (any other
 * answer).
 */
int cf_client_login(cf_client *c, const char *name, const char *password, char *err,
                    size_t errsz) CF_MUST_CHECK;
/* Ends the session in use, if any (what the server answers does not matter). */
void cf_client_logout(cf_client *c);

/*
 * Sends `method path` (`path` begins with "/" and is escaped already, see cf_client_escape) with
 * `body` (may be NULL) as JSON, and fills `r` (free it with cf_reply_free also after an error).
 * Returns the HTTP status, or 0 when no answer came.
 */
long cf_client_call(cf_client *c, const char *method, const char *path, const json_t *body,
                    cf_reply *r);
/* The same with one more header line `header` ("Idempotency-Key: ..."; NULL: none). */
long cf_client_call_ex(cf_client *c, const char *method, const char *path, const json_t *body,
                       const char *header, cf_reply *r);

/* Percent-encodes `text` for a path segment or query value into `out` (n bytes).  Returns 0, or
 * -1 when it does not fit. */
int cf_client_escape(const char *text, char *out, size_t n) CF_MUST_CHECK;

/* ---- how a command finds its server and its person ------------------------------------------ */

/* What the command line said about the server and the person. */
typedef struct cf_client_opts {
    const char *server;  /* --server URL, or NULL */
    const char *user;    /* --user NAME, or NULL */
    int password_stdin;  /* --password-stdin: the first line of stdin is the password */
    const char *command; /* for messages: "caseflow tasks list" */
} cf_client_opts;

/*
 * Opens a client as the person the command runs for, in this order: --user NAME logs in with the
 * password from stdin (--password-stdin) or asked on the terminal, for this command only (end it
 * with cf_client_close); else the bearer token in CASEFLOW_TOKEN; else the session that
 * `caseflow login` kept (cf_client_session_file).  The server is --server, else CASEFLOW_SERVER,
 * else the kept session's.  Returns the client, or NULL after saying on stderr why (no server
 * configured, not logged in, the login refused); `*usage` is set when the cause is the command
 * line or the configuration rather than the server.
 */
cf_client *cf_client_open(const cf_client_opts *o, int *usage);
/* Ends a session cf_client_open made for this command, and frees the client. */
void cf_client_close(cf_client *c);

/* Where `caseflow login` keeps its session: CASEFLOW_SESSION_FILE, else
 * $XDG_STATE_HOME/caseflow/session.json, else ~/.local/state/caseflow/session.json.  Returns 0,
 * or -1 when there is no home to keep it in. */
int cf_client_session_file(char *out, size_t n) CF_MUST_CHECK;

/* Keeps the session of `c` (as `account`) in the session file, readable by its owner only.
 * Returns 0, or CF_EIO with the reason in `err`. */
int cf_client_session_save(const cf_client *c, const char *account, char *err,
                           size_t errsz) CF_MUST_CHECK;

/* Reads the password from stdin (`from_stdin`: its first line) or asks for it on the terminal
 * without echo.  Returns it (free it with cf_client_password_free), or NULL after saying why. */
char *cf_client_password(int from_stdin, const char *name, const char *who);
void cf_client_password_free(char *password);

#endif
