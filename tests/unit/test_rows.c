/* Unit tests of engine/rows: the binary array encoding of a column table (PostgreSQL's
 * array_recv format, byte for byte), bytea, NULLs, an empty table, and that a row left incomplete
 * or a value of the wrong type fails the table so that it is never written.  And the batch's index
 * of rows by key (engine/batch.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/rows.h"

static const cf_table T = {"writing a test table",
                           "select 1",
                           5,
                           {CF_COL_TEXT, CF_COL_INT8, CF_COL_BOOL, CF_COL_TIME, CF_COL_JSONB}};

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static int64_t be64(const char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static void params(cf_rows *r, const char **v, int *len, int *fmt)
{
    assert_int_equal(cf_rows_params(r, v, len, fmt), 0);
    for (int i = 0; i < r->table->ncols; i++)
        assert_int_equal(fmt[i], 1);
}

/* A bytea column (the outbox's deflated payloads): oid 17, the bytes as they are, a NUL in them
 * included, and a NULL. */
static void encodes_bytea(void **state)
{
    static const cf_table B = {"writing bytes", "select 1", 1, {CF_COL_BYTEA}};
    static const char bytes[] = {0x78, 0x01, 0x00, (char)0xff, 0x02};
    cf_rows r;
    const char *v[1];
    int len[1], fmt[1];

    (void)state;
    cf_rows_init(&r, &B);
    cf_rows_textn(&r, 0, bytes, sizeof bytes);
    cf_rows_end(&r);
    cf_rows_null(&r, 0);
    cf_rows_end(&r);
    params(&r, v, len, fmt);
    assert_int_equal(be32(v[0] + 4), 1);  /* has NULLs */
    assert_int_equal(be32(v[0] + 8), 17); /* bytea */
    assert_int_equal(be32(v[0] + 12), 2);
    assert_int_equal(be32(v[0] + 20), sizeof bytes);
    assert_memory_equal(v[0] + 24, bytes, sizeof bytes);
    assert_int_equal(be32(v[0] + 24 + sizeof bytes), UINT32_MAX);
    assert_int_equal(len[0], 24 + (int)sizeof bytes + 4);
    /* A bytea column takes no int or text of another type: the table fails. */
    cf_rows_int(&r, 0, 1);
    assert_true(r.failed);
    cf_rows_free(&r);
}

static void encodes_each_type(void **state)
{
    cf_rows r;
    const char *v[5];
    int len[5], fmt[5];
    const char *p;

    (void)state;
    cf_rows_init(&r, &T);
    cf_rows_text(&r, 0, "(2026)豫0381执7号");
    cf_rows_int(&r, 1, 5000000000LL);
    cf_rows_bool(&r, 2, 1);
    cf_rows_time(&r, 3, 946684800000LL + 1500); /* 2000-01-01T00:00:01.5Z */
    cf_rows_text(&r, 4, "{\"a\":1}");
    cf_rows_end(&r);
    cf_rows_text(&r, 0, NULL);
    cf_rows_int(&r, 1, -1);
    cf_rows_bool(&r, 2, 0);
    cf_rows_null(&r, 3);
    cf_rows_null(&r, 4);
    cf_rows_end(&r);
    assert_int_equal(r.nrows, 2);
    params(&r, v, len, fmt);

    /* text: header (1 dimension, NULLs, oid 25, 2 elements, lower bound 1), then each element */
    p = v[0];
    assert_int_equal(be32(p), 1);
    assert_int_equal(be32(p + 4), 1);
    assert_int_equal(be32(p + 8), 25);
    assert_int_equal(be32(p + 12), 2);
    assert_int_equal(be32(p + 16), 1);
    assert_int_equal(be32(p + 20), strlen("(2026)豫0381执7号"));
    assert_memory_equal(p + 24, "(2026)豫0381执7号", strlen("(2026)豫0381执7号"));
    assert_int_equal(be32(p + 24 + strlen("(2026)豫0381执7号")), UINT32_MAX);
    assert_int_equal(len[0], 24 + (int)strlen("(2026)豫0381执7号") + 4);

    /* bigint: no NULLs, oid 20, 8 bytes each */
    p = v[1];
    assert_int_equal(be32(p + 4), 0);
    assert_int_equal(be32(p + 8), 20);
    assert_int_equal(be32(p + 20), 8);
    assert_true(be64(p + 24) == 5000000000LL);
    assert_true(be64(p + 36) == -1);
    assert_int_equal(len[1], 20 + 2 * 12);

    /* boolean: oid 16, one byte */
    p = v[2];
    assert_int_equal(be32(p + 8), 16);
    assert_int_equal(be32(p + 20), 1);
    assert_int_equal(p[24], 1);
    assert_int_equal(p[29], 0);

    /* timestamptz: oid 1184, microseconds since 2000-01-01 */
    p = v[3];
    assert_int_equal(be32(p + 8), 1184);
    assert_true(be64(p + 24) == 1500000);
    assert_int_equal(be32(p + 32), UINT32_MAX);

    /* jsonb: oid 3802, the version byte 1 before the text */
    p = v[4];
    assert_int_equal(be32(p + 8), 3802);
    assert_int_equal(be32(p + 20), 1 + 7);
    assert_int_equal(p[24], 1);
    assert_memory_equal(p + 25, "{\"a\":1}", 7);
    cf_rows_free(&r);
}

