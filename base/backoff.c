/* The wall clock, sleeping and the delay before trying again (base/backoff.h). */
#include "base/backoff.h"

#include <time.h>

long long cf_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cf_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

long long cf_backoff_delay(long long first_ms, long long max_ms, int attempt,
                           unsigned long long *rng)
{
    long long d = first_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (!rng)
        return d;
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return d / 2 + (d > 1 ? (long long)(*rng % (unsigned long long)(d / 2 + 1)) : 0);
}
