/*
 * The workplace API's client (client.h): libcurl for HTTP, jansson for the bodies, the session
 * kept by `caseflow login` in a file only its owner reads.
 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

struct cf_client {
    CURL *curl;
    char url[512];
    char token[128];
    char cookie[128], csrf[128];
    int own_session; /* made by cf_client_open for one command: ended by cf_client_close */
    /* The answer being read. */
    char *buf;
    size_t len, cap;
    char set_cookie[128];
};

void cf_reply_free(cf_reply *r)
{
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

cf_client *cf_client_new(const char *url, char *err, size_t errsz)
{
    cf_client *c;
    size_t n;

    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        cf_errf(err, errsz, CF_EINVAL, "the server '%s' is not an http:// or https:// URL",
                url ? url : "");
        return NULL;
    }
    n = strlen(url);
    if (n >= sizeof c->url) {
        cf_errf(err, errsz, CF_EINVAL, "the server's URL is longer than %zu bytes", sizeof c->url);
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    /* The API lives under /api/v1 of the server's root: what follows the host is dropped, so
     * that an address copied from a browser works. */
    {
        const char *host = strstr(url, "://") + 3, *slash = strchr(host, '/');
        snprintf(c->url, sizeof c->url, "%.*s", (int)(slash ? (size_t)(slash - url) : n), url);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!(c->curl = curl_easy_init())) {
        cf_errf(err, errsz, CF_ENOMEM, "libcurl cannot start");
        free(c);
        return NULL;
    }
    return c;
}

void cf_client_free(cf_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->buf);
    explicit_bzero(c->cookie, sizeof c->cookie);
    explicit_bzero(c->csrf, sizeof c->csrf);
    explicit_bzero(c->token, sizeof c->token);
    free(c);
}

const char *cf_client_url(const cf_client *c)
{
    return c->url;
}

void cf_client_use_token(cf_client *c, const char *token)
{
    snprintf(c->token, sizeof c->token, "%s", token);
    c->cookie[0] = c->csrf[0] = '\0';
}

void cf_client_use_session(cf_client *c, const char *cookie, const char *csrf)
{
    snprintf(c->cookie, sizeof c->cookie, "%s", cookie);
    snprintf(c->csrf, sizeof c->csrf, "%s", csrf);
    c->token[0] = '\0';
}

void cf_client_session(const cf_client *c, const char **cookie, const char **csrf)
{
    *cookie = c->cookie;
    *csrf = c->csrf;
}

int cf_client_escape(const char *text, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (k + (plain ? 1 : 3) >= n)
            return -1;
        if (plain) {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    if (k >= n)
        return -1;
    out[k] = '\0';
    return 0;
}

/* ---- one request ------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    cf_client *c = arg;
    size_t n = size * nmemb;

    if (c->len + n + 1 > c->cap) {
        size_t cap = (c->len + n + 1) * 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return 0;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    cf_client *c = arg;
    size_t n = size * nmemb;
    static const char name[] = "Set-Cookie: cf_session=";

    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1;
        size_t len = 0;
        while (len < n - (sizeof name - 1) && v[len] != ';' && v[len] != '\r' && v[len] != '\n')
            len++;
        if (len < sizeof c->set_cookie)
            snprintf(c->set_cookie, sizeof c->set_cookie, "%.*s", (int)len, v);
    }
    return n;
}

long cf_client_call(cf_client *c, const char *method, const char *path, const json_t *body,
                    cf_reply *r)
{
    return cf_client_call_ex(c, method, path, body, NULL, r);
}

long cf_client_call_ex(cf_client *c, const char *method, const char *path, const json_t *body,
                       const char *header, cf_reply *r)
{
    struct curl_slist *h = NULL;
    char url[4096], line[256], errbuf[CURL_ERROR_SIZE] = "";
    char *text = NULL;
    CURLcode rc;

    memset(r, 0, sizeof *r);
    c->len = 0;
    c->set_cookie[0] = '\0';
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path) >= sizeof url) {
        snprintf(r->detail, sizeof r->detail, "the request's path is too long");
        return 0;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        snprintf(r->detail, sizeof r->detail, "out of memory");
        return 0;
    }
    h = curl_slist_append(h, "Accept: application/json");
    if (header)
        h = curl_slist_append(h, header);
    if (text)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (c->token[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, line);
    }
    if (c->cookie[0]) {
        snprintf(line, sizeof line, "Cookie: cf_session=%s", c->cookie);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "X-CSRF-Token: %s", c->csrf);
        h = curl_slist_append(h, line);
    }
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    /* Completing a task waits for the engine's verdict on the server (server.wait_ms). */
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (text || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(text ? strlen(text) : 0));
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text ? text : "");
    }
    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        snprintf(r->detail, sizeof r->detail, "%s: %s", c->url,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (c->len)
            r->json = json_loadb(c->buf, c->len, 0, NULL);
        if (r->status >= 400) {
            const char *type = json_string_value(json_object_get(r->json, "type"));
            const char *detail = json_string_value(json_object_get(r->json, "detail"));
            const char *slug = type ? strrchr(type, ':') : NULL;
            snprintf(r->type, sizeof r->type, "%s", slug ? slug + 1 : "");
            snprintf(r->detail, sizeof r->detail, "%s",
                     detail ? detail : json_string_value(json_object_get(r->json, "title")));
            if (!r->detail[0] || strcmp(r->detail, "(null)") == 0)
                snprintf(r->detail, sizeof r->detail, "the server answered %ld", r->status);
        }
    }
    curl_slist_free_all(h);
    free(text);
    return r->status;
}

