/*
 * Accounts, sessions and tokens in PostgreSQL: Argon2id for passwords, SHA-256 for the random
 * secrets handed to browsers and service accounts, and the failed-login record that locks a name.
 */
#include "accounts.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/utf8.h"
#include "io/store.h"

/* Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane); a hash records its own
 * parameters, so raising these later leaves old hashes verifiable. */
enum { ARGON_T = 2, ARGON_M_KIB = 19456, ARGON_P = 1, SALT_LEN = 16, HASH_LEN = 32 };

static const struct {
    cf_role role;
    const char *name;
} roles[] = {{CF_ROLE_STAFF, "staff"},
             {CF_ROLE_LEAD, "lead"},
             {CF_ROLE_AUDITOR, "auditor"},
             {CF_ROLE_ADMIN, "admin"},
             {CF_ROLE_INGEST, "ingest"}};

const char *cf_role_name(cf_role r)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == r)
            return roles[i].name;
    return "";
}

int cf_role_parse(const char *text, cf_role *out)
{
    for (size_t i = 0; text && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, text) == 0) {
            *out = roles[i].role;
            return 0;
        }
    return CF_EINVAL;
}

int cf_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* ---- secrets ------------------------------------------------------------------------------- */

/* Writes 32 random bytes as unpadded base64url (43 characters) after `prefix`. */
static int random_secret(const char *prefix, char out[CF_SECRET_BUFSZ], char *err, size_t errsz)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33] = {0};
    size_t n = (size_t)snprintf(out, CF_SECRET_BUFSZ, "%s", prefix);
    size_t got = 0;

    while (got < 32) {
        ssize_t r = getrandom(raw + got, 32 - got, 0);
        if (r <= 0)
            return cf_errf(err, errsz, CF_EIO, "the kernel gave no random bytes");
        got += (size_t)r;
    }
    for (size_t i = 0; i < 33 && n + 4 < CF_SECRET_BUFSZ; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[n++] = abc[v >> 18 & 63];
        out[n++] = abc[v >> 12 & 63];
        out[n++] = abc[v >> 6 & 63];
        out[n++] = abc[v & 63];
    }
    /* 33 bytes made 44 characters; 32 bytes are the first 43. */
    out[n - 1] = '\0';
    return 0;
}

/* SHA-256 of `text` as 64 hex digits. */
static void sha256_hex(const char *text, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

static int hash_password(const char *password, char *out, size_t outsz, char *err, size_t errsz)
{
    unsigned char salt[SALT_LEN];
    size_t got = 0;
    int rc;

    while (got < sizeof salt) {
        ssize_t r = getrandom(salt + got, sizeof salt - got, 0);
        if (r <= 0)
            return cf_errf(err, errsz, CF_EIO, "the kernel gave no random bytes");
        got += (size_t)r;
    }
    rc = argon2id_hash_encoded(ARGON_T, ARGON_M_KIB, ARGON_P, password, strlen(password), salt,
                               sizeof salt, HASH_LEN, out, outsz);
    if (rc != ARGON2_OK)
        return cf_errf(err, errsz, CF_ENOMEM, "hashing the password: %s", argon2_error_message(rc));
    return 0;
}

/* A hash that no password matches in practice, verified when the name has no account so that a
 * wrong name takes as long as a wrong password. */
static char dummy_hash[160];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char err[128];
    if (hash_password("caseflow: no such account", dummy_hash, sizeof dummy_hash, err,
                      sizeof err) != 0)
        dummy_hash[0] = '\0';
}

/* ---- checks -------------------------------------------------------------------------------- */

int cf_account_check_name(const char *name, char *err, size_t errsz)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return cf_errf(err, errsz, CF_EINVAL, "an account's name has 1 to 64 bytes");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == ':' || *p == '/')
            return cf_errf(err, errsz, CF_EINVAL,
                           "an account's name is one word without ':' or '/' (it ends the "
                           "source staff:<post>:<name> of the events it sends)");
    /* PostgreSQL refuses invalid UTF-8 itself; an early word is kinder. */
    if (cf_utf8_whole(name, n) != n)
        return cf_errf(err, errsz, CF_EINVAL, "an account's name must be UTF-8");
    return 0;
}

