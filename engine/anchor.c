/*
 * Anchor files from the database (anchor.h): a read-only snapshot streamed through a cursor
 * into the lines, and the file written beside its place and moved there when it is complete.
 */
#include "engine/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/store.h"

/* Rows fetched from the cursor at a time: FETCH_SQL says the same number. */
enum { FETCH_ROWS = 2000 };
static const char FETCH_SQL[] = "fetch 2000 from anchor_rows";

/*
 * For each case, its last event applied at or before $1.  Cases are ordered byte by byte, as the
 * file's lines are; each case is found by one backward scan of its primary key.
 */
static const char DECLARE_SQL[] =
    "declare anchor_rows no scroll cursor for "
    "select c.case_no, e.seq, e.hash from cases c "
    "cross join lateral (select seq, hash from events where events.case_no = c.case_no "
    "and applied_at <= $1::timestamptz order by seq desc limit 1) e "
    "order by c.case_no collate \"C\"";

/* Runs `sql` without parameters; returns 0 or CF_EDB with the reason. */
static int run(PGconn *db, const char *sql, char *err, size_t errsz)
{
    PGresult *res = cf_store_exec(db, sql, 0, NULL, err, errsz);
    PQclear(res);
    return res ? 0 : CF_EDB;
}

/* Streams the snapshot's lines through `w` into `body`; returns 0 or an error. */
static int stream_lines(PGconn *db, cf_time as_of, cf_anchor_writer *w, FILE *body, char *err,
                        size_t errsz)
{
    char when[CF_TIME_BUFSZ];
    const char *p[1] = {when};
    PGresult *res;
    int rc = 0, n;

    if (as_of == CF_ANCHOR_ALL)
        snprintf(when, sizeof when, "infinity");
    else
        cf_time_format(as_of, 0, when, sizeof when);
    /* One snapshot: a case's line and every other case's are of the same moment of the
     * database, whatever the engine commits meanwhile. */
    if ((rc = run(db, "begin isolation level repeatable read, read only", err, errsz)) != 0)
        return rc;
    res = cf_store_exec(db, DECLARE_SQL, 1, p, err, errsz);
    if (!res) {
        rc = CF_EDB;
        goto out;
    }
    PQclear(res);
    do {
        res = cf_store_exec(db, FETCH_SQL, 0, NULL, err, errsz);
        if (!res) {
            rc = CF_EDB;
            goto out;
        }
        n = PQntuples(res);
        for (int i = 0; i < n && rc == 0; i++) {
            const char *line;
            size_t len;
            rc = cf_anchor_writer_add(w, PQgetvalue(res, i, 0),
                                      strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                      PQgetvalue(res, i, 2), &line, &len, err, errsz);
            if (rc == 0 && fwrite(line, 1, len, body) != len)
                rc = cf_errf(err, errsz, CF_EIO, "writing the lines: %s", strerror(errno));
        }
        PQclear(res);
    } while (n == FETCH_ROWS && rc == 0);
out:
    if (rc == 0)
        rc = run(db, "commit", err, errsz);
    else
        PQclear(PQexec(db, "rollback"));
    return rc;
}

/* Copies what `from` holds (from its start) to `to`; returns 0 or -1. */
static int copy_file(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;

    if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, from)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            return -1;
    return ferror(from) ? -1 : 0;
}

/* A temporary file beside `path`: ".<name>.<what>.XXXXXX" in its folder.  Returns the open
 * stream (template in `tmp`) or NULL. */
static FILE *temp_beside(const char *path, const char *what, char *tmp, size_t n)
{
    char *a = strdup(path), *b = strdup(path);
    FILE *f = NULL;
    int fd = -1;

    if (a && b && snprintf(tmp, n, "%s/.%s.%s.XXXXXX", dirname(a), basename(b), what) < (int)n)
        fd = mkstemp(tmp);
    if (fd >= 0 && !(f = fdopen(fd, "w+"))) {
        close(fd);
        unlink(tmp);
    }
    free(a);
    free(b);
    return f;
}

