/*
 * `caseflow anchor write` and `caseflow anchor verify`: the anchor of the hash chains, a file of
 * every case's last event hash as of a moment, kept where the database's owner cannot reach it
 * (core/anchor.h has the format, engine/anchor.h the writing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/config.h"
#include "commands.h"
#include "core/anchor.h"
#include "core/replay.h"
#include "engine/anchor.h"
#include "session.h"

static int usage(FILE *out, int code)
{
    fprintf(out,
            "usage: caseflow anchor write --out FILE [--month YYYY-MM | --as-of TIME] [--key KEY]\n"
            "                             [--force]\n"
            "       caseflow anchor verify FILE [--pub PUB]\n"
            "\n"
            "write   writes every case's last event (its seq and hash) as of a moment to FILE,\n"
            "        with one SHA-256 digest over them, signed with an Ed25519 key when one is\n"
            "        given.  Keep the file where the database's owner cannot change it: then\n"
            "        `caseflow replay --anchor FILE` tells a history rewritten since, even one\n"
            "        whose hashes were all recomputed.\n"
            "  --out FILE      the file to write (atomically; an existing one is kept)\n"
            "  --month YYYY-MM as of the end of that month in the court's time zone\n"
            "  --as-of TIME    as of TIME (an ISO 8601 time with an offset, or YYYY-MM-DD: the\n"
            "                  end of that day); without either, every stored event\n"
            "  --key KEY       the Ed25519 private key (PEM) that signs; default: anchor.key\n"
            "                  (CASEFLOW_ANCHOR_KEY).  Make one with\n"
            "                  openssl genpkey -algorithm ed25519 -out KEY\n"
            "  --force         replace FILE when it exists\n"
            "\n"
            "verify  checks that FILE's lines give its digest, and its signature against the\n"
            "        public key when one is given.\n"
            "  --pub PUB       the Ed25519 public key (PEM); default: anchor.pub\n"
            "                  (CASEFLOW_ANCHOR_PUB).  openssl pkey -in KEY -pubout -out PUB\n"
            "\n"
            "Exit status: 0 written or verified, 1 failed (or the file does not verify), 2 bad\n"
            "usage.\n");
    return code;
}

/* Parses "YYYY-MM" into the end of that month at `offset`; returns 0 or -1. */
static int parse_month(const char *text, int offset, cf_time *out)
{
    char day[16];
    cf_date d;

    if (strlen(text) != 7 || text[4] != '-')
        return -1;
    snprintf(day, sizeof day, "%s-01", text);
    if (cf_date_parse(day, &d) != 0)
        return -1;
    *out = cf_time_at(cf_date_add_months(d, 1), 0, offset) - 1;
    return 0;
}