int cf_account_check_password(const char *password, char *err, size_t errsz)
{
    size_t n = password ? strlen(password) : 0;
    if (n < 10)
        return cf_errf(err, errsz, CF_EINVAL, "a password has at least 10 characters");
    if (n > 1024)
        return cf_errf(err, errsz, CF_EINVAL, "a password has at most 1024 bytes");
    return 0;
}

/* ---- accounts ------------------------------------------------------------------------------ */

/* Reads id, name, role, post, disabled (columns 0-4 of `res`) into `a`. */
static void fill_account(PGresult *res, int row, cf_account *a)
{
    memset(a, 0, sizeof *a);
    a->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    snprintf(a->name, sizeof a->name, "%s", PQgetvalue(res, row, 1));
    if (cf_role_parse(PQgetvalue(res, row, 2), &a->role) != 0)
        a->role = 0;
    snprintf(a->post, sizeof a->post, "%s", PQgetvalue(res, row, 3));
    a->disabled = strcmp(PQgetvalue(res, row, 4), "t") == 0;
    if (PQfnumber(res, "court") >= 0)
        snprintf(a->court, sizeof a->court, "%s", PQgetvalue(res, row, PQfnumber(res, "court")));
}

int cf_account_add(PGconn *db, const char *name, cf_role role, const char *post, const char *court,
                   const char *password, char *err, size_t errsz)
{
    char hash[160];
    const char *p[5] = {name, cf_role_name(role), post, password ? hash : NULL,
                        court && *court ? court : NULL};
    PGresult *res;
    int rc;

    if ((rc = cf_account_check_name(name, err, errsz)) != 0)
        return rc;
    if ((role == CF_ROLE_STAFF) != (post != NULL && *post))
        return cf_errf(err, errsz, CF_EINVAL,
                       role == CF_ROLE_STAFF ? "a staff account needs its post"
                                             : "only staff accounts have a post");
    if (password && ((rc = cf_account_check_password(password, err, errsz)) != 0 ||
                     (rc = hash_password(password, hash, sizeof hash, err, errsz)) != 0))
        return rc;
    res = cf_store_exec(db,
                        "insert into accounts (name, role, post, password_hash, court) values ($1, "
                        "$2, $3, $4, $5) on conflict (name) do nothing returning id",
                        5, p, err, errsz);
    if (!res)
        return CF_EDB;
    rc = PQntuples(res) == 1 ? 0
                             : cf_errf(err, errsz, CF_EDUP, "there is an account %s already", name);
    PQclear(res);
    return rc;
}

/* Runs a statement that names one account by $1 and returns a row when it found it. */
static int one_account(PGconn *db, const char *sql, int n, const char *const *p, const char *name,
                       char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db, sql, n, p, err, errsz);
    int rc;
    if (!res)
        return CF_EDB;
    rc = PQntuples(res) > 0 ? 0 : cf_errf(err, errsz, CF_ENOTFOUND, "there is no account %s", name);
    PQclear(res);
    return rc;
}

int cf_account_passwd(PGconn *db, const char *name, const char *password, char *err, size_t errsz)
{
    char hash[160];
    int rc;

    if ((rc = cf_account_check_password(password, err, errsz)) != 0 ||
        (rc = hash_password(password, hash, sizeof hash, err, errsz)) != 0)
        return rc;
    return one_account(db,
                       "with a as (update accounts set password_hash = $2, updated_at = now() "
                       "where name = $1 and role <> 'ingest' returning id), s as (delete from "
                       "sessions where account_id in (select id from a)) select id from a",
                       2, (const char *[]){name, hash}, name, err, errsz);
}

