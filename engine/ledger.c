/*
 * The monthly archive ledger (归档台账) as an .xlsx workbook, made with libxlsxwriter: one
 * parameterized query for the rows, then one sheet laid out for the archive group to print —
 * title, frozen header, a row per case, totals — with columns as wide as their Chinese text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uniwidth.h>
#include <xlsxwriter.h>

#include "io/store.h"
#include "engine/cases.h"
#include "engine/ledger.h"

enum { COLUMNS = 7 };

static const char *const headers[COLUMNS] = {"序号",     "案号", "承办团队", "结案日期",
                                             "结案方式", "卷号", "归档日期"};

/* Every case closed in the month or numbered in it; numbered cases in volume order first. */
static const char SQL_ROWS[] =
    "select coalesce(json_agg(json_build_object('case_no', r.case_no, 'workflow', r.workflow, "
    "'post', r.post, 'closed_at', r.closed_at, 'close_method', r.close_method, 'volume', "
    "r.volume, 'archived_at', r.archived_at) order by r.seq nulls last, r.case_no), '[]')::text "
    "from (select c.case_no, c.workflow, c.body -> 'data' ->> 'handler_post' as post, "
    "c.body -> 'data' ->> 'closed_at' as closed_at, c.body -> 'data' ->> 'close_method' as "
    "close_method, v.volume, v.seq, c.body -> 'data' ->> 'archived_at' as archived_at from cases "
    "c left join archive_volumes v on v.case_no = c.case_no where (left(c.body -> 'data' ->> "
    "'closed_at', 7) = $1 or v.month = $1) and ($2::text is null or " CF_CASE_COURT_SQL(
        "c", "$3::text") " = $2)) r";

int cf_ledger_month(const char *text, char out[CF_LEDGER_MONTH_BUFSZ], char *err, size_t errsz)
{
    int year, month;
    char tail;

    if (!text || strlen(text) != 7 || sscanf(text, "%4d-%2d%c", &year, &month, &tail) != 2 ||
        text[4] != '-')
        return cf_errf(err, errsz, CF_EINVAL, "'%s' is not a month (YYYY-MM): write it as 2026-03",
                       text ? text : "");
    if (year < 2000 || year > 2999 || month < 1 || month > 12)
        return cf_errf(err, errsz, CF_EINVAL, "'%s' is not a month (YYYY-MM): %s", text,
                       month < 1 || month > 12 ? "the month is not 01 to 12"
                                               : "the year is not 2000 to 2999");
    snprintf(out, CF_LEDGER_MONTH_BUFSZ, "%04d-%02d", year, month);
    return 0;
}

int cf_ledger_rows(PGconn *db, const char *month, const char *court, const char *home,
                   json_t **rows, char *err, size_t errsz)
{
    const char *p[3] = {month, court, home};
    char why[512];
    json_error_t jerr;
    PGresult *res = cf_store_exec(db, SQL_ROWS, 3, p, why, sizeof why);

    *rows = NULL;
    if (!res)
        return cf_errf(err, errsz, CF_EDB, "reading the ledger of %s: %s", month, why);
    *rows = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);
    return *rows ? 0
                 : cf_errf(err, errsz, CF_ENOMEM, "reading the ledger of %s: %s", month, jerr.text);
}

/* The width a column needs for `text`: its display width (a Chinese character takes two) and a
 * margin, in Excel's units of one digit. */
static double width_of(const char *text)
{
    return (double)u8_strwidth((const uint8_t *)text, "UTF-8") + 2.0;
}

/* A day of the court's time ("2026-03-10T10:00:00+08:00" → 2026-03-10), or 0 when there is none. */
static int day_of(const char *iso, lxw_datetime *d)
{
    int y, m, dd;

    memset(d, 0, sizeof *d);
    if (!iso || sscanf(iso, "%4d-%2d-%2d", &y, &m, &dd) != 3)
        return 0;
    d->year = y;
    d->month = m;
    d->day = dd;
    return 1;
}

typedef struct sheet {
    lxw_worksheet *ws;
    lxw_format *cell, *date, *head, *title, *total;
    double widths[COLUMNS];
} sheet;

static void text_cell(sheet *s, lxw_row_t r, lxw_col_t c, const char *text, lxw_format *f)
{
    worksheet_write_string(s->ws, r, c, text ? text : "", f);
    if (text && width_of(text) > s->widths[c])
        s->widths[c] = width_of(text);
}

