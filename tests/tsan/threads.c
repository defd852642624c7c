/*
 * C11 threads for the ThreadSanitizer build only (scripts/tsan; linked into every program of
 * that build): librdkafka starts its threads with thrd_create, which glibc 2.34 and later runs
 * without going through pthread_create, so clang 14's TSan (its interceptor for thrd_create came
 * with LLVM 15) never learns of those threads and crashes in its allocator on their first malloc.
 * These definitions take the place of glibc's for the whole process and go through pthread_*,
 * which TSan does intercept.  thrd_t is pthread_t in glibc.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_join(thrd_t thr, int *res);
int thrd_detach(thrd_t thr);

typedef struct start {
    thrd_start_t func;
    void *arg;
} start;

static void *run(void *p)
{
    start s = *(start *)p;
    free(p);
    return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    start *s = malloc(sizeof *s);
    int rc;

    if (!s)
        return thrd_nomem;
    s->func = func;
    s->arg = arg;
    rc = pthread_create((pthread_t *)thr, NULL, run, s);
    if (rc != 0)
        free(s);
    return rc == 0 ? thrd_success : thrd_error;
}

int thrd_join(thrd_t thr, int *res)
{
    void *ret;
    if (pthread_join((pthread_t)thr, &ret) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)ret;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach((pthread_t)thr) == 0 ? thrd_success : thrd_error;
}