int cf_account_disable(PGconn *db, const char *name, int disable, char *err, size_t errsz)
{
    return one_account(db,
                       "with a as (update accounts set disabled_at = case when $2 then "
                       "coalesce(disabled_at, now()) end, updated_at = now() where name = $1 "
                       "returning id), s as (delete from sessions where $2 and account_id in "
                       "(select id from a)) select id from a",
                       2, (const char *[]){name, disable ? "t" : "f"}, name, err, errsz);
}

int cf_account_get(PGconn *db, const char *name, cf_account *out, char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db,
                                  "select id, name, role, coalesce(post, ''), disabled_at is not "
                                  "null, coalesce(court, '') court from accounts where name = $1",
                                  1, (const char *[]){name}, err, errsz);
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1)
        fill_account(res, 0, out);
    else
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "there is no account %s", name);
    PQclear(res);
    return rc;
}

/* Runs a query of one row and one JSON column; returns the parsed value or NULL. */
static json_t *json_query(PGconn *db, const char *sql, char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db, sql, 0, NULL, err, errsz);
    json_t *v = NULL;
    if (res && PQntuples(res) == 1 && !(v = json_loads(PQgetvalue(res, 0, 0), 0, NULL)))
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    PQclear(res);
    return v;
}

json_t *cf_account_list(PGconn *db, char *err, size_t errsz)
{
    return json_query(
        db,
        "select coalesce(json_agg(json_build_object('name', a.name, 'role', a.role, "
        "'post', a.post, 'court', a.court, 'disabled', a.disabled_at is not null, 'created_at', "
        "a.created_at, 'sessions', (select count(*) from sessions s where "
        "s.account_id = a.id), 'last_seen', (select max(s.last_seen) from sessions "
        "s where s.account_id = a.id), 'tokens', (select count(*) from tokens t where "
        "t.account_id = a.id and t.revoked_at is null)) order by a.name), '[]') "
        "from accounts a",
        err, errsz);
}

/* ---- tokens -------------------------------------------------------------------------------- */

int cf_token_add(PGconn *db, const char *name, const char *scope, char token[CF_SECRET_BUFSZ],
                 long long *id, char *err, size_t errsz)
{
    char hash[65], prefix[16];
    PGresult *res;
    int rc;

    token[0] = '\0';
    if (strcmp(scope, "ingest") != 0)
        return cf_errf(err, errsz, CF_EINVAL, "the only scope is ingest, not '%s'", scope);
    if ((rc = cf_account_check_name(name, err, errsz)) != 0 ||
        (rc = random_secret("cft_", token, err, errsz)) != 0)
        return rc;
    sha256_hex(token, hash);
    snprintf(prefix, sizeof prefix, "%.10s", token);
    res = cf_store_exec(db,
                        "with a as (insert into accounts (name, role) values ($1, 'ingest') on "
                        "conflict (name) do update set updated_at = accounts.updated_at returning "
                        "id, role) insert into tokens (account_id, token_hash, prefix, scope) "
                        "select id, $2, $3, $4 from a where role = 'ingest' returning id",
                        4, (const char *[]){name, hash, prefix, scope}, err, errsz);
    if (!res) {
        token[0] = '\0';
        return CF_EDB;
    }
    if (PQntuples(res) == 1) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    } else {
        token[0] = '\0';
        rc = cf_errf(err, errsz, CF_EINVAL,
                     "%s is an account of a person, not a service account: tokens are for "
                     "service accounts (role ingest)",
                     name);
    }
    PQclear(res);
    return rc;
}

int cf_token_revoke(PGconn *db, long long id, char *err, size_t errsz)
{
    char text[32];
    PGresult *res;
    int rc;

    snprintf(text, sizeof text, "%lld", id);
    res = cf_store_exec(db,
                        "update tokens set revoked_at = now() where id = $1::bigint and "
                        "revoked_at is null returning id",
                        1, (const char *[]){text}, err, errsz);
    if (!res)
        return CF_EDB;
    rc = PQntuples(res) == 1
             ? 0
             : cf_errf(err, errsz, CF_ENOTFOUND, "there is no token %lld in use", id);
    PQclear(res);
    return rc;
}