/* ---- sessions ------------------------------------------------------------------------------ */

int cf_client_login(cf_client *c, const char *name, const char *password, char *err, size_t errsz)
{
    json_t *body = json_pack("{s:s, s:s}", "name", name, "password", password);
    cf_reply r;
    long status;
    int rc = 0;

    if (!body)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    c->cookie[0] = c->csrf[0] = c->token[0] = '\0';
    status = cf_client_call(c, "POST", "/api/v1/login", body, &r);
    json_decref(body);
    if (status == 200 && c->set_cookie[0] && json_string_value(json_object_get(r.json, "csrf"))) {
        cf_client_use_session(c, c->set_cookie, json_string_value(json_object_get(r.json, "csrf")));
    } else {
        rc = status == 0     ? CF_EIO
             : status == 401 ? CF_EPERM
             : status == 403 ? CF_ESTATE
             : status == 429 ? CF_ERANGE
                             : CF_EINVAL;
        cf_errf(err, errsz, rc, "%s", r.detail[0] ? r.detail : "the login gave no session");
    }
    explicit_bzero(c->set_cookie, sizeof c->set_cookie);
    cf_reply_free(&r);
    return rc;
}

void cf_client_logout(cf_client *c)
{
    cf_reply r;
    if (!c->cookie[0])
        return;
    cf_client_call(c, "POST", "/api/v1/logout", NULL, &r);
    cf_reply_free(&r);
    c->cookie[0] = c->csrf[0] = '\0';
}

int cf_client_session_file(char *out, size_t n)
{
    const char *env = getenv("CASEFLOW_SESSION_FILE"), *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int len;

    if (env && *env)
        len = snprintf(out, n, "%s", env);
    else if (state && *state)
        len = snprintf(out, n, "%s/caseflow/session.json", state);
    else if (home && *home)
        len = snprintf(out, n, "%s/.local/state/caseflow/session.json", home);
    else
        return -1;
    return len > 0 && (size_t)len < n ? 0 : -1;
}

/* Makes the folders of `path` that are missing, for their owner only. */
static void make_parents(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(dir, 0700);
            *p = '/';
        }
}

