/*
 * The column table of rows.h.  PostgreSQL's binary array format (array_recv): a header of five
 * 32-bit big-endian integers — dimensions (1), whether there are NULLs, the element type's oid,
 * the number of elements, the lower bound (1) — then each element as its length (-1 for NULL)
 * and its bytes in the type's own binary format.  A column keeps room for the header at its
 * start and fills it in only when the statement is run, when the count is known.
 */
#include "rows.h"

#include <stdlib.h>
#include <string.h>

enum { HEADER = 20 };

/* Element type oids (pg_type.h): what array_recv checks against the parameter's type. */
static const uint32_t oids[] = {
    [CF_COL_TEXT] = 25,   [CF_COL_INT4] = 23,  [CF_COL_INT8] = 20,    [CF_COL_BOOL] = 16,
    [CF_COL_TIME] = 1184, [CF_COL_JSON] = 114, [CF_COL_JSONB] = 3802, [CF_COL_BYTEA] = 17,
};

/* Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z. */
static const int64_t PG_EPOCH_MS = 946684800000LL;

void cf_rows_init(cf_rows *r, const cf_table *t)
{
    memset(r, 0, sizeof *r);
    r->table = t;
}

void cf_rows_reset(cf_rows *r)
{
    for (int i = 0; i < CF_ROWS_MAXCOLS; i++) {
        r->cols[i].len = 0;
        r->cols[i].count = 0;
        r->cols[i].nulls = 0;
    }
    r->nrows = 0;
    r->failed = 0;
}

void cf_rows_free(cf_rows *r)
{
    for (int i = 0; i < CF_ROWS_MAXCOLS; i++)
        free(r->cols[i].buf);
    cf_rows_init(r, r->table);
}

static void put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

/* Makes room for `n` more bytes in column `c` (and its header, on first use); NULL on failure. */
static char *room(cf_rows *r, cf_col *c, size_t n)
{
    if (r->failed)
        return NULL;
    if (c->len == 0)
        c->len = HEADER;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        char *b;
        while (c->len + n > cap)
            cap *= 2;
        if (!(b = realloc(c->buf, cap))) {
            r->failed = 1;
            return NULL;
        }
        c->buf = b;
        c->cap = cap;
    }
    return c->buf + c->len;
}

/* The column `col` of the row at hand, when it is of type `type` and still without a value. */
static cf_col *column(cf_rows *r, int col, cf_coltype type)
{
    if (col < 0 || col >= r->table->ncols || r->table->types[col] != type ||
        r->cols[col].count != r->nrows) {
        r->failed = 1; /* a programming error: the table must not be written */
        return NULL;
    }
    return &r->cols[col];
}

/* Appends one element: its length, a prefix (jsonb's version byte) and its bytes. */
static void element(cf_rows *r, int col, cf_coltype type, const char *pre, size_t npre,
                    const void *bytes, size_t n)
{
    cf_col *c = column(r, col, type);
    char *p;
    if (!c)
        return;
    if (n + npre > INT32_MAX) {
        r->failed = 1;
        return;
    }
    if (!(p = room(r, c, 4 + npre + n)))
        return;
    put_be32(p, (uint32_t)(npre + n));
    memcpy(p + 4, pre, npre);
    memcpy(p + 4 + npre, bytes, n);
    c->len += 4 + npre + n;
    c->count++;
}

void cf_rows_null(cf_rows *r, int col)
{
    cf_col *c = col >= 0 && col < r->table->ncols ? column(r, col, r->table->types[col]) : NULL;
    char *p;
    if (!c) {
        r->failed = 1;
        return;
    }
    if (!(p = room(r, c, 4)))
        return;
    put_be32(p, UINT32_MAX); /* -1: NULL */
    c->len += 4;
    c->count++;
    c->nulls = 1;
}

void cf_rows_textn(cf_rows *r, int col, const char *s, size_t n)
{
    cf_coltype type = col >= 0 && col < r->table->ncols ? r->table->types[col] : CF_COL_TEXT;
    if (!s) {
        cf_rows_null(r, col);
        return;
    }
    /* json travels as its text, bytea as its bytes; jsonb as a version byte (1), then its text. */
    if (type == CF_COL_JSONB)
        element(r, col, type, "\1", 1, s, n);
    else
        element(r, col, type == CF_COL_JSON || type == CF_COL_BYTEA ? type : CF_COL_TEXT, "", 0, s,
                n);
}

void cf_rows_text(cf_rows *r, int col, const char *s)
{
    cf_rows_textn(r, col, s, s ? strlen(s) : 0);
}

static void be64(char out[8], uint64_t v)
{
    put_be32(out, (uint32_t)(v >> 32));
    put_be32(out + 4, (uint32_t)v);
}

void cf_rows_int(cf_rows *r, int col, long long v)
{
    char b[8];
    if (col >= 0 && col < r->table->ncols && r->table->types[col] == CF_COL_INT4) {
        if (v < INT32_MIN || v > INT32_MAX) {
            r->failed = 1;
            return;
        }
        put_be32(b, (uint32_t)(int32_t)v);
        element(r, col, CF_COL_INT4, "", 0, b, 4);
        return;
    }
    be64(b, (uint64_t)v);
    element(r, col, CF_COL_INT8, "", 0, b, 8);
}

void cf_rows_bool(cf_rows *r, int col, int v)
{
    char b = v ? 1 : 0;
    element(r, col, CF_COL_BOOL, "", 0, &b, 1);
}

void cf_rows_time(cf_rows *r, int col, cf_time t)
{
    char b[8];
    be64(b, (uint64_t)((t - PG_EPOCH_MS) * 1000));
    element(r, col, CF_COL_TIME, "", 0, b, 8);
}

void cf_rows_end(cf_rows *r)
{
    r->nrows++;
    for (int i = 0; i < r->table->ncols; i++)
        if (r->cols[i].count != r->nrows)
            r->failed = 1;
}

int cf_rows_params(cf_rows *r, const char **values, int *lengths, int *formats)
{
    if (r->failed)
        return CF_ENOMEM;
    for (int i = 0; i < r->table->ncols; i++) {
        cf_col *c = &r->cols[i];
        char *h;
        /* An empty array has no dimensions: its header is three integers. */
        if (!(h = room(r, c, 0)))
            return CF_ENOMEM;
        h = c->buf;
        put_be32(h, r->nrows ? 1 : 0);
        put_be32(h + 4, (uint32_t)c->nulls);
        put_be32(h + 8, oids[r->table->types[i]]);
        put_be32(h + 12, (uint32_t)r->nrows);
        put_be32(h + 16, 1);
        values[i] = c->buf;
        lengths[i] = r->nrows ? (int)c->len : 12;
        formats[i] = 1;
    }
    return 0;
}