static void empty_table_has_no_dimensions(void **state)
{
    cf_rows r;
    const char *v[5];
    int len[5], fmt[5];

    (void)state;
    cf_rows_init(&r, &T);
    params(&r, v, len, fmt);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(len[i], 12);
        assert_int_equal(be32(v[i]), 0);
    }
    assert_int_equal(be32(v[3] + 8), 1184);
    cf_rows_free(&r);
}

static void reset_keeps_memory_and_forgets_rows(void **state)
{
    cf_rows r;
    const char *v[5];
    int len[5], fmt[5];

    (void)state;
    cf_rows_init(&r, &T);
    for (int i = 0; i < 1000; i++) {
        cf_rows_text(&r, 0, "x");
        cf_rows_int(&r, 1, i);
        cf_rows_bool(&r, 2, i & 1);
        cf_rows_time(&r, 3, i);
        cf_rows_text(&r, 4, "[]");
        cf_rows_end(&r);
    }
    cf_rows_reset(&r);
    assert_int_equal(r.nrows, 0);
    cf_rows_text(&r, 0, "y");
    cf_rows_int(&r, 1, 7);
    cf_rows_bool(&r, 2, 1);
    cf_rows_time(&r, 3, 0);
    cf_rows_text(&r, 4, "{}");
    cf_rows_end(&r);
    params(&r, v, len, fmt);
    assert_int_equal(be32(v[1] + 12), 1);
    assert_true(be64(v[1] + 24) == 7);
    cf_rows_free(&r);
}

static void partial_row_fails_the_table(void **state)
{
    cf_rows r;
    const char *v[5];
    int len[5], fmt[5];

    (void)state;
    cf_rows_init(&r, &T);
    cf_rows_text(&r, 0, "a");
    cf_rows_int(&r, 1, 1);
    cf_rows_end(&r); /* three columns missing */
    assert_true(r.failed);
    assert_int_equal(cf_rows_params(&r, v, len, fmt), CF_ENOMEM);
    cf_rows_free(&r);
}

static void wrong_type_or_twice_fails_the_table(void **state)
{
    cf_rows r;

    (void)state;
    cf_rows_init(&r, &T);
    cf_rows_bool(&r, 0, 1); /* column 0 is text */
    assert_true(r.failed);
    cf_rows_reset(&r);
    assert_false(r.failed);
    cf_rows_text(&r, 0, "a");
    cf_rows_text(&r, 0, "b"); /* a second value in the same row */
    assert_true(r.failed);
    cf_rows_reset(&r);
    cf_rows_text(&r, 9, "a"); /* no such column */
    assert_true(r.failed);
    cf_rows_free(&r);
}

static void int4_out_of_range_fails(void **state)
{
    static const cf_table I = {"ints", "select 1", 1, {CF_COL_INT4}};
    cf_rows r;
    const char *v[1];
    int len[1], fmt[1];

    (void)state;
    cf_rows_init(&r, &I);
    cf_rows_int(&r, 0, -7);
    cf_rows_end(&r);
    params(&r, v, len, fmt);
    assert_int_equal(be32(v[0] + 8), 23);
    assert_int_equal((int32_t)be32(v[0] + 24), -7);
    cf_rows_int(&r, 0, 1LL << 40);
    assert_true(r.failed);
    cf_rows_free(&r);
}

static void index_finds_every_key(void **state)
{
    cf_index x = {0};
    char key[32];

    (void)state;
    assert_int_equal(cf_index_find(&x, "none"), -1);
    for (size_t i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "case-%zu", i);
        assert_int_equal(cf_index_put(&x, key, i), 0);
    }
    assert_int_equal(cf_index_put(&x, "case-17", 99), 0); /* a key set again moves */
    for (size_t i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "case-%zu", i);
        assert_int_equal(cf_index_find(&x, key), i == 17 ? 99 : (long)i);
    }
    assert_int_equal(x.count, 5000);
    assert_int_equal(cf_index_find(&x, "case-5000"), -1);
    cf_index_clear(&x);
    assert_int_equal(cf_index_find(&x, "case-1"), -1);
    assert_int_equal(cf_index_put(&x, "case-1", 3), 0);
    assert_int_equal(cf_index_find(&x, "case-1"), 3);
    cf_index_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_each_type),
        cmocka_unit_test(encodes_bytea),
        cmocka_unit_test(empty_table_has_no_dimensions),
        cmocka_unit_test(reset_keeps_memory_and_forgets_rows),
        cmocka_unit_test(partial_row_fails_the_table),
        cmocka_unit_test(wrong_type_or_twice_fails_the_table),
        cmocka_unit_test(int4_out_of_range_fails),
        cmocka_unit_test(index_finds_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
