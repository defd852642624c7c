/*
 * Lays out a filled document template on A4 pages with pango (line breaking, justification,
 * CJK shaping) and draws it with cairo into a PDF: the court's heading, the title, paragraphs
 * that flow over page breaks, tables drawn with lines whose header repeats on each page, the
 * signature with the seal's place, and page numbers.  The bytes go through a SHA-256 digest on
 * their way to a temporary file that is renamed into place once complete.
 */
#include "pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MM            (72.0 / 25.4) /* points per millimetre */
#define A4_WIDTH      (210 * MM)
#define A4_HEIGHT     (297 * MM)
#define CELL_PAD      (1.8 * MM)
#define LINE_WIDTH    0.8
#define TITLE_SPACING 0.25 /* of the title's size, between its characters */

/* Where the pen stands while a document is laid out. */
typedef struct pen {
    const cf_template *t;
    const json_t *fields;
    cairo_t *cr;
    PangoContext *pc;
    double x0, x1, y0, y1; /* the text area of a page, in points */
    double y;              /* the top of the next thing drawn */
    int page;              /* pages begun */
    int blank;             /* nothing drawn on this page yet */
    char *err;
    size_t errsz;
    int rc;
} pen;

/* ---- text ---- */

enum style { S_BODY, S_BOLD };

static PangoFontDescription *font(const pen *P, enum style s, double size)
{
    PangoFontDescription *fd =
        pango_font_description_from_string(s == S_BOLD ? P->t->bold : P->t->font);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    return fd;
}

/*
 * Returns a layout of `text` `width` points wide, or NULL when the fonts lack a character of it
 * (P->rc set): a document with empty boxes in it must not go out.
 */
static PangoLayout *layout(pen *P, const char *text, enum style s, double size, double width,
                           PangoAlignment align)
{
    PangoLayout *l = pango_layout_new(P->pc);
    PangoFontDescription *fd = font(P, s, size);

    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(l, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l, align);
    pango_layout_set_line_spacing(l, (float)P->t->line_spacing);
    pango_layout_set_text(l, text, -1);
    if (pango_layout_get_unknown_glyphs_count(l) > 0) {
        P->rc = cf_errf(P->err, P->errsz, CF_EINVAL,
                        "%s: the font '%s' cannot show every character of the document (is "
                        "fonts-noto-cjk installed?)",
                        P->t->path, s == S_BOLD ? P->t->bold : P->t->font);
        g_object_unref(l);
        return NULL;
    }
    return l;
}

static void page_number(pen *P)
{
    char num[32];
    PangoLayout *l;
    int w, h;

    if (!P->t->page_numbers)
        return;
    /* GB/T 9704: the page number as "— 1 —" below the text area. */
    snprintf(num, sizeof num, "\xE2\x80\x94 %d \xE2\x80\x94", P->page);
    if (!(l = layout(P, num, S_BODY, 14, A4_WIDTH, PANGO_ALIGN_LEFT)))
        return;
    pango_layout_get_size(l, &w, &h);
    cairo_move_to(P->cr, (A4_WIDTH - (double)w / PANGO_SCALE) / 2, P->y1 + 7 * MM);
    pango_cairo_show_layout(P->cr, l);
    g_object_unref(l);
}

static void new_page(pen *P)
{
    page_number(P);
    cairo_show_page(P->cr);
    P->page++;
    P->y = P->y0;
    P->blank = 1;
}

/*
 * Draws the lines of `l` from P->y on at `x`, line by line, so that a long text breaks over
 * pages; P->y ends below its last line.
 */
