/*
 * A TCP proxy between a caseflow process and a server of the stack (#16), to cut the network
 * between them: it listens on a free 127.0.0.1 port and passes traffic both ways until told to
 * blackhole it.  A blackhole is a partition as a firewall dropping packets makes it: every
 * connection open at that moment, and every one accepted while it lasts, is held open and
 * silent for good (what either side sends is read and dropped, nothing is forwarded, nothing is
 * closed by the proxy), so a client sees no error, only no answer.  Once healed, new connections
 * pass again; the held ones stay silent until their client closes them.
 */
#ifndef CF_KIT_PROXY_H
#define CF_KIT_PROXY_H

#include <stddef.h>

typedef struct kit_proxy kit_proxy;

/*
 * Starts a proxy to the server of the PostgreSQL URI `uri` (postgresql://user:pw@HOST:PORT/db...)
 * and writes the same URI through the proxy into `out`.  Exits the test when it cannot.  Its
 * thread runs until kit_proxy_stop.
 */
kit_proxy *kit_proxy_start_pg(const char *uri, char *out, size_t n);
/* Starts holding every connection silent (see above). */
void kit_proxy_blackhole(kit_proxy *p);
/* New connections pass again. */
void kit_proxy_heal(kit_proxy *p);
/* Connections accepted so far, and those the blackhole holds now. */
int kit_proxy_accepted(kit_proxy *p);
int kit_proxy_held(kit_proxy *p);
/* Closes every connection and frees the proxy. */
void kit_proxy_stop(kit_proxy *p);

#endif
