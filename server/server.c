/*
 * Starting and stopping the server: the pieces it holds (the database pool, the Kafka sender,
 * the metrics, the OpenAPI document, TLS keys), the listening socket, and a stop that lets the
 * requests at hand finish.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/log.h"
#include "io/bus.h"
#include "io/store.h"
#include "internal.h"

/* Reads a whole file into a new string; NULL with the reason in `err`. */
static char *read_file(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f) {
        cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
        cf_errf(err, errsz, CF_EIO, "%s: cannot read", path);
    }
    fclose(f);
    return buf;
}

/* libmicrohttpd hands its own format and arguments. */
static void mhd_log(void *cls, const char *fmt, va_list ap) CF_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    cf_warn("http: %s", line);
}

/* Checks at start that the database has the accounts' tables (migration 003); a database that
 * does not answer yet is only a warning: /readyz says so until it does. */
static int check_schema(cf_srv *s, char *err, size_t errsz)
{
    char why[512];
    PGconn *db = cf_pool_get(s->pool, 2000, why, sizeof why);
    PGresult *res;
    int rc = 0;

    if (!db) {
        cf_warn("PostgreSQL does not answer yet (%s): serving, with 503 until it does", why);
        return 0;
    }
    res = cf_store_exec(db, "select to_regclass('accounts') is not null", 0, NULL, why, sizeof why);
    if (!res || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        rc = cf_errf(err, errsz, CF_EDB,
                     "the database has no accounts table: run `caseflow db migrate` first%s%s",
                     res ? "" : ": ", res ? "" : why);
    PQclear(res);
    cf_pool_put(s->pool, db);
    return rc;
}

int cf_server_run(const cf_config *cfg, const cf_registry *reg, const char *openapi,
                  const char *web, void (*on_listen)(const char *address, int port),
                  volatile sig_atomic_t *stop, char *err, size_t errsz)
{
    cf_srv s;
    struct MHD_Daemon *d = NULL;
    struct addrinfo hints, *ai = NULL;
    char *cert = NULL, *key = NULL;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    MHD_socket listener = MHD_INVALID_SOCKET;
    int rc = 0, gai;

    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    s.cfg = cfg;
    s.reg = reg;
    s.policy.lock_after = cfg->server_lock_after;
    s.policy.lock_seconds = cfg->server_lock_s;
    cf_bus_topic(cfg, "events", s.topic, sizeof s.topic);
    if (!(s.openapi = read_file(openapi, &s.openapi_len, err, errsz))) {
        rc = CF_EIO;
        goto out;
    }
    /* The web workplace and the documents are served only from inside these folders. */
    if (!web || !realpath(web, s.web)) {
        cf_warn("no web workplace at %s: serving the API only", web ? web : "(none)");
        s.web[0] = '\0';
    }
    if (!realpath(cfg->documents_dir, s.docs))
        s.docs[0] = '\0';
    if (cfg->server_tls_cert[0] || cfg->server_tls_key[0]) {
        if (!cfg->server_tls_cert[0] || !cfg->server_tls_key[0]) {
            rc =
                cf_errf(err, errsz, CF_EINVAL, "TLS needs both server.tls_cert and server.tls_key");
            goto out;
        }
        if (!(cert = read_file(cfg->server_tls_cert, NULL, err, errsz)) ||
            !(key = read_file(cfg->server_tls_key, NULL, err, errsz))) {
            rc = CF_EIO;
            goto out;
        }
        s.tls = 1;
        flags |= MHD_USE_TLS;
    }
    if (!(s.metrics = cf_metrics_new()) ||
        !(s.pool = cf_pool_new(cfg->postgres, cfg->server_db_connections))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = check_schema(&s, err, errsz)) != 0)
        goto out;
    if (!(s.watch =
              cf_watch_new(cfg->postgres, cfg->ncourts > 1 ? cfg->courts[0].code : NULL, 1000))) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "cannot start the queue watch");
        goto out;
    }
    if (!(s.sender = cf_sender_new(cfg, "caseflow-serve", 15000, err, errsz))) {
        rc = CF_EKAFKA;
        goto out;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if ((gai = getaddrinfo(cfg->server_listen, NULL, &hints, &ai)) != 0) {
        rc = cf_errf(err, errsz, CF_EINVAL, "server.listen: '%s' is not an IP address: %s",
                     cfg->server_listen, gai_strerror(gai));
        goto out;
    }
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port = htons((uint16_t)cfg->server_port);
    } else {
        ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port = htons((uint16_t)cfg->server_port);
    }
    {
        /* TLS options only with TLS: libmicrohttpd refuses them otherwise. */
        struct MHD_OptionItem tls_opts[] = {
            {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
            {MHD_OPTION_END, 0, NULL},
        };
        d = MHD_start_daemon(flags, (uint16_t)cfg->server_port, NULL, NULL, cf_http_on_request, &s,
                             MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                             ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, cf_http_on_completed, &s,
                             MHD_OPTION_UNESCAPE_CALLBACK, cf_http_unescape, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->server_connections,
                             MHD_OPTION_ARRAY, s.tls ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    }
    if (!d) {
        rc = cf_errf(err, errsz, CF_EIO, "cannot listen on %s port %d (in use, or not allowed)",
                     cfg->server_listen, cfg->server_port);
        goto out;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    cf_info("serving %s://%s:%d/api/v1/ (%zu routes, %d database connections)%s%s",
            s.tls ? "https" : "http", cfg->server_listen, info ? info->port : cfg->server_port,
            cf_nroutes, cfg->server_db_connections, s.web[0] ? " and the workplace from " : "",
            s.web);
    if (on_listen)
        on_listen(cfg->server_listen, info ? info->port : cfg->server_port);
    while (!*stop)
        cf_sleep_ms(100);
    /* Stop taking connections; let the requests at hand be answered, for up to 10 s. */
    cf_info("stopping: no new connections, finishing the requests at hand");
    listener = MHD_quiesce_daemon(d);
    cf_watch_stop(s.watch); /* event streams end now */
    for (int i = 0; i < 100; i++) {
        int active;
        pthread_mutex_lock(&s.mu);
        active = s.active;
        pthread_mutex_unlock(&s.mu);
        if (active == 0)
            break;
        cf_sleep_ms(100);
    }
out:
    if (d)
        MHD_stop_daemon(d);
    /* After quiescing, the listening socket is ours to close. */
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    if (ai)
        freeaddrinfo(ai);
    cf_watch_free(s.watch);
    cf_sender_free(s.sender);
    cf_pool_free(s.pool);
    cf_metrics_free(s.metrics);
    free(s.openapi);
    free(cert);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    pthread_mutex_destroy(&s.mu);
    if (rc == 0)
        cf_info("stopped");
    return rc;
}