/* Syncs the folder that holds `path`, so that a rename survives a crash.  Best effort. */
static void sync_folder(const char *path)
{
    char *copy = strdup(path);
    int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY) : -1;

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

int cf_anchor_write(PGconn *db, const char *path, cf_time made, cf_time as_of, int utc_offset_min,
                    const cf_anchor_key *key, int force, cf_anchor_written *out, char *err,
                    size_t errsz)
{
    char body_tmp[4096], file_tmp[4096];
    FILE *body = NULL, *file = NULL;
    cf_anchor_writer *w = NULL;
    char *header = NULL;
    mode_t mask;
    int rc = 0, placed = 0;
    struct stat st;

    memset(out, 0, sizeof *out);
    file_tmp[0] = '\0';
    if (!force && lstat(path, &st) == 0)
        return cf_errf(err, errsz, CF_EDUP, "%s exists already (--force replaces it)", path);
    if (key && !cf_anchor_key_is_private(key))
        return cf_errf(err, errsz, CF_EINVAL, "a public key cannot sign: give the private key");
    if (!(w = cf_anchor_writer_new(made, as_of, utc_offset_min)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    /* The lines go first to a nameless file beside the anchor: the header, which holds their
     * digest, is known only after the last of them. */
    if (!(body = temp_beside(path, "lines", body_tmp, sizeof body_tmp))) {
        rc = cf_errf(err, errsz, CF_EIO, "cannot create a file beside %s: %s", path,
                     strerror(errno));
        goto out;
    }
    unlink(body_tmp);
    if ((rc = stream_lines(db, as_of, w, body, err, errsz)) != 0)
        goto out;
    if (!(header = cf_anchor_writer_header(w, key, err, errsz))) {
        rc = CF_EINVAL;
        goto out;
    }
    if (!(file = temp_beside(path, "new", file_tmp, sizeof file_tmp))) {
        rc = cf_errf(err, errsz, CF_EIO, "cannot create a file beside %s: %s", path,
                     strerror(errno));
        file_tmp[0] = '\0';
        goto out;
    }
    /* Read-only, as a record is: whoever must replace it says --force. */
    mask = umask(0);
    umask(mask);
    if (fchmod(fileno(file), 0444 & ~mask) != 0 || fputs(header, file) < 0 ||
        copy_file(body, file) != 0 || fflush(file) != 0 || fsync(fileno(file)) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "writing %s: %s", file_tmp, strerror(errno));
        goto out;
    }
    if (fclose(file) != 0) {
        file = NULL;
        rc = cf_errf(err, errsz, CF_EIO, "writing %s: %s", file_tmp, strerror(errno));
        goto out;
    }
    file = NULL;
    if (force) {
        placed = rename(file_tmp, path) == 0;
    } else {
        /* A hard link never replaces what another writer may have put there meanwhile. */
        placed = link(file_tmp, path) == 0;
        if (!placed && errno == EEXIST) {
            rc = cf_errf(err, errsz, CF_EDUP, "%s exists already (--force replaces it)", path);
            goto out;
        }
        if (!placed && (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) &&
            lstat(path, &st) != 0)
            placed = rename(file_tmp, path) == 0; /* a file system without hard links */
    }
    if (!placed) {
        rc = cf_errf(err, errsz, CF_EIO, "moving %s to %s: %s", file_tmp, path, strerror(errno));
        goto out;
    }
    sync_folder(path);
    out->cases = cf_anchor_writer_count(w);
    snprintf(out->digest, sizeof out->digest, "%s", cf_anchor_writer_digest(w));
out:
    if (file)
        fclose(file);
    if (file_tmp[0])
        unlink(file_tmp); /* after a link the anchor stays; after a rename this does nothing */
    if (body)
        fclose(body);
    free(header);
    cf_anchor_writer_free(w);
    return rc;
}
