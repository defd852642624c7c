/* The kit's TCP proxy: passes, blackholes and heals the traffic to a server (proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_CONNS = 256 };

/* One client's connection and, while it passes, the proxy's connection to the server. */
typedef struct conn {
    int cfd, ufd; /* -1: none */
    int held;     /* caught by a blackhole: silent for good */
} conn;

struct kit_proxy {
    int lfd, wake[2];
    struct sockaddr_in upstream;
    pthread_t thread;
    pthread_mutex_t lock;
    int blackhole, stop, accepted, held;
    conn conns[MAX_CONNS];
};

static void die(const char *what)
{
    fprintf(stderr, "proxy: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void drop(conn *c)
{
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->ufd >= 0)
        close(c->ufd);
    c->cfd = c->ufd = -1;
    c->held = 0;
}

/* Sends all `n` bytes (blocking); 0, or -1 when the peer is gone. */
static int send_all(int fd, const char *buf, ssize_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= w;
    }
    return 0;
}

static void accept_one(kit_proxy *p)
{
    int fd = accept(p->lfd, NULL, NULL), slot = -1;
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CONNS && slot < 0; i++)
        if (p->conns[i].cfd < 0)
            slot = i;
    if (slot < 0) {
        close(fd);
        return;
    }
    p->accepted++;
    p->conns[slot].cfd = fd;
    p->conns[slot].ufd = -1;
    p->conns[slot].held = p->blackhole;
    if (p->blackhole) {
        p->held++;
        return;
    }
    p->conns[slot].ufd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->conns[slot].ufd < 0 ||
        connect(p->conns[slot].ufd, (struct sockaddr *)&p->upstream, sizeof p->upstream) != 0)
        drop(&p->conns[slot]);
}

/* Data on `from` of connection `c`: forwarded to `to`, or dropped when the connection is held. */
static void serve(kit_proxy *p, conn *c, int from_client)
{
    char buf[65536];
    int from = from_client ? c->cfd : c->ufd, to = from_client ? c->ufd : c->cfd;
    ssize_t n = recv(from, buf, sizeof buf, 0);

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        if (c->held && !from_client) {
            /* The server ended its side (a timeout of its own): the client is still held. */
            close(c->ufd);
            c->ufd = -1;
            return;
        }
        if (c->held)
            p->held--;
        drop(c);
        return;
    }
    if (!c->held && send_all(to, buf, n) != 0)
        drop(c);
}

static void *proxy_main(void *arg)
{
    kit_proxy *p = arg;
    struct pollfd fds[2 + 2 * MAX_CONNS];
    int who[2 + 2 * MAX_CONNS];

    for (;;) {
        int n = 0;
        pthread_mutex_lock(&p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        fds[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        who[n++] = -1;
        fds[n] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        who[n++] = -2;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (p->conns[i].cfd >= 0) {
                fds[n] = (struct pollfd){.fd = p->conns[i].cfd, .events = POLLIN};
                who[n++] = 2 * i;
            }
            if (p->conns[i].ufd >= 0) {
                fds[n] = (struct pollfd){.fd = p->conns[i].ufd, .events = POLLIN};
                who[n++] = 2 * i + 1;
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (poll(fds, (nfds_t)n, 1000) < 0 && errno != EINTR)
            die("poll");
        pthread_mutex_lock(&p->lock);
        for (int k = 0; k < n; k++) {
            if (!fds[k].revents)
                continue;
            if (who[k] == -1) {
                accept_one(p);
            } else if (who[k] == -2) {
                char b[64];
                if (read(p->wake[0], b, sizeof b) < 0 && errno != EAGAIN)
                    die("read");
            } else {
                conn *c = &p->conns[who[k] / 2];
                /* Skip a descriptor that an earlier entry of this round closed. */
                if ((who[k] % 2 ? c->ufd : c->cfd) == fds[k].fd)
                    serve(p, c, who[k] % 2 == 0);
            }
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

kit_proxy *kit_proxy_start_pg(const char *uri, char *out, size_t n)
{
    kit_proxy *p = calloc(1, sizeof *p);
    const char *at = strrchr(uri, '@'), *colon, *slash;
    struct sockaddr_in me = {.sin_family = AF_INET};
    socklen_t len = sizeof me;
    char host[64];
    int one = 1;

    if (!p || !at || !(colon = strchr(at, ':')) || !(slash = strchr(colon, '/')) ||
        (size_t)(colon - at - 1) >= sizeof host) {
        fprintf(stderr, "proxy: cannot read the server's address in the PostgreSQL URI\n");
        exit(1);
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - at - 1), at + 1);
    p->upstream.sin_family = AF_INET;
    p->upstream.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &p->upstream.sin_addr) != 1) {
        fprintf(stderr, "proxy: %s is not an IPv4 address\n", host);
        exit(1);
    }
    for (int i = 0; i < MAX_CONNS; i++)
        p->conns[i].cfd = p->conns[i].ufd = -1;
    pthread_mutex_init(&p->lock, NULL);
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((p->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(p->lfd, (struct sockaddr *)&me, sizeof me) != 0 || listen(p->lfd, 64) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&me, &len) != 0 || pipe(p->wake) != 0)
        die("listening");
    snprintf(out, n, "%.*s127.0.0.1:%d%s", (int)(at + 1 - uri), uri, ntohs(me.sin_port), slash);
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0)
        die("starting its thread");
    printf("proxy: 127.0.0.1:%d passes to %s:%d\n", ntohs(me.sin_port), host,
           ntohs(p->upstream.sin_port));
    return p;
}

static void set_mode(kit_proxy *p, int blackhole)
{
    pthread_mutex_lock(&p->lock);
    p->blackhole = blackhole;
    if (blackhole)
        for (int i = 0; i < MAX_CONNS; i++)
            if (p->conns[i].cfd >= 0 && !p->conns[i].held) {
                p->conns[i].held = 1;
                p->held++;
            }
    pthread_mutex_unlock(&p->lock);
    if (write(p->wake[1], "x", 1) != 1)
        die("write");
}

void kit_proxy_blackhole(kit_proxy *p)
{
    set_mode(p, 1);
}

void kit_proxy_heal(kit_proxy *p)
{
    set_mode(p, 0);
}

/* A counter of `p`, read under its lock. */
static int counter(kit_proxy *p, const int *c)
{
    int n;
    pthread_mutex_lock(&p->lock);
    n = *c;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int kit_proxy_accepted(kit_proxy *p)
{
    return counter(p, &p->accepted);
}

int kit_proxy_held(kit_proxy *p)
{
    return counter(p, &p->held);
}

void kit_proxy_stop(kit_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    if (write(p->wake[1], "x", 1) != 1)
        die("write");
    pthread_join(p->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        drop(&p->conns[i]);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