int cf_client_session_save(const cf_client *c, const char *account, char *err, size_t errsz)
{
    char path[4096], tmp[4200];
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "server", c->url, "account", account, "cookie",
                            c->cookie, "csrf", c->csrf);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    int fd = -1, rc = 0;
    size_t len;

    json_decref(doc);
    if (!text)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    if (cf_client_session_file(path, sizeof path) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "no place to keep the session: set CASEFLOW_SESSION_FILE");
        goto out;
    }
    make_parents(path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    /* Written beside it and renamed over it: a reader sees the old session or the new one. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
    }
out:
    explicit_bzero(text, strlen(text));
    free(text);
    return rc;
}

/* Reads the kept session into `doc`; NULL when there is none. */
static json_t *session_load(void)
{
    char path[4096];
    struct stat st;

    if (cf_client_session_file(path, sizeof path) != 0 || stat(path, &st) != 0)
        return NULL;
    return json_load_file(path, 0, NULL);
}

/* ---- passwords ----------------------------------------------------------------------------- */

char *cf_client_password(int from_stdin, const char *name, const char *who)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *in = stdin;
    struct termios before, quiet;
    int tty = 0;

    if (!from_stdin) {
        if (!(in = fopen("/dev/tty", "r+"))) {
            fprintf(stderr, "%s: no terminal to ask %s's password on: use --password-stdin\n", who,
                    name);
            return NULL;
        }
        fprintf(in, "password of %s: ", name);
        fflush(in);
        if (tcgetattr(fileno(in), &before) == 0) {
            quiet = before;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tty = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
        }
    }
    n = getline(&line, &cap, in);
    if (tty) {
        tcsetattr(fileno(in), TCSAFLUSH, &before);
        fputc('\n', in);
    }
    if (in != stdin)
        fclose(in);
    if (n <= 0) {
        fprintf(stderr, "%s: no password %s\n", who, from_stdin ? "on stdin" : "given");
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

void cf_client_password_free(char *password)
{
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
}

/* ---- opening a client for a command ---------------------------------------------------------- */

cf_client *cf_client_open(const cf_client_opts *o, int *usage)
{
    const char *server = o->server ? o->server : getenv("CASEFLOW_SERVER");
    const char *token = getenv("CASEFLOW_TOKEN");
    json_t *kept = (o->user || (token && *token)) ? NULL : session_load();
    char err[1024], *password = NULL;
    cf_client *c = NULL;

    *usage = 0;
    if ((!server || !*server) && kept)
        server = json_string_value(json_object_get(kept, "server"));
    if (!server || !*server) {
        fprintf(stderr,
                "%s: no server to ask: give --server URL or set CASEFLOW_SERVER to the address "
                "`caseflow serve` prints (e.g. http://127.0.0.1:8080), or log in with "
                "`caseflow login --server URL`\n",
                o->command);
        *usage = 1;
        goto out;
    }
    if (!(c = cf_client_new(server, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", o->command, err);
        *usage = 1;
        goto out;
    }
    if (o->user) {
        if (!(password = cf_client_password(o->password_stdin, o->user, o->command)))
            goto fail;
        if (cf_client_login(c, o->user, password, err, sizeof err) != 0) {
            fprintf(stderr, "%s: logging in to %s as %s: %s\n", o->command, c->url, o->user, err);
            goto fail;
        }
        c->own_session = 1;
    } else if (o->password_stdin) {
        fprintf(stderr, "%s: --password-stdin goes with --user NAME\n", o->command);
        *usage = 1;
        goto fail;
    } else if (token && *token) {
        cf_client_use_token(c, token);
    } else if (kept && json_string_value(json_object_get(kept, "cookie"))) {
        const char *at = json_string_value(json_object_get(kept, "server"));
        if (at && strcmp(at, c->url) != 0) {
            fprintf(stderr,
                    "%s: the session of `caseflow login` is for %s, not %s: log in there, or "
                    "give --user NAME\n",
                    o->command, at, c->url);
            *usage = 1;
            goto fail;
        }
        cf_client_use_session(c, json_string_value(json_object_get(kept, "cookie")),
                              json_string_value(json_object_get(kept, "csrf"))
                                  ? json_string_value(json_object_get(kept, "csrf"))
                                  : "");
    } else {
        fprintf(stderr,
                "%s: not logged in: run `caseflow login --server %s`, give --user NAME "
                "(the password is asked, or read with --password-stdin), or set CASEFLOW_TOKEN\n",
                o->command, c->url);
        *usage = 1;
        goto fail;
    }
    goto out;
fail:
    cf_client_free(c);
    c = NULL;
out:
    cf_client_password_free(password);
    json_decref(kept);
    return c;
}

void cf_client_close(cf_client *c)
{
    if (!c)
        return;
    if (c->own_session)
        cf_client_logout(c);
    cf_client_free(c);
}
