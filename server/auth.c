/*
 * Who is asking: a session cookie (people, after POST /api/v1/login) or a bearer token (service
 * accounts).  Logging in is slowed after each failure under a name and then locked for a while
 * (engine/accounts.c keeps the count); a wrong name and a wrong password look the same.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/log.h"
#include "internal.h"

#define COOKIE "cf_session"

int cf_authenticate(cf_srv *s, cf_req *r)
{
    const char *auth = cf_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
    char err[256];
    PGconn *db;
    int rc;

    if (!auth && !cookie) {
        cf_reply_problem(r, 401, "unauthenticated",
                         "log in (POST /api/v1/login) or send a bearer token", NULL);
        return -1;
    }
    if (auth && strncmp(auth, "Bearer ", 7) != 0) {
        cf_reply_problem(r, 401, "unauthenticated", "the Authorization header takes a Bearer token",
                         NULL);
        return -1;
    }
    if ((auth && strlen(auth) > 200) || (cookie && strlen(cookie) > 200)) {
        cf_reply_problem(r, 401, "unauthenticated", "no such session or token", NULL);
        return -1;
    }
    if (!(db = cf_req_db(s, r)))
        return -1;
    if (auth) {
        rc = cf_token_find(db, auth + 7, &r->who, err, sizeof err);
        r->by_token = 1;
    } else {
        rc = cf_session_find(db, cookie, s->cfg->server_session_idle_s,
                             s->cfg->server_session_max_s, &r->who, r->csrf, err, sizeof err);
    }
    if (rc == CF_ENOTFOUND) {
        cf_reply_problem(r, 401, "unauthenticated",
                         auth ? "the token is unknown or revoked"
                              : "the session ended (logged out, idle too long, or the account "
                                "was disabled): log in again",
                         NULL);
        return -1;
    }
    if (rc != 0) {
        cf_reply_error(r, rc, err);
        return -1;
    }
    r->authed = 1;
    return 0;
}

static json_t *account_json(const cf_account *a)
{
    return json_pack("{s:s, s:s, s:s?, s:s?}", "name", a->name, "role", cf_role_name(a->role),
                     "post", a->post[0] ? a->post : NULL, "court", a->court[0] ? a->court : NULL);
}

void cf_h_login(cf_srv *s, cf_req *r)
{
    json_t *body = cf_req_json(r);
    const char *name, *password;
    char err[256], session[CF_SECRET_BUFSZ], csrf[CF_SECRET_BUFSZ];
    int failures = 0, retry = 0, rc;
    cf_account a;
    PGconn *db;

    if (!body)
        return;
    name = json_string_value(json_object_get(body, "name"));
    password = json_string_value(json_object_get(body, "password"));
    if (!name || cf_account_check_name(name, err, sizeof err) != 0) {
        cf_reply_problem(r, 422, "invalid-field", name ? err : "name is required (a string)",
                         json_pack("{s:s}", "field", "/name"));
        goto out;
    }
    if (!password || strlen(password) > 1024) {
        cf_reply_problem(r, 422, "invalid-field",
                         "password is required (a string of at most 1,024 bytes)",
                         json_pack("{s:s}", "field", "/password"));
        goto out;
    }
    if (!(db = cf_req_db(s, r)))
        goto out;
    rc = cf_login(db, name, password, &s->policy, &a, session, csrf, &failures, &retry, err,
                  sizeof err);
    switch (rc) {
    case 0:
        snprintf(r->cookie, sizeof r->cookie,
                 COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", session,
                 s->cfg->server_session_max_s, s->tls ? "; Secure" : "");
        cf_info("login: %s (%s)", a.name, cf_role_name(a.role));
        cf_reply_json(r, 200,
                      json_pack("{s:o, s:s, s:i}", "account", account_json(&a), "csrf", csrf,
                                "idle_timeout", s->cfg->server_session_idle_s));
        break;
    case CF_EPERM:
        /* Each failure under a name makes the next answer slower, up to 3 s. */
        cf_sleep_ms(failures * 200 < 3000 ? failures * 200 : 3000);
        cf_reply_problem(r, 401, "login-failed", "wrong name or password", NULL);
        break;
    case CF_ESTATE: cf_reply_problem(r, 403, "account-disabled", err, NULL); break;
    case CF_ERANGE:
        r->retry_after = retry;
        cf_reply_problem(r, 429, "login-locked",
                         "too many failed logins under this name: wait and try again",
                         json_pack("{s:i}", "retry_after", retry));
        break;
    default: cf_reply_error(r, rc, err);
    }
    memset(session, 0, sizeof session);
out:
    json_decref(body);
}

void cf_h_logout(cf_srv *s, cf_req *r)
{
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
    char err[256];
    int rc;

    if (!cookie || r->by_token) {
        cf_reply_problem(r, 400, "no-session", "only a session cookie can log out", NULL);
        return;
    }
    if ((rc = cf_session_end(r->db, cookie, err, sizeof err)) != 0) {
        cf_reply_error(r, rc, err);
        return;
    }
    snprintf(r->cookie, sizeof r->cookie,
             COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", s->tls ? "; Secure" : "");
    cf_reply_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

void cf_h_me(cf_srv *s, cf_req *r)
{
    json_t *me = json_pack("{s:o, s:s}", "account", account_json(&r->who), "auth",
                           r->by_token ? "token" : "session");
    (void)s;
    if (me && !r->by_token)
        json_object_set_new(me, "csrf", json_string(r->csrf));
    cf_reply_json(r, 200, me);
}
