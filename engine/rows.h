/*
 * A column table: the rows a batch writes to one table, gathered column by column, each column
 * kept in PostgreSQL's binary array format.  One statement then writes every row of the table
 * with one parameter per column (INSERT ... SELECT FROM unnest($1, $2, ...)): nothing is escaped
 * here and nothing is parsed as an array literal by the server, and a text or json value goes
 * over the wire as the bytes it is.
 *
 * A table's rows are added a row at a time, every column of a row in order, then
 * cf_rows_end(); a row left incomplete, or memory that ran out, marks the table failed, and a
 * failed table is never written (cf_rows_params refuses it): nothing commits on a partial row.
 */
#ifndef CF_ROWS_H
#define CF_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/caltime.h"

/* The element types a column may have; each is the PostgreSQL type of its array parameter. */
typedef enum cf_coltype {
    CF_COL_TEXT,  /* text[] */
    CF_COL_INT4,  /* int[] */
    CF_COL_INT8,  /* bigint[] */
    CF_COL_BOOL,  /* boolean[] */
    CF_COL_TIME,  /* timestamptz[], from a cf_time */
    CF_COL_JSON,  /* json[]: the text, kept verbatim by the column */
    CF_COL_JSONB, /* jsonb[] */
    CF_COL_BYTEA, /* bytea[]: the bytes as they are */
} cf_coltype;

enum { CF_ROWS_MAXCOLS = 16 };

/* What a table's statement is: its parameters are the columns, in order, as arrays. */
typedef struct cf_table {
    const char *what; /* for messages: "writing the event log" */
    const char *sql;
    int ncols;
    cf_coltype types[CF_ROWS_MAXCOLS];
} cf_table;

typedef struct cf_col {
    char *buf; /* the array's header (written by cf_rows_params), then its elements */
    size_t len, cap;
    size_t count; /* elements added */
    int nulls;
} cf_col;

typedef struct cf_rows {
    const cf_table *table;
    cf_col cols[CF_ROWS_MAXCOLS];
    size_t nrows;
    int failed; /* memory ran out or a row was left incomplete: the rows must not be written */
} cf_rows;

void cf_rows_init(cf_rows *r, const cf_table *t);
/* Forgets the rows and keeps the memory, for the next batch. */
void cf_rows_reset(cf_rows *r);
void cf_rows_free(cf_rows *r);

/* Each adds the value of column `col` of the row at hand; the column's type must be the one
 * named (a mismatch fails the table).  A NULL string is SQL NULL. */
void cf_rows_text(cf_rows *r, int col, const char *s);
void cf_rows_textn(cf_rows *r, int col, const char *s, size_t n); /* also a bytea's bytes */
void cf_rows_int(cf_rows *r, int col, long long v);
void cf_rows_bool(cf_rows *r, int col, int v);
void cf_rows_time(cf_rows *r, int col, cf_time t);
void cf_rows_null(cf_rows *r, int col);

/* Closes the row at hand: every column must have had its value. */
void cf_rows_end(cf_rows *r);

/*
 * Fills `values`, `lengths` and `formats` (ncols entries each) with the columns as binary array
 * parameters for cf_store_exec_bin.  They point into `r`, valid until its next change.  Returns
 * 0, or CF_ENOMEM when the table failed (`r->failed`).
 */
int cf_rows_params(cf_rows *r, const char **values, int *lengths, int *formats) CF_MUST_CHECK;

#endif
