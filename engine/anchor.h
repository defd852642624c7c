/*
 * Writing an anchor file (core/anchor.h) from the database: the hash of every case's last event
 * applied at or before a moment.  The rows are read in one consistent snapshot through a cursor,
 * so that an installation of any size is anchored in bounded memory, and the file appears whole
 * or not at all.
 */
#ifndef CF_ENGINE_ANCHOR_H
#define CF_ENGINE_ANCHOR_H

#include <libpq-fe.h>

#include "core/anchor.h"

/* What cf_anchor_write wrote. */
typedef struct cf_anchor_written {
    size_t cases;
    char digest[65];
} cf_anchor_written;

/*
 * Writes the anchor of `db` as of `as_of` (CF_ANCHOR_ALL: every stored event) to `path`, made at
 * `made`, with times at `utc_offset_min`, signed with `key` (a private key) unless it is NULL.
 * The file is written beside `path` under a temporary name, synced, and then moved into place;
 * an existing file is replaced only when `force` is set.  Fills `*out`.
 * Returns 0; CF_EDUP when `path` exists and `force` is not set; CF_EDB, CF_EIO or CF_EINVAL (a
 * case number or hash the file cannot hold, a public key) with the reason in `err`.
 */
int cf_anchor_write(PGconn *db, const char *path, cf_time made, cf_time as_of, int utc_offset_min,
                    const cf_anchor_key *key, int force, cf_anchor_written *out, char *err,
                    size_t errsz) CF_MUST_CHECK;

#endif