static cf_time now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cf_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_anchor(int argc, char **argv)
{
    const char *out_path = NULL, *month = NULL, *as_of_text = NULL, *key_path = NULL;
    char err[2048], when[CF_TIME_BUFSZ];
    int force = 0, offset = 0, rc = 1;
    cf_time as_of = CF_ANCHOR_ALL;
    cf_config cfg;
    cf_anchor_key *key = NULL;
    cf_anchor_written w;
    PGconn *db = NULL;
    struct stat st;

    memset(&cfg, 0, sizeof cfg);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--month") == 0 && i + 1 < argc)
            month = argv[++i];
        else if (strcmp(argv[i], "--as-of") == 0 && i + 1 < argc)
            as_of_text = argv[++i];
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key_path = argv[++i];
        else {
            fprintf(stderr, "caseflow anchor write: unexpected argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (!out_path) {
        fprintf(stderr, "caseflow anchor write: --out FILE is required (see --help)\n");
        return 2;
    }
    if (month && as_of_text) {
        fprintf(stderr, "caseflow anchor write: give --month or --as-of, not both\n");
        return 2;
    }
    if (!(db = cf_cli_connect(&cfg, "caseflow anchor write")))
        goto out;
    if (cf_cli_utc_offset(&cfg, "caseflow anchor write", &offset) != 0)
        goto out;
    if (month && parse_month(month, offset, &as_of) != 0) {
        fprintf(stderr, "caseflow anchor write: --month '%s' is not a month (YYYY-MM)\n", month);
        rc = 2;
        goto out;
    }
    if (as_of_text && cf_replay_parse_as_of(as_of_text, offset, &as_of) != 0) {
        fprintf(stderr,
                "caseflow anchor write: --as-of '%s' is neither a date (YYYY-MM-DD) nor an ISO "
                "8601 time with an offset (2026-03-02T17:00:00+08:00)\n",
                as_of_text);
        rc = 2;
        goto out;
    }
    if (!key_path && cfg.anchor_key && *cfg.anchor_key)
        key_path = cfg.anchor_key;
    if (key_path && !(key = cf_anchor_key_load(key_path, err, sizeof err))) {
        fprintf(stderr, "caseflow anchor write: %s\n", err);
        goto out;
    }
    if (key && !cf_anchor_key_is_private(key)) {
        fprintf(stderr,
                "caseflow anchor write: %s is a public key: signing needs the private "
                "one\n",
                key_path);
        goto out;
    }
    if (key && stat(key_path, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr,
                "caseflow anchor write: warning: the private key %s can be read by others "
                "(chmod 600 it)\n",
                key_path);
    if (cf_anchor_write(db, out_path, now_ms(), as_of, offset, key, force, &w, err, sizeof err) !=
        0) {
        fprintf(stderr, "caseflow anchor write: %s\n", err);
        goto out;
    }
    if (as_of == CF_ANCHOR_ALL)
        snprintf(when, sizeof when, "now (every stored event)");
    else
        cf_time_format(as_of, offset, when, sizeof when);
    printf("wrote %s: %zu case%s as of %s\n  digest     sha256:%s\n", out_path, w.cases,
           w.cases == 1 ? "" : "s", when, w.digest);
    if (key)
        printf("  signature  ed25519, key %s\n", cf_anchor_key_id(key));
    else
        printf("  signature  none (no key: --key or anchor.key)\n");
    rc = 0;
out:
    cf_anchor_key_free(key);
    cf_cli_disconnect(db, &cfg);
    return rc;
}

static int verify_anchor(int argc, char **argv)
{
    const char *path = NULL, *pub_path = NULL;
    char err[2048];
    cf_config cfg;
    cf_anchor_key *pub = NULL;
    cf_anchor_reader *r = NULL;
    const cf_anchor_head *h;
    int rc = 1;

    memset(&cfg, 0, sizeof cfg);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc)
            pub_path = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "caseflow anchor verify: unexpected argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (!path)
        return usage(stderr, 2);
    if (cf_config_load(&cfg, getenv("CASEFLOW_CONFIG"), err, sizeof err) != 0) {
        fprintf(stderr, "caseflow anchor verify: %s\n", err);
        goto out;
    }
    if (!pub_path && cfg.anchor_pub && *cfg.anchor_pub)
        pub_path = cfg.anchor_pub;
    if (pub_path && !(pub = cf_anchor_key_load(pub_path, err, sizeof err))) {
        fprintf(stderr, "caseflow anchor verify: %s\n", err);
        goto out;
    }
    if (!(r = cf_anchor_open(path, err, sizeof err)) || cf_anchor_verify(r, pub, err, sizeof err)) {
        fprintf(stderr, "caseflow anchor verify: %s\n", err);
        fprintf(stderr, "caseflow anchor verify: %s does NOT verify\n", path);
        goto out;
    }
    h = cf_anchor_head_of(r);
    printf("%s: %lld case%s as of %s, made %s\n  digest     ok: sha256:%s\n", path, h->cases,
           h->cases == 1 ? "" : "s", h->as_of_time == CF_ANCHOR_ALL ? "its making" : h->as_of,
           h->made, h->digest);
    if (pub)
        printf("  signature  ok: ed25519, key %s\n", h->key_id);
    else if (h->is_signed)
        printf("  signature  not checked: signed with key %s; give its public key (--pub or "
               "anchor.pub) to check it\n",
               h->key_id);
    else
        printf("  signature  none: the file is not signed\n");
    printf("verified: %s\n", path);
    rc = 0;
out:
    cf_anchor_close(r);
    cf_anchor_key_free(pub);
    cf_config_free(&cfg);
    return rc;
}

int cf_cmd_anchor(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout, 0);
    if (strcmp(argv[1], "write") == 0)
        return write_anchor(argc, argv);
    if (strcmp(argv[1], "verify") == 0)
        return verify_anchor(argc, argv);
    fprintf(stderr, "caseflow anchor: unknown action '%s' (write or verify; see --help)\n",
            argv[1]);
    return 2;
}
