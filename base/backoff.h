/*
 * Waiting, as every process of caseflow waits: the wall clock in milliseconds, a sleep, and the
 * delay before trying again after a failure (doubling up to a cap, optionally half of it random
 * so that many clients failing together do not come back together).  The engine's own clock,
 * real or simulated, is another thing (engine/ticker.c): this is for timeouts and retries only.
 */
#ifndef CF_BACKOFF_H
#define CF_BACKOFF_H

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
long long cf_wall_ms(void);

/* Sleeps `ms` milliseconds (a signal may end it early). */
void cf_sleep_ms(int ms);

/*
 * The delay before try `attempt` + 1 (attempt counts from 1): `first_ms`, doubled for each
 * earlier attempt, at most `max_ms`.  With `rng` (a xorshift state the caller keeps, not 0) half
 * of the delay is random; NULL gives the delay itself.
 */
long long cf_backoff_delay(long long first_ms, long long max_ms, int attempt,
                           unsigned long long *rng);

#endif
