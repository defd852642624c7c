/*
 * A stacked area chart drawn once with cairo onto whichever surface is asked for (SVG, PNG), its
 * text laid out and measured by pango.  Coordinates are pixels at 96 dpi.
 */
#include "chart.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

/* The page and the plot inside it; the legend's column right of the plot is as wide as its
 * longest label. */
enum {
    PLOT_WIDTH = 780,
    HEIGHT = 640,
    PLOT_LEFT = 76,
    PLOT_TOP = 92,
    PLOT_RIGHT = PLOT_LEFT + PLOT_WIDTH,
    PLOT_BOTTOM = HEIGHT - 78,
    LEGEND_LEFT = PLOT_RIGHT + 24,
    LEGEND_ROW = 24,
    LEGEND_FONT = 13,
};

#define FONT "Noto Sans CJK SC"

/* Tableau's 10 colours and two more: distinct for neighbouring bands, readable in print. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                      "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                      "#9c755f", "#bab0ac", "#86bcb6", "#d37295"};

const char *cf_chart_color(size_t i)
{
    return palette[i % (sizeof palette / sizeof *palette)];
}

/* Sets the source colour "#rrggbb"; anything else is drawn grey rather than refused. */
static void set_color(cairo_t *cr, const char *hex)
{
    unsigned r = 0x88, g = 0x88, b = 0x88;
    if (hex && strlen(hex) == 7 && hex[0] == '#') {
        unsigned long v = strtoul(hex + 1, NULL, 16);
        r = (unsigned)(v >> 16) & 0xff, g = (unsigned)(v >> 8) & 0xff, b = (unsigned)v & 0xff;
    }
    cairo_set_source_rgb(cr, r / 255.0, g / 255.0, b / 255.0);
}

/* A layout of `s` in the chart's font at `px` pixels. */
static PangoLayout *layout(cairo_t *cr, const char *s, double px, int bold)
{
    PangoLayout *l = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_from_string(FONT);

    pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
    if (bold)
        pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(l, fd);
    pango_layout_set_text(l, s ? s : "", -1);
    pango_font_description_free(fd);
    return l;
}

/* Sets `s` with its baseline at y; `align` 0 puts its left end at x, 0.5 its middle, 1 its right
 * end. */
static void text_at(cairo_t *cr, const char *s, double px, int bold, double x, double y,
                    double align)
{
    PangoLayout *l = layout(cr, s, px, bold);
    int w, h;

    pango_layout_get_pixel_size(l, &w, &h);
    cairo_move_to(cr, x - align * w, y - pango_layout_get_baseline(l) / (double)PANGO_SCALE);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
}

/* How wide `s` is set at `px` pixels. */
static int text_width(cairo_t *cr, const char *s, double px)
{
    PangoLayout *l = layout(cr, s, px, 0);
    int w, h;

    pango_layout_get_pixel_size(l, &w, &h);
    g_object_unref(l);
    return w;
}

static const char *label_of(const cf_chart_series *s)
{
    return s->label ? s->label : s->name;
}

static long long value(const cf_chart_series *s, size_t day)
{
    return s->values[day] > 0 ? s->values[day] : 0;
}

/* The smallest step of 1, 2 or 5 times a power of ten that divides `max` into at most 6. */
static long long nice_step(long long max)
{
    long long step = 1;
    for (;;) {
        if (max <= step * 6)
            return step;
        if (max <= step * 2 * 6)
            return step * 2;
        if (max <= step * 5 * 6)
            return step * 5;
        step *= 10;
    }
}

/* Whether day `i` gets a tick and a label: every day of a short chart, every week of a longer
 * one, the 1st and 15th of each month of a season, the 1st of each month beyond. */
static int is_tick(const cf_chart *c, size_t i)
{
    const char *d = c->days[i];
    const char *dd = strlen(d) >= 10 ? d + 8 : "";
    if (c->ndays <= 16)
        return 1;
    if (c->ndays <= 70)
        return i % 7 == 0;
    if (c->ndays <= 200)
        return strcmp(dd, "01") == 0 || strcmp(dd, "15") == 0;
    return strcmp(dd, "01") == 0;
}

static double x_at(const cf_chart *c, size_t i)
{
    double w = PLOT_RIGHT - PLOT_LEFT;
    if (c->ndays <= 1)
        return PLOT_LEFT + w / 2;
    return PLOT_LEFT + w * (double)i / (double)(c->ndays - 1);
}