json_t *cf_token_list(PGconn *db, char *err, size_t errsz)
{
    return json_query(db,
                      "select coalesce(json_agg(json_build_object('id', t.id, 'account', a.name, "
                      "'prefix', t.prefix, 'scope', t.scope, 'created_at', t.created_at, "
                      "'last_used_at', t.last_used_at, 'revoked_at', t.revoked_at) order by t.id), "
                      "'[]') from tokens t join accounts a on a.id = t.account_id",
                      err, errsz);
}

/* ---- authentication ------------------------------------------------------------------------ */

int cf_login(PGconn *db, const char *name, const char *password, const cf_login_policy *policy,
             cf_account *out, char session[CF_SECRET_BUFSZ], char csrf[CF_SECRET_BUFSZ],
             int *failures, int *retry_after, char *err, size_t errsz)
{
    char window[16], nth[16], hash[65];
    const char *p[3] = {name, window, nth};
    PGresult *res = NULL;
    int rc = 0, ok;

    memset(out, 0, sizeof *out);
    session[0] = csrf[0] = '\0';
    *failures = 0;
    *retry_after = 0;
    snprintf(window, sizeof window, "%d", policy->lock_seconds);
    snprintf(nth, sizeof nth, "%d", policy->lock_after > 0 ? policy->lock_after - 1 : 0);
    /* Locked while lock_after failures lie within the window: until the oldest of them leaves
     * it.  Nothing is verified meanwhile, not even a right password. */
    if (policy->lock_after > 0) {
        res = cf_store_exec(db,
                            "select ceil(extract(epoch from at + $2::int * interval '1 second' - "
                            "now()))::int from login_failures where name = $1 and at > now() - "
                            "$2::int * interval '1 second' order by at desc offset $3::int limit 1",
                            3, p, err, errsz);
        if (!res)
            return CF_EDB;
        if (PQntuples(res) == 1) {
            *retry_after = atoi(PQgetvalue(res, 0, 0));
            if (*retry_after < 1)
                *retry_after = 1;
            PQclear(res);
            return cf_errf(err, errsz, CF_ERANGE, "too many failed logins for %s", name);
        }
        PQclear(res);
    }
    res = cf_store_exec(db,
                        "select id, name, role, coalesce(post, ''), disabled_at is not null, "
                        "password_hash, coalesce(court, '') court from accounts where name = $1 "
                        "and password_hash is not null",
                        1, p, err, errsz);
    if (!res)
        return CF_EDB;
    pthread_once(&dummy_once, make_dummy);
    if (PQntuples(res) == 1) {
        ok = argon2id_verify(PQgetvalue(res, 0, 5), password, strlen(password)) == ARGON2_OK;
        fill_account(res, 0, out);
    } else {
        ok = 0;
        if (dummy_hash[0])
            (void)argon2id_verify(dummy_hash, password, strlen(password));
    }
    PQclear(res);
    if (!ok) {
        memset(out, 0, sizeof *out);
        res = cf_store_exec(db,
                            "with f as (insert into login_failures (name) values ($1)) select "
                            "count(*) + 1 from login_failures where name = $1 and at > now() - "
                            "$2::int * interval '1 second'",
                            2, p, err, errsz);
        if (!res)
            return CF_EDB;
        *failures = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
        return cf_errf(err, errsz, CF_EPERM, "wrong name or password");
    }
    if (out->disabled)
        return cf_errf(err, errsz, CF_ESTATE, "the account %s is disabled", name);
    if ((rc = random_secret("", session, err, errsz)) != 0 ||
        (rc = random_secret("", csrf, err, errsz)) != 0)
        return rc;
    sha256_hex(session, hash);
    {
        char id[32];
        snprintf(id, sizeof id, "%lld", out->id);
        res = cf_store_exec(db,
                            "with f as (delete from login_failures where name = $3) insert into "
                            "sessions (id_hash, account_id, csrf) values ($1, $2::bigint, $4)",
                            4, (const char *[]){hash, id, name, csrf}, err, errsz);
    }
    if (!res) {
        session[0] = csrf[0] = '\0';
        return CF_EDB;
    }
    PQclear(res);
    return 0;
}

