/*
 * A fixed pool of PostgreSQL connections shared by the server's connection threads: a thread
 * takes one for the statements of a request and gives it back.  A connection PostgreSQL dropped
 * is closed when given back and made again when next needed, so that the server serves again as
 * soon as the database does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/store.h"
#include "internal.h"

struct cf_pool {
    char *conninfo;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **idle; /* connections free to take */
    size_t nidle;
    int size, out; /* connections at most, and taken now */
};

cf_pool *cf_pool_new(const char *conninfo, int size)
{
    cf_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->conninfo = strdup(conninfo)) ||
        !(p->idle = calloc((size_t)size, sizeof *p->idle))) {
        if (p)
            free(p->conninfo);
        free(p);
        return NULL;
    }
    p->size = size;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

void cf_pool_free(cf_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->idle);
    free(p->conninfo);
    free(p);
}

PGconn *cf_pool_get(cf_pool *p, int wait_ms, char *err, size_t errsz)
{
    struct timespec until;
    PGconn *db = NULL;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (p->nidle == 0 && p->out >= p->size) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            cf_errf(err, errsz, CF_ETIMEOUT, "every database connection is busy: try again");
            return NULL;
        }
    }
    if (p->nidle > 0)
        db = p->idle[--p->nidle];
    p->out++;
    pthread_mutex_unlock(&p->mu);
    if (!db && !(db = cf_store_connect(p->conninfo, err, errsz))) {
        pthread_mutex_lock(&p->mu);
        p->out--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return db;
}

void cf_pool_put(cf_pool *p, PGconn *db)
{
    /* A connection left inside a transaction, or broken, is not handed to the next request. */
    if (PQstatus(db) != CONNECTION_OK || PQtransactionStatus(db) != PQTRANS_IDLE) {
        PQfinish(db);
        db = NULL;
    }
    pthread_mutex_lock(&p->mu);
    p->out--;
    if (db)
        p->idle[p->nidle++] = db;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