static double y_at(long long v, long long top)
{
    return PLOT_BOTTOM - (double)(PLOT_BOTTOM - PLOT_TOP) * (double)v / (double)top;
}

/* Whether all days fall in one year, so that ticks can leave the year out. */
static int one_year(const cf_chart *c)
{
    return c->ndays == 0 || strncmp(c->days[0], c->days[c->ndays - 1], 4) == 0;
}

static void line(cairo_t *cr, double x1, double y1, double x2, double y2)
{
    cairo_move_to(cr, x1, y1);
    cairo_line_to(cr, x2, y2);
    cairo_stroke(cr);
}

static void y_axis(cairo_t *cr, long long top, long long step)
{
    char num[32];

    cairo_set_line_width(cr, 1);
    set_color(cr, "#e3e3e3");
    for (long long v = step; v <= top; v += step)
        line(cr, PLOT_LEFT, y_at(v, top), PLOT_RIGHT, y_at(v, top));
    for (long long v = 0; v <= top; v += step) {
        double y = y_at(v, top);
        set_color(cr, "#333333");
        line(cr, PLOT_LEFT - 5, y, PLOT_LEFT, y);
        snprintf(num, sizeof num, "%lld", v);
        text_at(cr, num, 13, 0, PLOT_LEFT - 9, y + 4.5, 1);
    }
}

static void x_axis(cairo_t *cr, const cf_chart *c)
{
    int short_dates = one_year(c);

    set_color(cr, "#333333");
    cairo_set_line_width(cr, 1);
    for (size_t i = 0; i < c->ndays; i++) {
        const char *d = c->days[i];
        if (!is_tick(c, i))
            continue;
        line(cr, x_at(c, i), PLOT_BOTTOM, x_at(c, i), PLOT_BOTTOM + 5);
        text_at(cr, short_dates && strlen(d) >= 10 ? d + 5 : d, 13, 0, x_at(c, i), PLOT_BOTTOM + 21,
                0.5);
    }
    cairo_set_line_width(cr, 1.2);
    line(cr, PLOT_LEFT, PLOT_TOP, PLOT_LEFT, PLOT_BOTTOM);
    line(cr, PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT, PLOT_BOTTOM);
    if (c->x_title)
        text_at(cr, c->x_title, 14, 0, (PLOT_LEFT + PLOT_RIGHT) / 2.0, PLOT_BOTTOM + 50, 0.5);
    if (c->y_title) {
        cairo_save(cr);
        cairo_translate(cr, 22, (PLOT_TOP + PLOT_BOTTOM) / 2.0);
        cairo_rotate(cr, -G_PI / 2);
        text_at(cr, c->y_title, 14, 0, 0, 0, 0.5);
        cairo_restore(cr);
    }
}

/* The bands, bottom up: each one's upper edge left to right, then its lower edge (the band
 * below's upper edge) right to left.  `edge` holds the lower edge and is raised band by band. */
static void bands(cairo_t *cr, const cf_chart *c, long long *edge, long long top)
{
    cairo_set_line_width(cr, 0.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t s = 0; s < c->nseries; s++) {
        const cf_chart_series *se = &c->series[s];
        if (c->ndays == 1) {
            /* One day: a band across the whole plot, so that it is seen at all. */
            double lo = y_at(edge[0], top), hi = y_at(edge[0] + value(se, 0), top);
            cairo_rectangle(cr, PLOT_LEFT, hi, PLOT_RIGHT - PLOT_LEFT, lo - hi);
            edge[0] += value(se, 0);
        } else {
            for (size_t i = 0; i < c->ndays; i++)
                cairo_line_to(cr, x_at(c, i), y_at(edge[i] + value(se, i), top));
            for (size_t i = c->ndays; i-- > 0;)
                cairo_line_to(cr, x_at(c, i), y_at(edge[i], top));
            cairo_close_path(cr);
            for (size_t i = 0; i < c->ndays; i++)
                edge[i] += value(se, i);
        }
        set_color(cr, se->color ? se->color : cf_chart_color(s));
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_stroke(cr);
    }
}

