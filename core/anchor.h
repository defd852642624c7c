/*
 * The anchor file: the hash of every case's last event as of a moment, in plain text, with one
 * digest over them all and, when a key is configured, an Ed25519 signature over that digest.
 * Kept where the database's owner cannot reach it, it lets `caseflow replay --anchor` tell a
 * history rewritten with every hash recomputed, which the chain alone cannot (core/chain.h).
 * This module makes and reads the text and checks digest and signature; the caller reads the
 * rows from the database and writes the file (engine/anchor.h).
 *
 * Version 1 of the file, line by line (every line ends with "\n"):
 *
 *   caseflow anchor 1
 *   # comment lines, anywhere in the header
 *   made: 2026-12-01T02:00:00+08:00        when the file was made
 *   as-of: 2026-11-30T23:59:59.999+08:00   the moment it records, or "all" (every stored event)
 *   cases: 2                               how many case lines follow
 *   digest: sha256:<64 hex>                SHA-256 over the case lines, see below
 *   key: ed25519:<64 hex>                  signed files: SHA-256 of the public key (DER)
 *   signature: ed25519:<128 hex>           signed files: over every byte above this line
 *                                          (a blank line ends the header)
 *   (2026)豫0381执1号 12 <64 hex>
 *   (2026)豫0381执2号 3 <64 hex>
 *
 * A case line is the case number, the seq of the case's last event applied at or before the
 * as-of moment, and that event's stored hash, separated by one space each; the case number may
 * itself hold spaces (the line is read from its right end).  Lines are sorted by case number
 * byte by byte, each case once.  The digest is SHA-256 over the case lines exactly as written,
 * each with its "\n".  The signature covers the header (which holds the digest, as-of and
 * count), so neither a case line nor the moment can change without breaking it.  The public
 * key's id is what `openssl pkey -pubin -in PUB.pem -outform DER | sha256sum` prints.
 *
 * Messages about a file are "name:line:column: what is wrong" (columns count characters).
 */
#ifndef CF_ANCHOR_H
#define CF_ANCHOR_H

#include <stdio.h>

#include "base/err.h"
#include "core/caltime.h"

/* The as-of of an anchor of every stored event ("as-of: all"). */
#define CF_ANCHOR_ALL INT64_MAX

/* ---- Keys ----------------------------------------------------------------------------------- */

/* An Ed25519 key: a private one signs (and verifies), a public one verifies. */
typedef struct cf_anchor_key cf_anchor_key;

/*
 * Parses a PEM key of `len` bytes: a private key ("BEGIN PRIVATE KEY", as `openssl genpkey
 * -algorithm ed25519` makes) or a public one ("BEGIN PUBLIC KEY").  `name` prefixes messages.
 * Returns the key (caller frees with cf_anchor_key_free) or NULL with the reason in `err`: not
 * PEM, encrypted (a key that needs a passphrase cannot sign from cron), or not Ed25519.
 */
cf_anchor_key *cf_anchor_key_parse(const char *name, const char *pem, size_t len, char *err,
                                   size_t errsz);

/* Reads the PEM file at `path` (at most 64 KiB) with cf_anchor_key_parse. */
cf_anchor_key *cf_anchor_key_load(const char *path, char *err, size_t errsz);

/* Returns 1 when the key can sign (it is private), else 0. */
int cf_anchor_key_is_private(const cf_anchor_key *k);

/* Returns the key's id: SHA-256 (64 hex digits) of its public key in DER, owned by the key. */
const char *cf_anchor_key_id(const cf_anchor_key *k);

void cf_anchor_key_free(cf_anchor_key *k);

/* ---- Writing -------------------------------------------------------------------------------- */

typedef struct cf_anchor_writer cf_anchor_writer;

/*
 * Starts an anchor made at `made` of the moment `as_of` (CF_ANCHOR_ALL: every stored event);
 * times are written at `utc_offset_min` (the court's calendar).  Returns the writer (caller frees
 * with cf_anchor_writer_free) or NULL when memory runs out.
 */
cf_anchor_writer *cf_anchor_writer_new(cf_time made, cf_time as_of, int utc_offset_min);

