/*
 * libFuzzer target for `caseflow serve`'s request handling: any bytes are one client's side of
 * an HTTP connection, read by libmicrohttpd over a socket pair and handed to the server's own
 * callbacks (server/http.c): the body gathered within server.body_limit, the path unescaped
 * (%00 kept), the route found and its {parameters} checked, the caller's credentials looked at,
 * the web workplace's files served from web/, and the public handlers (login's JSON body).
 *
 * The database is one that does not exist, so every route behind a login answers 401 or 503
 * without a database: what is fuzzed is everything before it.  /metrics and /readyz ask Kafka
 * and wait for its answer, seconds per input; they are answered here with 404 instead.  The
 * promises: the server answers every complete request with a status line, and an error's body
 * is an RFC 9457 problem.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "server/internal.h"

/* Rounds of libmicrohttpd's event loop an input may take: a request and its answer take a few. */
#define MAX_ROUNDS 64

static struct MHD_Daemon *daemon_;
static cf_srv srv;
static cf_config cfg;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0);
    buf = malloc((size_t)n + 1);
    FUZZ_CHECK(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The routes that would wait for Kafka get a 404 of the harness; all others go to the server. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    if (!*state && (strcmp(url, "/metrics") == 0 || strcmp(url, "/readyz") == 0)) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ok = MHD_queue_response(conn, 404, resp);
        MHD_destroy_response(resp);
        return ok;
    }
    return cf_http_on_request(cls, conn, url, method, version, upload, upload_size, state);
}

static void start(void)
{
    char path[4096], err[512];

    cf_log_threshold = CF_LOG_ERROR;
    FUZZ_CHECK(cf_config_load(&cfg, NULL, err, sizeof err) == 0);
    free(cfg.postgres);
    cfg.postgres = strdup("host=/nonexistent/caseflow-fuzz dbname=caseflow connect_timeout=1");
    cfg.server_body_limit = 65536;
    FUZZ_CHECK(cfg.postgres != NULL);
    pthread_mutex_init(&srv.mu, NULL);
    srv.cfg = &cfg;
    srv.openapi =
        read_all(fuzz_source_path("server/openapi.json", path, sizeof path), &srv.openapi_len);
    FUZZ_CHECK(realpath(fuzz_source_path("web", path, sizeof path), srv.web) != NULL);
    srv.metrics = cf_metrics_new();
    srv.pool = cf_pool_new(cfg.postgres, 1);
    FUZZ_CHECK(srv.metrics && srv.pool);
    snprintf(srv.topic, sizeof srv.topic, "%s.events", cfg.topic_prefix);
    daemon_ =
        MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, &srv,
                         MHD_OPTION_NOTIFY_COMPLETED, cf_http_on_completed, &srv,
                         MHD_OPTION_UNESCAPE_CALLBACK, cf_http_unescape, NULL, MHD_OPTION_END);
    FUZZ_CHECK(daemon_ != NULL);
}

/* Reads what the server wrote; returns 1 once it has closed its side. */
static int drain(int fd, char *answer, size_t cap, size_t *len)
{
    char buf[16384];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) > 0) {
        size_t k = *len + (size_t)n < cap ? (size_t)n : cap - *len;
        memcpy(answer + *len, buf, k);
        *len += k;
    }
    return n == 0;
}

/*
 * Every answer begins with a status line; a problem's body (none for HEAD) is an RFC 9457 object
 * with its type and the answer's status.  Only the first answer of a connection is looked at.
 */
static void check_answer(const char *answer, size_t len)
{
    const char *body = strstr(answer, "\r\n\r\n"), *ctype = strstr(answer, "problem+json");
    int status = 0;
    json_t *problem;

    if (len == 0)
        return; /* the request never ended: nothing to answer */
    FUZZ_CHECK(sscanf(answer, "HTTP/1.%*d %d", &status) == 1 && status >= 100 && status < 600);
    FUZZ_CHECK(body != NULL);
    body += 4;
    if (!ctype || ctype > body || *body == '\0' || strncmp(body, "HTTP/1.", 7) == 0)
        return;
    problem = json_loadb(body, len - (size_t)(body - answer), JSON_DISABLE_EOF_CHECK, NULL);
    FUZZ_CHECK(json_is_object(problem) && json_is_string(json_object_get(problem, "type")));
    FUZZ_CHECK(strncmp(json_string_value(json_object_get(problem, "type")),
                       "urn:caseflow:problem:", 21) == 0);
    FUZZ_CHECK(json_integer_value(json_object_get(problem, "status")) == status);
    json_decref(problem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char answer[1 << 20];
    struct sockaddr_in peer;
    size_t sent = 0, len = 0;
    int fds[2], closed = 0;

    if (!daemon_)
        start();
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    FUZZ_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(MHD_add_connection(daemon_, fds[1], (const struct sockaddr *)&peer, sizeof peer) ==
               MHD_YES);
    for (int round = 0; round < MAX_ROUNDS && !closed; round++) {
        if (sent < size) {
            ssize_t n = write(fds[0], data + sent, size - sent);
            if (n > 0)
                sent += (size_t)n;
            else
                FUZZ_CHECK(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
            if (sent == size || n < 0)
                shutdown(fds[0], SHUT_WR);
        } else if (size == 0 && round == 0) {
            shutdown(fds[0], SHUT_WR);
        }
        MHD_run(daemon_);
        closed = drain(fds[0], answer, sizeof answer - 1, &len);
    }
    answer[len] = '\0';
    check_answer(answer, len);
    close(fds[0]);
    /* The server notices the closed socket and ends the connection before the next input. */
    for (int round = 0; round < MAX_ROUNDS; round++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        MHD_run(daemon_);
    }
    return 0;
}