/* Top to bottom as the bands are stacked, so that the legend reads like the picture. */
static void legend(cairo_t *cr, const cf_chart *c)
{
    for (size_t k = 0; k < c->nseries; k++) {
        size_t s = c->nseries - 1 - k;
        const cf_chart_series *se = &c->series[s];
        double y = PLOT_TOP + (double)k * LEGEND_ROW;
        set_color(cr, se->color ? se->color : cf_chart_color(s));
        cairo_rectangle(cr, LEGEND_LEFT, y, 16, 16);
        cairo_fill(cr);
        set_color(cr, "#222222");
        text_at(cr, label_of(se), LEGEND_FONT, 0, LEGEND_LEFT + 24, y + 13, 0);
    }
}

/* The plot: its scale from the highest stack of any day, then axes, bands, legend. */
static int plot(cairo_t *cr, const cf_chart *c)
{
    long long max = 0, top, step, *edge = calloc(c->ndays, sizeof *edge);

    if (!edge)
        return CF_ENOMEM;
    for (size_t i = 0; i < c->ndays; i++) {
        long long sum = 0;
        for (size_t s = 0; s < c->nseries; s++)
            sum += value(&c->series[s], i);
        if (sum > max)
            max = sum;
    }
    step = nice_step(max > 0 ? max : 1);
    top = (max + step - 1) / step * step;
    if (top == 0)
        top = step;
    y_axis(cr, top, step);
    bands(cr, c, edge, top);
    x_axis(cr, c);
    legend(cr, c);
    free(edge);
    return 0;
}

static int draw(cairo_t *cr, const cf_chart *c, int width)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, 0, 0, width, HEIGHT);
    cairo_fill(cr);
    set_color(cr, "#111111");
    text_at(cr, c->title, 21, 1, PLOT_LEFT - 50, 38, 0);
    if (c->subtitle) {
        set_color(cr, "#555555");
        text_at(cr, c->subtitle, 14, 0, PLOT_LEFT - 50, 64, 0);
    }
    if (c->ndays == 0) {
        set_color(cr, "#777777");
        text_at(cr, "无数据 No data", 16, 0, (PLOT_LEFT + PLOT_RIGHT) / 2.0,
                (PLOT_TOP + PLOT_BOTTOM) / 2.0, 0.5);
        return 0;
    }
    return plot(cr, c);
}

/* The page's width: the plot, then the legend's column, measured on a scratch surface. */
static int page_width(const cf_chart *c)
{
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t *cr = cairo_create(scratch);
    int legend = 0;

    for (size_t s = 0; s < c->nseries; s++) {
        int w = text_width(cr, label_of(&c->series[s]), LEGEND_FONT);
        if (w > legend)
            legend = w;
    }
    cairo_destroy(cr);
    cairo_surface_destroy(scratch);
    return LEGEND_LEFT + 24 + legend + 24;
}

/* Draws onto `surface` (consumed) and finishes it; `path` names the file in messages. */
static int render(cairo_surface_t *surface, const cf_chart *c, int width, const char *png,
                  const char *path, char *err, size_t errsz)
{
    cairo_t *cr = cairo_create(surface);
    cairo_status_t st;
    int rc = draw(cr, c, width);

    cairo_destroy(cr);
    if (rc == 0 && png) {
        st = cairo_surface_write_to_png(surface, png);
    } else {
        cairo_surface_finish(surface); /* an SVG surface writes the end of its file here */
        st = cairo_surface_status(surface);
    }
    cairo_surface_destroy(surface);
    if (rc != 0)
        return cf_errf(err, errsz, rc, "drawing %s: out of memory", path);
    if (st != CAIRO_STATUS_SUCCESS)
        return cf_errf(err, errsz, CF_EIO, "writing %s: %s", path, cairo_status_to_string(st));
    return 0;
}

int cf_chart_write(const cf_chart *c, const char *svg, const char *png, char *err, size_t errsz)
{
    int width = page_width(c), rc = 0;

    if (svg) {
        cairo_surface_t *surface = cairo_svg_surface_create(svg, width, HEIGHT);
        /* Pixels, as the PNG has them; cairo's default would make the page 4/3 larger. */
        cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
        rc = render(surface, c, width, NULL, svg, err, errsz);
    }
    if (rc == 0 && png)
        rc = render(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, HEIGHT), c, width, png,
                    png, err, errsz);
    return rc;
}