static void date_cell(sheet *s, lxw_row_t r, lxw_col_t c, const char *iso)
{
    lxw_datetime d;

    if (day_of(iso, &d)) {
        worksheet_write_datetime(s->ws, r, c, &d, s->date);
        if (width_of("2026-03-10") > s->widths[c])
            s->widths[c] = width_of("2026-03-10");
    } else {
        worksheet_write_blank(s->ws, r, c, s->cell);
    }
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* One case's row; returns 1 when the case is archived. */
static int case_row(sheet *s, const cf_registry *reg, lxw_row_t r, size_t n, const json_t *x)
{
    const char *post = str(x, "post"), *team = reg ? cf_registry_post_title(reg, post) : NULL;

    worksheet_write_number(s->ws, r, 0, (double)n, s->cell);
    text_cell(s, r, 1, str(x, "case_no"), s->cell);
    text_cell(s, r, 2, team ? team : post, s->cell);
    date_cell(s, r, 3, str(x, "closed_at"));
    text_cell(s, r, 4, str(x, "close_method"), s->cell);
    text_cell(s, r, 5, str(x, "volume"), s->cell);
    date_cell(s, r, 6, str(x, "archived_at"));
    return str(x, "archived_at") != NULL;
}

/* Lays the sheet out: title, header, rows, totals, widths, printing. */
static void fill(sheet *s, const cf_registry *reg, const char *month, const json_t *rows)
{
    char title[128], text[64];
    size_t i, archived = 0, numbered = 0, n = json_array_size(rows);
    lxw_row_t r = 2;
    const json_t *x;

    for (int c = 0; c < COLUMNS; c++) {
        s->widths[c] = 0;
        text_cell(s, 1, (lxw_col_t)c, headers[c], s->head);
    }
    snprintf(title, sizeof title, "%.4s年%d月结案案件归档台账", month, atoi(month + 5));
    worksheet_merge_range(s->ws, 0, 0, 0, COLUMNS - 1, title, s->title);
    worksheet_set_row(s->ws, 0, 28, NULL);
    json_array_foreach ((json_t *)rows, i, x) {
        archived += (size_t)case_row(s, reg, r++, i + 1, x);
        numbered += str(x, "volume") != NULL;
    }
    text_cell(s, r, 0, "合计", s->total);
    snprintf(text, sizeof text, "共%zu件", n);
    text_cell(s, r, 1, text, s->total);
    for (lxw_col_t c = 2; c < 5; c++)
        worksheet_write_blank(s->ws, r, c, s->total);
    snprintf(text, sizeof text, "已编卷号%zu件", numbered);
    text_cell(s, r, 5, text, s->total);
    snprintf(text, sizeof text, "已归档%zu件", archived);
    text_cell(s, r, 6, text, s->total);
    for (int c = 0; c < COLUMNS; c++)
        worksheet_set_column(s->ws, (lxw_col_t)c, (lxw_col_t)c, s->widths[c], NULL);
    /* The header stays in sight while scrolling and is printed on every page. */
    worksheet_freeze_panes(s->ws, 2, 0);
    worksheet_repeat_rows(s->ws, 1, 1);
    worksheet_set_landscape(s->ws);
    worksheet_fit_to_pages(s->ws, 1, 0);
}

static lxw_format *bordered(lxw_workbook *wb)
{
    lxw_format *f = workbook_add_format(wb);
    format_set_border(f, LXW_BORDER_THIN);
    format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
    return f;
}

static void add_formats(lxw_workbook *wb, sheet *s)
{
    s->cell = bordered(wb);
    s->date = bordered(wb);
    format_set_num_format(s->date, "yyyy-mm-dd");
    s->head = bordered(wb);
    format_set_bold(s->head);
    format_set_align(s->head, LXW_ALIGN_CENTER);
    format_set_bg_color(s->head, 0xD9E1F2);
    s->title = workbook_add_format(wb);
    format_set_bold(s->title);
    format_set_font_size(s->title, 16);
    format_set_align(s->title, LXW_ALIGN_CENTER);
    format_set_align(s->title, LXW_ALIGN_VERTICAL_CENTER);
    s->total = bordered(wb);
    format_set_bold(s->total);
}

int cf_ledger_write(PGconn *db, const cf_registry *reg, const char *month, const char *court,
                    const char *home, const char *path, size_t *cases, char *err, size_t errsz)
{
    json_t *rows = NULL;
    lxw_workbook *wb;
    lxw_error lrc;
    sheet s;
    char *part = NULL;
    int rc;

    if ((rc = cf_ledger_rows(db, month, court, home, &rows, err, errsz)))
        return rc;
    /* Written beside the target and renamed: a reader sees the old file or the whole new one. */
    part = malloc(strlen(path) + sizeof ".part");
    if (!part) {
        json_decref(rows);
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    }
    sprintf(part, "%s.part", path);
    wb = workbook_new(part);
    if (!wb) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot make the workbook", part);
        goto out;
    }
    add_formats(wb, &s);
    s.ws = workbook_add_worksheet(wb, month);
    fill(&s, reg, month, rows);
    if ((lrc = workbook_close(wb)) != LXW_NO_ERROR) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: %s", part, lxw_strerror(lrc));
        remove(part);
        goto out;
    }
    if (rename(part, path) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
        remove(part);
        goto out;
    }
    if (cases)
        *cases = json_array_size(rows);
out:
    free(part);
    json_decref(rows);
    return rc;
}

/* The whole of the file `f` in a new buffer; NULL when it cannot be read. */
static char *slurp(FILE *f, size_t *len)
{
    long size;
    char *buf;

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return NULL;
    if (!(buf = malloc((size_t)size + 1)))
        return NULL;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        return NULL;
    }
    *len = (size_t)size;
    return buf;
}

int cf_ledger_xlsx(PGconn *db, const cf_registry *reg, const char *month, const char *court,
                   const char *home, char **buf, size_t *len, size_t *cases, char *err,
                   size_t errsz)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    FILE *f;
    int fd, rc;

    *buf = NULL;
    snprintf(path, sizeof path, "%s/caseflow-ledger-XXXXXX", dir && *dir ? dir : "/tmp");
    if ((fd = mkstemp(path)) < 0)
        return cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
    close(fd);
    rc = cf_ledger_write(db, reg, month, court, home, path, cases, err, errsz);
    if (rc == 0) {
        if (!(f = fopen(path, "rb")) || !(*buf = slurp(f, len)))
            rc = cf_errf(err, errsz, CF_EIO, "%s: cannot be read back", path);
        if (f)
            fclose(f);
    }
    remove(path);
    return rc;
}