int cf_session_find(PGconn *db, const char *session, int idle_seconds, int max_seconds,
                    cf_account *out, char csrf[CF_SECRET_BUFSZ], char *err, size_t errsz)
{
    char hash[65], idle[16], max[16], every[16];
    PGresult *res;
    int rc = 0;

    memset(out, 0, sizeof *out);
    csrf[0] = '\0';
    sha256_hex(session, hash);
    snprintf(idle, sizeof idle, "%d", idle_seconds);
    snprintf(max, sizeof max, "%d", max_seconds);
    /* last_seen is written at most every tenth of the idle timeout (and every 30 s at most):
     * a busy page does not write a row per request. */
    snprintf(every, sizeof every, "%d", idle_seconds * 100 < 30000 ? idle_seconds * 100 : 30000);
    res = cf_store_exec(db,
                        "with s as (select s.id_hash, a.id, a.name, a.role, coalesce(a.post, '') "
                        "post, false, s.csrf, s.last_seen, coalesce(a.court, '') court from "
                        "sessions s join accounts a on a.id "
                        "= s.account_id where s.id_hash = $1 and a.disabled_at is null and "
                        "s.last_seen > now() - $2::int * interval '1 second' and s.created_at > "
                        "now() - $3::int * interval '1 second'), u as (update sessions set "
                        "last_seen = now() from s where sessions.id_hash = s.id_hash and "
                        "s.last_seen < now() - $4::int * interval '1 millisecond') select id, "
                        "name, role, post, false, csrf, court from s",
                        4, (const char *[]){hash, idle, max, every}, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1) {
        fill_account(res, 0, out);
        snprintf(csrf, CF_SECRET_BUFSZ, "%s", PQgetvalue(res, 0, 5));
    } else {
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "no such session, or it expired");
    }
    PQclear(res);
    return rc;
}

int cf_session_end(PGconn *db, const char *session, char *err, size_t errsz)
{
    char hash[65];
    PGresult *res;

    sha256_hex(session, hash);
    res = cf_store_exec(db, "delete from sessions where id_hash = $1", 1, (const char *[]){hash},
                        err, errsz);
    if (!res)
        return CF_EDB;
    PQclear(res);
    return 0;
}

int cf_token_find(PGconn *db, const char *token, cf_account *out, char *err, size_t errsz)
{
    char hash[65];
    PGresult *res;
    int rc = 0;

    memset(out, 0, sizeof *out);
    sha256_hex(token, hash);
    /* last_used_at is written at most once a minute per token. */
    res = cf_store_exec(
        db,
        "with t as (select t.id, a.id aid, a.name, a.role, coalesce(a.post, '') "
        "post, t.last_used_at, coalesce(a.court, '') court from tokens t join accounts a on a.id = "
        "t.account_id where t.token_hash = $1 and t.revoked_at is null and "
        "a.disabled_at is null), u as (update tokens set last_used_at = now() "
        "from t where tokens.id = t.id and (t.last_used_at is null or "
        "t.last_used_at < now() - interval '1 minute')) select aid, name, role, "
        "post, false, court from t",
        1, (const char *[]){hash}, err, errsz);
    if (!res)
        return CF_EDB;
    if (PQntuples(res) == 1)
        fill_account(res, 0, out);
    else
        rc = cf_errf(err, errsz, CF_ENOTFOUND, "no such token, or it was revoked");
    PQclear(res);
    return rc;
}
