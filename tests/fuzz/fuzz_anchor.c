/*
 * libFuzzer target for core/anchor: any bytes are read as an anchor file, checking the promises
 * of anchor.h (every error is "anchor:line:column: ..." with both in range; every entry has a
 * case number, a seq from 1 and a 64-digit hash, in ascending order; a file that verifies is
 * written again, line for line and digest for digest, by the writer) and leaving memory and
 * undefined behaviour to the sanitizers.  tests/unit/test_anchor.c runs the same function over
 * nasty inputs, so this file must also build without libFuzzer.
 *
 * Built by -DCASEFLOW_FUZZ=ON (tests/fuzz/CMakeLists.txt); fuzz it for five minutes with
 *   scripts/fuzz --time 300 anchor
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/anchor.h"
#include "fuzz.h"

/* A message about the file must name it and a line and column from 1. */
static void check_message(const char *err, long max_line)
{
    long line = 0, col = 0;

    FUZZ_CHECK(strncmp(err, "anchor", 6) == 0);
    if (err[6] == ':')
        FUZZ_CHECK(sscanf(err + 7, "%ld:%ld:", &line, &col) == 2 && line >= 1 &&
                   line <= max_line + 1 && col >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024], *copy = malloc(size + 1), *again = NULL, *header = NULL;
    FILE *f;
    cf_anchor_reader *r;
    cf_anchor_writer *w = NULL;
    cf_anchor_entry e;
    long lines = 1;
    size_t againlen = 0, written = 0;
    int rc;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i < size; i++)
        lines += copy[i] == '\n';
    f = fmemopen(copy, size, "r");
    if (!f) {
        free(copy);
        return 0;
    }
    r = cf_anchor_open_stream(f, "anchor", err, sizeof err);
    if (!r) {
        check_message(err, lines);
        goto out;
    }
    w = cf_anchor_writer_new(0, cf_anchor_head_of(r)->as_of_time, 0);
    FUZZ_CHECK(w != NULL);
    while ((rc = cf_anchor_next(r, &e, err, sizeof err)) == 1) {
        const char *line;
        size_t len;
        char *grown;
        FUZZ_CHECK(e.case_no[0] != '\0' && e.seq >= 1 && strlen(e.hash) == 64);
        /* What the reader accepts, the writer writes; the order is the same. */
        FUZZ_CHECK(
            cf_anchor_writer_add(w, e.case_no, e.seq, e.hash, &line, &len, err, sizeof err) == 0);
        grown = realloc(again, againlen + len + 1);
        FUZZ_CHECK(grown != NULL);
        again = grown;
        memcpy(again + againlen, line, len);
        againlen += len;
        again[againlen] = '\0';
        written++;
    }
    if (rc < 0) {
        check_message(err, lines);
        goto out;
    }
    FUZZ_CHECK(cf_anchor_next(r, &e, err, sizeof err) == 0);
    /* A file that verifies: its lines give its digest, and the writer gives them back. */
    header = cf_anchor_writer_header(w, NULL, err, sizeof err);
    FUZZ_CHECK(header != NULL);
    FUZZ_CHECK((long long)written == cf_anchor_head_of(r)->cases);
    FUZZ_CHECK(strcmp(cf_anchor_writer_digest(w), cf_anchor_head_of(r)->digest) == 0);
    /* The case lines are the end of the file, but for a last "\n" that may be missing. */
    if (againlen > 0) {
        size_t cmp = againlen - (copy[size - 1] != '\n');
        FUZZ_CHECK(size >= cmp && memcmp(copy + size - cmp, again, cmp) == 0);
    }
out:
    free(header);
    free(again);
    cf_anchor_writer_free(w);
    cf_anchor_close(r);
    fclose(f);
    free(copy);
    return 0;
}
