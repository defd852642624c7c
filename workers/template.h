/*
 * Document templates: the wording and layout of one court document (执行通知书,
 * 报告财产令, ...) as staff write it in workflows/templates/<name>.yaml, loaded
 * into a read-only model that workers/pdf.c lays out.  The file format is
 * described in workflows/templates/README.md.
 *
 * Texts hold ${field} placeholders filled from a JSON object of fields at
 * render time; `$${` writes a literal "${".  A loaded template owns all its
 * memory (one arena) and is freed by cf_template_free; it is never changed
 * after loading, so threads may share it.
 */
#ifndef CF_TEMPLATE_H
#define CF_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* A placeholder in a text: the field it names and where it is written in the file (1-based). */
typedef struct cf_template_ref {
    const char *name; /* "case_no", or a path into nested objects: "basis.document_no" */
    size_t off, len;  /* of "${name}" in the text */
    int line, col;
} cf_template_ref;

/*
 * A text as written, after the paragraph rule: a line break inside a paragraph is dropped
 * (Chinese puts no space between words) and a blank line starts a new paragraph, stored as one
 * '\n'.
 */
typedef struct cf_template_text {
    const char *src;
    const cf_template_ref *refs;
    size_t nrefs;
    int line, col; /* where the text starts */
} cf_template_text;

typedef struct cf_template_cell {
    cf_template_text text;
    int span;   /* columns it covers, 1 or more */
    int bold;   /* 1: bold */
    int center; /* 1: centred; otherwise flush left */
} cf_template_cell;

typedef struct cf_template_row {
    const cf_template_cell *cells;
    size_t ncells;
    int line, col;
} cf_template_row;

typedef struct cf_template_table {
    const double *widths; /* relative widths of the columns, scaled to the text width */
    size_t ncols;
    const cf_template_row *header; /* NULL or the header row, repeated on each page */
    const cf_template_row *rows;
    size_t nrows;
    double row_height; /* mm: the least height of a body row (room to write by hand) */
    double size;       /* points */
} cf_template_table;

enum cf_template_block_kind {
    CF_TPL_HEADING,    /* the court's name: centred, bold, large */
    CF_TPL_TITLE,      /* the document's title: centred, bold, larger, spaced out */
    CF_TPL_RIGHT,      /* flush right (the case number) */
    CF_TPL_LEFT,       /* flush left, no indent (the addressee, "附：") */
    CF_TPL_TEXT,       /* paragraphs: first line indented two characters, justified */
    CF_TPL_SMALL,      /* paragraphs in a smaller size, no indent (notes, contacts) */
    CF_TPL_TABLE,      /* a table drawn with lines */
    CF_TPL_SIGNATURE,  /* the court and the date, right, with the seal's place */
    CF_TPL_SPACE,      /* vertical space in mm */
    CF_TPL_PAGE_BREAK, /* the next block starts a new page */
};

typedef struct cf_template_block {
    enum cf_template_block_kind kind;
    cf_template_text text;         /* heading, title, right, left, text, small */
    const cf_template_text *lines; /* signature: its lines, top to bottom */
    size_t nlines;
    int seal;                       /* signature: draw the seal's place */
    const cf_template_table *table; /* table */
    double mm;                      /* space */
    int line, col;
} cf_template_block;

/*
 * A field the template makes itself (the `fields:` section): a text, or a choice of texts by
 * the value of another field (`by: claim_kind`, `money: ...`, `act: ...`, `default: ...`).
 * Derived fields may use the fields given at render time and the derived fields above them.
 */
typedef struct cf_template_field {
    const char *name;
    const char *by; /* NULL: always `texts[0]` */
    const char **keys;
    const cf_template_text *texts;
    size_t nkeys;
    const cf_template_text *fallback; /* `default:`, or NULL */
    int line, col;
} cf_template_field;

typedef struct cf_template {
    const char *path;
    const char *name;      /* the document's name, as tasks ask for it: "执行通知书" */
    const char *served_on; /* "applicants" or "respondents" (the default): whom it is served on */
    const char *font;      /* body text: "Noto Serif CJK SC" */
    const char *bold;      /* heading, title and bold cells: "Noto Serif CJK SC Bold" */
    double size;           /* body text in points (16: 三号) */
    double line_spacing;   /* a factor of the font's line height */
    int page_numbers;      /* 1: "— 1 —" at the foot of each page */
    double margin[4];      /* mm: top, right, bottom, left */
    const cf_template_field *fields;
    size_t nfields;
    const cf_template_block *blocks;
    size_t nblocks;
    struct cf_arena *arena;
} cf_template;

/*
 * Loads the template at `path`.  Returns it, owned by the caller (cf_template_free), or NULL
 * with "path:line:column: what is wrong" in `err`.
 */
cf_template *cf_template_load(const char *path, char *err, size_t errsz);

/* The same from `len` bytes of YAML text; `path` names it in messages. */
cf_template *cf_template_parse(const char *path, const char *text, size_t len, char *err,
                               size_t errsz);

void cf_template_free(cf_template *t);

/*
 * Returns a new object (the caller's) holding `fields` and the template's derived fields, or
 * NULL with "path:line:column: ..." in `err` when a derived field names a field that does not
 * exist (CF_EINVAL in `*rc`) or memory runs out (CF_ENOMEM).
 */
json_t *cf_template_fields(const cf_template *t, const json_t *fields, int *rc, char *err,
                           size_t errsz);

/*
 * Fills the placeholders of `x` from `fields` (strings as they are, numbers in decimal, true and
 * false as 是/否).  Returns 0 and a string the caller frees in `*out`, or CF_EINVAL with
 * "path:line:column: no field 'x'" in `err` for a placeholder that names no text or number
 * (CF_ENOMEM when memory runs out).
 */
int cf_template_expand(const cf_template *t, const cf_template_text *x, const json_t *fields,
                       char **out, char *err, size_t errsz) CF_MUST_CHECK;

/*
 * Fills the placeholders of a text that is not part of a template (a setting such as
 * document.account_remark); `what` names it in messages.  Returns as cf_template_expand.
 */
int cf_template_expand_string(const char *what, const char *text, const json_t *fields, char **out,
                              char *err, size_t errsz) CF_MUST_CHECK;

#endif
