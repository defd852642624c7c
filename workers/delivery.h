/*
 * The delivery routes of the daily service trips (集约送达): a table, read from a YAML file
 * (workflows/routes/yanshi.yaml, config `service.routes`), of the places — towns, subdistricts,
 * streets — that each route's clerk covers, so that a party's address gives the route its
 * documents travel on.
 */
#ifndef CF_DELIVERY_H
#define CF_DELIVERY_H

#include <stddef.h>

#include "base/err.h"

typedef struct cf_delivery cf_delivery;

/*
 * Loads the table at `path`.  Returns 0 and the table in *out (free with cf_delivery_free), or
 * CF_EIO (cannot read), CF_EPARSE / CF_EINVAL (`path:line:column: what is wrong` in err), or
 * CF_ENOMEM.
 */
int cf_delivery_load(const char *path, cf_delivery **out, char *err, size_t errsz) CF_MUST_CHECK;

/* Parses the table from `text` of `len` bytes; `path` names it in messages.  As cf_delivery_load.
 */
int cf_delivery_parse(const char *path, const char *text, size_t len, cf_delivery **out, char *err,
                      size_t errsz) CF_MUST_CHECK;

/*
 * The route of `address`: the route with the longest of its places found in the address, or the
 * table's default when none is (also for a NULL address).  The text belongs to the table.
 */
const char *cf_delivery_route(const cf_delivery *r, const char *address);

void cf_delivery_free(cf_delivery *r);

#endif