static void flow(pen *P, PangoLayout *l, double x)
{
    PangoLayoutIter *it = pango_layout_get_iter(l);
    double shift = P->y; /* the page's y of the layout's y = 0 */

    do {
        PangoRectangle log;
        double top, bottom;
        pango_layout_iter_get_line_extents(it, NULL, &log);
        top = (double)log.y / PANGO_SCALE + shift;
        bottom = top + (double)log.height / PANGO_SCALE;
        if (bottom > P->y1 && top > P->y0 + 0.5) {
            new_page(P);
            shift = P->y0 - (double)log.y / PANGO_SCALE;
            bottom = P->y0 + (double)log.height / PANGO_SCALE;
        }
        cairo_move_to(P->cr, x + (double)log.x / PANGO_SCALE,
                      (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE + shift);
        pango_cairo_show_layout_line(P->cr, pango_layout_iter_get_line_readonly(it));
        P->y = bottom;
        P->blank = 0;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
}

static int expand(pen *P, const cf_template_text *x, char **out)
{
    return P->rc = cf_template_expand(P->t, x, P->fields, out, P->err, P->errsz);
}

/* A block of text: heading, title, right, left, text or small. */
static void text_block(pen *P, const cf_template_block *b)
{
    double size = P->t->size, width = P->x1 - P->x0;
    enum style s = S_BODY;
    PangoAlignment align = PANGO_ALIGN_LEFT;
    PangoLayout *l;
    char *text;

    if (expand(P, &b->text, &text))
        return;
    switch (b->kind) {
    case CF_TPL_HEADING:
        size *= 22.0 / 16; /* 二号 over a 三号 body */
        s = S_BOLD;
        align = PANGO_ALIGN_CENTER;
        break;
    case CF_TPL_TITLE:
        size *= 26.0 / 16; /* 一号 */
        s = S_BOLD;
        align = PANGO_ALIGN_CENTER;
        break;
    case CF_TPL_RIGHT: align = PANGO_ALIGN_RIGHT; break;
    case CF_TPL_SMALL: size *= 14.0 / 16; break; /* 四号 */
    default: break;
    }
    if ((l = layout(P, text, s, size, width, align))) {
        if (b->kind == CF_TPL_TITLE) {
            /* Titles are spaced out.  Pango puts half of the spacing before a character and
             * half after, so the title stays centred; a quarter of a character keeps it one
             * word for text extraction (pdftotext, search), which a wider gap splits. */
            PangoAttrList *attrs = pango_attr_list_new();
            pango_attr_list_insert(
                attrs, pango_attr_letter_spacing_new((int)(size * TITLE_SPACING * PANGO_SCALE)));
            pango_layout_set_attributes(l, attrs);
            pango_attr_list_unref(attrs);
        } else if (b->kind == CF_TPL_TEXT) {
            /* Each paragraph's first line is indented by two characters, and lines are
             * justified, as court documents are set. */
            pango_layout_set_indent(l, (int)(2 * size * PANGO_SCALE));
            pango_layout_set_justify(l, TRUE);
        }
        flow(P, l, P->x0);
        if (b->kind == CF_TPL_TITLE || b->kind == CF_TPL_HEADING)
            P->y += size * 0.35; /* air below the heading lines */
        g_object_unref(l);
    }
    free(text);
}

/* ---- tables ---- */

/* The layouts of one row's cells and the row's height. */
typedef struct row_layout {
    PangoLayout **cells;
    double height;
} row_layout;

static void row_free(row_layout *r, size_t n)
{
    for (size_t i = 0; r->cells && i < n; i++)
        if (r->cells[i])
            g_object_unref(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
}

static int row_make(pen *P, const cf_template_table *tb, const cf_template_row *row,
                    const double *colx, double min_height, row_layout *out)
{
    size_t col = 0;

    out->height = min_height;
    if (!(out->cells = calloc(row->ncells, sizeof *out->cells)))
        return P->rc = cf_errf(P->err, P->errsz, CF_ENOMEM, "out of memory");
    for (size_t i = 0; i < row->ncells; i++) {
        const cf_template_cell *c = &row->cells[i];
        double w = colx[col + (size_t)c->span] - colx[col] - 2 * CELL_PAD;
        char *text;
        int lw, lh;
        col += (size_t)c->span;
        if (expand(P, &c->text, &text))
            return P->rc;
        out->cells[i] = layout(P, text, c->bold ? S_BOLD : S_BODY, tb->size, w,
                               c->center ? PANGO_ALIGN_CENTER : PANGO_ALIGN_LEFT);
        free(text);
        if (!out->cells[i])
            return P->rc;
        pango_layout_set_line_spacing(out->cells[i], 1.0f);
        pango_layout_get_size(out->cells[i], &lw, &lh);
        if ((double)lh / PANGO_SCALE + 2 * CELL_PAD > out->height)
            out->height = (double)lh / PANGO_SCALE + 2 * CELL_PAD;
    }
    return 0;
}

/* Draws a row at P->y: each cell's frame and its text, centred in the height of the row. */
static void row_draw(pen *P, const cf_template_row *row, const double *colx, const row_layout *r)
{
    size_t col = 0;
    for (size_t i = 0; i < row->ncells; i++) {
        double x = colx[col], w = colx[col + (size_t)row->cells[i].span] - x;
        int lw, lh;
        col += (size_t)row->cells[i].span;
        cairo_rectangle(P->cr, x, P->y, w, r->height);
        cairo_stroke(P->cr);
        pango_layout_get_size(r->cells[i], &lw, &lh);
        cairo_move_to(P->cr, x + CELL_PAD, P->y + (r->height - (double)lh / PANGO_SCALE) / 2);
        pango_cairo_show_layout(P->cr, r->cells[i]);
    }
    P->y += r->height;
}

static void table_block(pen *P, const cf_template_table *tb)
{
    double total = 0, *colx = calloc(tb->ncols + 1, sizeof *colx);
    row_layout head = {0};

    if (!colx) {
        P->rc = cf_errf(P->err, P->errsz, CF_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < tb->ncols; i++)
        total += tb->widths[i];
    colx[0] = P->x0;
    for (size_t i = 0; i < tb->ncols; i++)
        colx[i + 1] = colx[i] + tb->widths[i] / total * (P->x1 - P->x0);
    cairo_set_line_width(P->cr, LINE_WIDTH);
    if (tb->header && row_make(P, tb, tb->header, colx, 0, &head))
        goto out;
    for (size_t i = 0; i < tb->nrows && !P->rc; i++) {
        row_layout r = {0};
        /* The header stays with the first row; a row that does not fit starts a new page and
         * the header is drawn again above it. */
        double need = (i == 0 && tb->header ? head.height : 0);
        if (row_make(P, tb, &tb->rows[i], colx, tb->row_height * MM, &r) == 0) {
            if (P->y + need + r.height > P->y1 && P->y > P->y0 + 0.5) {
                new_page(P);
                cairo_set_line_width(P->cr, LINE_WIDTH);
                need = tb->header ? head.height : 0;
            }
            if (need > 0)
                row_draw(P, tb->header, colx, &head);
            row_draw(P, &tb->rows[i], colx, &r);
            P->blank = 0;
        }
        row_free(&r, tb->rows[i].ncells);
    }
out:
    if (tb->header)
        row_free(&head, tb->header->ncells);
    free(colx);
}

/* ---- signature ---- */

/*
 * The court's name and the date, centred on one another and set off from the right margin by
 * two characters, kept together on one page; the seal's place is a dashed red circle of 42 mm
 * (the size of a court's seal) over them.
 */
static void signature_block(pen *P, const cf_template_block *b)
{
    PangoLayout **l = calloc(b->nlines + 1, sizeof *l);
    double widest = 0, height = 0, right = P->x1 - 2 * P->t->size, cx, top;

    if (!l) {
        P->rc = cf_errf(P->err, P->errsz, CF_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        char *text;
        int w, h;
        if (expand(P, &b->lines[i], &text))
            goto out;
        l[i] = layout(P, text, S_BODY, P->t->size, P->x1 - P->x0, PANGO_ALIGN_LEFT);
        free(text);
        if (!l[i])
            goto out;
        pango_layout_get_size(l[i], &w, &h);
        if ((double)w / PANGO_SCALE > widest)
            widest = (double)w / PANGO_SCALE;
        height += (double)h / PANGO_SCALE;
    }
    if (P->y + height > P->y1 && P->y > P->y0 + 0.5)
        new_page(P);
    if (P->blank) {
        /* A page with the court's seal and nothing else says so (公文: 此页无正文), so that no
         * text can be added above a seal that was not put to it. */
        PangoLayout *note =
            layout(P, "（此页无正文）", S_BODY, P->t->size, P->x1 - P->x0, PANGO_ALIGN_LEFT);
        if (!note)
            goto out;
        flow(P, note, P->x0);
        g_object_unref(note);
        P->y += 3 * P->t->size;
    }
    cx = right - widest / 2;
    top = P->y;
    for (size_t i = 0; i < b->nlines; i++) {
        int w, h;
        pango_layout_get_size(l[i], &w, &h);
        cairo_move_to(P->cr, cx - (double)w / PANGO_SCALE / 2, P->y);
        pango_cairo_show_layout(P->cr, l[i]);
        P->y += (double)h / PANGO_SCALE;
    }
    if (b->seal) {
        PangoLayout *label = layout(P, "（院印）", S_BODY, 10, 40 * MM, PANGO_ALIGN_CENTER);
        double cy = (top + P->y) / 2;
        static const double dash[] = {3, 2};
        cairo_save(P->cr);
        cairo_set_source_rgb(P->cr, 0.8, 0.1, 0.1);
        cairo_set_line_width(P->cr, 1);
        cairo_set_dash(P->cr, dash, 2, 0);
        cairo_new_path(P->cr);
        cairo_arc(P->cr, cx, cy, 21 * MM, 0, 2 * G_PI);
        cairo_stroke(P->cr);
        if (label) {
            cairo_move_to(P->cr, cx - 20 * MM, cy + 13 * MM);
            pango_cairo_show_layout(P->cr, label);
            g_object_unref(label);
        }
        cairo_restore(P->cr);
    }
out:
    for (size_t i = 0; i < b->nlines; i++)
        if (l[i])
            g_object_unref(l[i]);
    free(l);
}

/* ---- the document ---- */

static void draw(pen *P)
{
    for (size_t i = 0; i < P->t->nblocks && !P->rc; i++) {
        const cf_template_block *b = &P->t->blocks[i];
        switch (b->kind) {
        case CF_TPL_TABLE: table_block(P, b->table); break;
        case CF_TPL_SIGNATURE: signature_block(P, b); break;
        case CF_TPL_SPACE:
            P->y += b->mm * MM;
            if (P->y > P->y1)
                new_page(P);
            break;
        case CF_TPL_PAGE_BREAK: new_page(P); break;
        default: text_block(P, b); break;
        }
    }
    if (!P->rc)
        page_number(P);
}

/* The output: bytes go to the temporary file and through the digest. */
typedef struct sink {
    FILE *f;
    EVP_MD_CTX *md;
} sink;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length)
{
    sink *s = closure;
    if (fwrite(data, 1, length, s->f) != length || !EVP_DigestUpdate(s->md, data, length))
        return CAIRO_STATUS_WRITE_ERROR;
    return CAIRO_STATUS_SUCCESS;
}

static void hex(const unsigned char *d, unsigned int n, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n && i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

/* Makes the fonts' measures independent of any screen: no hinting, 72 units per inch. */
static PangoContext *context(void)
{
    PangoContext *pc = pango_font_map_create_context(pango_cairo_font_map_get_default());
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(pc, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_context_set_resolution(pc, 72);
    pango_context_set_language(pc, pango_language_from_string("zh-cn"));
    pango_context_set_round_glyph_positions(pc, FALSE);
    return pc;
}

int cf_pdf_render(const cf_template *t, const json_t *fields, const char *date, const char *path,
                  cf_pdf_info *info, char *err, size_t errsz)
{
    pen P = {.t = t, .err = err, .errsz = errsz, .page = 1, .blank = 1};
    sink out = {0};
    cairo_surface_t *surface = NULL;
    json_t *all = NULL;
    char *tmp = NULL, *title = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int fd = -1, rc;

    memset(info, 0, sizeof *info);
    if (!(all = cf_template_fields(t, fields, &rc, err, errsz)))
        return rc;
    P.fields = all;
    if (!(tmp = malloc(strlen(path) + 16)) || !(out.md = EVP_MD_CTX_new()) ||
        !EVP_DigestInit_ex(out.md, EVP_sha256(), NULL)) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    sprintf(tmp, "%s.XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0640) != 0 || !(out.f = fdopen(fd, "wb"))) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
        goto out;
    }
    fd = -1; /* the FILE owns it now */
    surface = cairo_pdf_surface_create_for_stream(sink_write, &out, A4_WIDTH, A4_HEIGHT);
    cairo_pdf_surface_restrict_to_version(surface, CAIRO_PDF_VERSION_1_5);
    /* Fixed metadata: cairo would write the clock's time, and every rendering would differ. */
    if (!date)
        date = "2000-01-01T00:00:00+08:00";
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, date);
    {
        const char *no = json_string_value(json_object_get(all, "case_no"));
        const char *court = json_string_value(json_object_get(all, "court_name"));
        if ((title = malloc(strlen(t->name) + (no ? strlen(no) : 0) + 2)))
            sprintf(title, "%s%s%s", t->name, no ? " " : "", no ? no : "");
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title ? title : t->name);
        if (court)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, court);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "caseflow");
    }
    P.cr = cairo_create(surface);
    P.pc = context();
    pango_cairo_update_context(P.cr, P.pc);
    P.x0 = t->margin[3] * MM;
    P.x1 = A4_WIDTH - t->margin[1] * MM;
    P.y0 = t->margin[0] * MM;
    P.y1 = A4_HEIGHT - t->margin[2] * MM;
    P.y = P.y0;
    cairo_set_source_rgb(P.cr, 0, 0, 0);
    draw(&P);
    rc = P.rc;
    g_object_unref(P.pc);
    cairo_destroy(P.cr);
    cairo_surface_finish(surface);
    if (!rc && cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot write: %s", tmp,
                     cairo_status_to_string(cairo_surface_status(surface)));
    cairo_surface_destroy(surface);
    if (rc)
        goto out;
    if (fflush(out.f) != 0 || fsync(fileno(out.f)) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(out.f) != 0) {
        out.f = NULL;
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        goto out;
    }
    out.f = NULL;
    if (rename(tmp, path) != 0) {
        rc = cf_errf(err, errsz, CF_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    EVP_DigestFinal_ex(out.md, digest, &dlen);
    hex(digest, dlen, info->sha256);
    info->pages = P.page;
out:
    if (out.f)
        fclose(out.f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    EVP_MD_CTX_free(out.md);
    json_decref(all);
    free(title);
    return rc;
}

int cf_pdf_sha256_file(const char *path, char out[65])
{
    unsigned char buf[65536], digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t n;
    int rc = CF_EIO;
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (!f || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
        goto out;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (!EVP_DigestUpdate(md, buf, n))
            goto out;
    if (!ferror(f) && EVP_DigestFinal_ex(md, digest, &dlen)) {
        hex(digest, dlen, out);
        rc = 0;
    }
out:
    if (f)
        fclose(f);
    EVP_MD_CTX_free(md);
    return rc;
}