/*
 * Adds the line of one case: `seq` of its last event and that event's `hash`.  Cases must come
 * in ascending byte order of their numbers (PostgreSQL's `order by case_no collate "C"`).
 * Returns 0 and the line, with its "\n", in *line and *len (owned by the writer, valid until the
 * next call), or CF_EINVAL with the reason in `err`: a case out of order or repeated, an empty
 * case number or one with a control character or invalid UTF-8, seq below 1, a hash that is not
 * 64 lowercase hexadecimal digits.
 */
int cf_anchor_writer_add(cf_anchor_writer *w, const char *case_no, long long seq, const char *hash,
                         const char **line, size_t *len, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Ends the lines and returns the header that goes before them (ending with its blank line),
 * signed with `key` when it is not NULL.  New string (caller frees), or NULL with the reason in
 * `err`: a key that is not private, or memory.  Call it once, after the last line.
 */
char *cf_anchor_writer_header(cf_anchor_writer *w, const cf_anchor_key *key, char *err,
                              size_t errsz);

/* The number of case lines added, and, after cf_anchor_writer_header, the digest (64 hex). */
size_t cf_anchor_writer_count(const cf_anchor_writer *w);
const char *cf_anchor_writer_digest(const cf_anchor_writer *w);

void cf_anchor_writer_free(cf_anchor_writer *w);

/* ---- Reading -------------------------------------------------------------------------------- */

/* What a file's header says. */
typedef struct cf_anchor_head {
    char made[CF_TIME_BUFSZ];  /* as written */
    char as_of[CF_TIME_BUFSZ]; /* as written: a time or "all" */
    cf_time as_of_time;        /* CF_ANCHOR_ALL for "all" */
    long long cases;
    char digest[65];
    int is_signed;   /* 1 when the file has a key and a signature */
    char key_id[65]; /* the signer's key id, "" when not signed */
} cf_anchor_head;

/* One case line. */
typedef struct cf_anchor_entry {
    const char *case_no; /* owned by the reader, valid until its next call */
    long long seq;
    char hash[65];
} cf_anchor_entry;

typedef struct cf_anchor_reader cf_anchor_reader;

/*
 * Opens the file at `path` and reads its header (cf_anchor_open_stream).  Returns the reader
 * (caller closes with cf_anchor_close) or NULL with "path:line:column: what is wrong" in `err`.
 */
cf_anchor_reader *cf_anchor_open(const char *path, char *err, size_t errsz);

/* The same on the open stream `f` (borrowed, not closed), named `name` in messages. */
cf_anchor_reader *cf_anchor_open_stream(FILE *f, const char *name, char *err, size_t errsz);

/* The header of an open reader. */
const cf_anchor_head *cf_anchor_head_of(const cf_anchor_reader *r);

/*
 * Reads the next case line into `*e`.  Returns 1 with an entry; 0 at the end of the file, after
 * checking that the lines are as many as the header says and give its digest; or CF_EPARSE (a
 * malformed line), CF_ESTATE (count or digest do not agree: the file was changed) or CF_EIO,
 * with "name:line:column: what is wrong" in `err`.  After 0 or an error, further calls return
 * the same.
 */
int cf_anchor_next(cf_anchor_reader *r, cf_anchor_entry *e, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Checks the signature of the header against `key` (public or private).  Needs only the
 * header: the case lines are bound to it by the digest, which cf_anchor_next checks.
 * Returns 0, or CF_ESTATE with the reason in `err`: the file is not signed, it was signed with
 * another key, or the signature does not match (the header was changed).
 */
int cf_anchor_check_signature(const cf_anchor_reader *r, const cf_anchor_key *key, char *err,
                              size_t errsz) CF_MUST_CHECK;

/*
 * Reads every remaining line and checks count and digest, and the signature when `key` is not
 * NULL.  Returns 0 or the first error of cf_anchor_next / cf_anchor_check_signature.
 */
int cf_anchor_verify(cf_anchor_reader *r, const cf_anchor_key *key, char *err,
                     size_t errsz) CF_MUST_CHECK;

/* Closes the reader (and the file cf_anchor_open opened); NULL is allowed. */
void cf_anchor_close(cf_anchor_reader *r);

#endif
