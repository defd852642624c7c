/*
 * Accounts, sessions and tokens of the workplace API (schemas/sql/003_accounts.sql): creating
 * and changing accounts for `caseflow users` and `caseflow tokens`, and authenticating requests
 * for `caseflow serve`.
 *
 * Secrets are never stored: passwords as Argon2id hashes (libargon2, the parameters inside the
 * encoded hash), session cookies and service tokens as their SHA-256, each made of 32 random
 * bytes from the kernel.  A failed login is recorded under the name typed, whether an account
 * has it or not, so that guessing is slowed and then locked without telling which names exist.
 */
#ifndef CF_ACCOUNTS_H
#define CF_ACCOUNTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"

typedef enum cf_role {
    CF_ROLE_STAFF = 1,   /* their post's tasks and the cases those tasks reach */
    CF_ROLE_LEAD = 2,    /* every post: read and reassign */
    CF_ROLE_AUDITOR = 4, /* read-only, replay */
    CF_ROLE_ADMIN = 8,   /* accounts */
    CF_ROLE_INGEST = 16, /* a service account that may only send events */
} cf_role;

/* "staff", "lead", ... for a role; "" for anything else. */
const char *cf_role_name(cf_role r);
/* Parses a role's name; returns 0, or CF_EINVAL. */
int cf_role_parse(const char *text, cf_role *out) CF_MUST_CHECK;

/* Bytes of a cookie, CSRF token or service token as text, with its NUL. */
#define CF_SECRET_BUFSZ 64

typedef struct cf_account {
    long long id;
    char name[72];
    cf_role role;
    char post[128]; /* "" unless staff */
    char court[32]; /* the court whose cases it sees ("": the home court, the first configured) */
    int disabled;
} cf_account;

/* Returns 0 when `name` can name an account (1 to 64 bytes of UTF-8, no space, ':' or '/'),
 * else CF_EINVAL saying why. */
int cf_account_check_name(const char *name, char *err, size_t errsz) CF_MUST_CHECK;
/* Returns 0 when `password` is acceptable (10 to 1024 bytes), else CF_EINVAL saying why. */
int cf_account_check_password(const char *password, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Creates account `name` with `role`, `post` (staff only, else NULL), `court` (NULL or "": the
 * home court) and `password` (NULL: no login, for service accounts).  The caller checks that the
 * post exists and that the installation serves the court.  Returns 0, CF_EDUP
 * (the name is taken), CF_EINVAL (a bad name, password, or post for the role) or CF_EDB.
 */
int cf_account_add(PGconn *db, const char *name, cf_role role, const char *post, const char *court,
                   const char *password, char *err, size_t errsz) CF_MUST_CHECK;

/* Sets a new password and ends the account's sessions.  0, CF_ENOTFOUND, CF_EINVAL or CF_EDB. */
int cf_account_passwd(PGconn *db, const char *name, const char *password, char *err,
                      size_t errsz) CF_MUST_CHECK;

/* Disables (`disable` 1) or enables the account; disabling ends its sessions, and its tokens stop
 * working.  0, CF_ENOTFOUND or CF_EDB. */
int cf_account_disable(PGconn *db, const char *name, int disable, char *err,
                       size_t errsz) CF_MUST_CHECK;

/* Every account as [{name, role, post, disabled, created_at, sessions, last_seen (the latest
 * use of a live session, or null), tokens}], a new reference; NULL with the reason in `err`. */
json_t *cf_account_list(PGconn *db, char *err, size_t errsz);

/* Reads account `name` into `out`.  0, CF_ENOTFOUND or CF_EDB. */
int cf_account_get(PGconn *db, const char *name, cf_account *out, char *err,
                   size_t errsz) CF_MUST_CHECK;

/*
 * Makes a token of `scope` ("ingest") for service account `name`, creating the account (role
 * ingest) when there is none; writes the token (shown once, stored only as its SHA-256) into
 * `token` and its id into `*id`.  CF_EINVAL when `name` is an account of another role.
 */
int cf_token_add(PGconn *db, const char *name, const char *scope, char token[CF_SECRET_BUFSZ],
                 long long *id, char *err, size_t errsz) CF_MUST_CHECK;
/* Revokes token `id`.  0, CF_ENOTFOUND (no such token, or revoked already) or CF_EDB. */
int cf_token_revoke(PGconn *db, long long id, char *err, size_t errsz) CF_MUST_CHECK;
/* Every token as [{id, account, prefix, scope, created_at, last_used_at, revoked_at}]. */
json_t *cf_token_list(PGconn *db, char *err, size_t errsz);

/* ---- authentication (caseflow serve) ------------------------------------------------------ */

typedef struct cf_login_policy {
    int lock_after;   /* failed logins under one name within lock_seconds that lock it */
    int lock_seconds; /* how long failures count, and so how long a lock lasts */
} cf_login_policy;

/*
 * Logs `name` in with `password`.  On success returns 0, fills `out`, and writes a new session's
 * cookie value and CSRF token (the failures recorded under the name are forgotten).  Else:
 *   CF_EPERM    wrong name or password (recorded as a failure; `*failures` counts the recent
 *               ones, for the caller to slow its answer);
 *   CF_ESTATE   the account is disabled (said only to whoever knows the password);
 *   CF_ERANGE   the name is locked: `*retry_after` seconds until it is not (nothing verified);
 *   CF_EDB.
 */
int cf_login(PGconn *db, const char *name, const char *password, const cf_login_policy *policy,
             cf_account *out, char session[CF_SECRET_BUFSZ], char csrf[CF_SECRET_BUFSZ],
             int *failures, int *retry_after, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Finds the live session whose cookie value is `session`: seen within `idle_seconds` and
 * created within `max_seconds`, of an enabled account; marks it seen now and fills `out` and
 * `csrf`.  Returns 0, CF_ENOTFOUND (unknown, expired or disabled) or CF_EDB.
 */
int cf_session_find(PGconn *db, const char *session, int idle_seconds, int max_seconds,
                    cf_account *out, char csrf[CF_SECRET_BUFSZ], char *err,
                    size_t errsz) CF_MUST_CHECK;

/* Ends the session with cookie value `session`.  0 (also when there was none) or CF_EDB. */
int cf_session_end(PGconn *db, const char *session, char *err, size_t errsz) CF_MUST_CHECK;

/* Finds the account of bearer token `token` (not revoked, account enabled) and notes its use.
 * Returns 0, CF_ENOTFOUND or CF_EDB. */
int cf_token_find(PGconn *db, const char *token, cf_account *out, char *err,
                  size_t errsz) CF_MUST_CHECK;

/* Compares two texts in time that depends only on their lengths; 1 when equal. */
int cf_secret_equal(const char *a, const char *b);

#endif
