/*
 * A stacked area chart as standalone SVG, written by hand: the picture needs a few dozen
 * elements, which a drawing library would not make clearer.  Rendering to PNG is left to
 * rsvg-convert, the one tool that already does it well.
 */
#include "svg.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* The page and the plot inside it, in SVG user units (pixels at 96 dpi); the legend's column to
 * the right of the plot is as wide as its longest label. */
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

/* Tableau's 10 colours and two more: distinct for neighbouring bands, readable in print. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                      "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                      "#9c755f", "#bab0ac", "#86bcb6", "#d37295"};

const char *cf_svg_color(size_t i)
{
    return palette[i % (sizeof palette / sizeof *palette)];
}

static void text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
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
static int is_tick(const cf_svg_chart *c, size_t i)
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

static double x_at(const cf_svg_chart *c, size_t i)
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
static int one_year(const cf_svg_chart *c)
{
    return c->ndays == 0 || strncmp(c->days[0], c->days[c->ndays - 1], 4) == 0;
}

static void axes(FILE *out, const cf_svg_chart *c, long long top, long long step)
{
    int short_dates = one_year(c);

    fprintf(out, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (long long v = step; v <= top; v += step)
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PLOT_LEFT,
                y_at(v, top), PLOT_RIGHT, y_at(v, top));
    fprintf(out, "</g>\n");
    /* The y axis: ticks and numbers. */
    fprintf(out, "<g class=\"y-axis\" font-size=\"13\" fill=\"#333\" text-anchor=\"end\">\n");
    for (long long v = 0; v <= top; v += step) {
        double y = y_at(v, top);
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                PLOT_LEFT - 5, y, PLOT_LEFT, y);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\">%lld</text>\n", PLOT_LEFT - 9, y + 4.5, v);
    }
    fprintf(out, "</g>\n");
    /* The x axis: a tick per chosen day, its date under it. */
    fprintf(out, "<g class=\"x-axis\" font-size=\"13\" fill=\"#333\" text-anchor=\"middle\">\n");
    for (size_t i = 0; i < c->ndays; i++) {
        double x = x_at(c, i);
        if (!is_tick(c, i))
            continue;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>\n", x,
                PLOT_BOTTOM, x, PLOT_BOTTOM + 5);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\">", x, PLOT_BOTTOM + 21);
        text(out, short_dates && strlen(c->days[i]) >= 10 ? c->days[i] + 5 : c->days[i]);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "</g>\n");
    fprintf(out,
            "<g stroke=\"#333\" stroke-width=\"1.2\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
            "y2=\"%d\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
            PLOT_LEFT, PLOT_TOP, PLOT_LEFT, PLOT_BOTTOM, PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT,
            PLOT_BOTTOM);
    if (c->x_title) {
        fprintf(out,
                "<text x=\"%d\" y=\"%d\" font-size=\"14\" fill=\"#333\" "
                "text-anchor=\"middle\">",
                (PLOT_LEFT + PLOT_RIGHT) / 2, PLOT_BOTTOM + 50);
        text(out, c->x_title);
        fprintf(out, "</text>\n");
    }
    if (c->y_title) {
        fprintf(out,
                "<text transform=\"translate(%d %d) rotate(-90)\" font-size=\"14\" "
                "fill=\"#333\" text-anchor=\"middle\">",
                22, (PLOT_TOP + PLOT_BOTTOM) / 2);
        text(out, c->y_title);
        fprintf(out, "</text>\n");
    }
}

/* The bands: each one's upper edge left to right, then the one below it right to left. */
static void areas(FILE *out, const cf_svg_chart *c, const long long *below, long long *above,
                  long long top)
{
    fprintf(out, "<g class=\"areas\" stroke=\"#ffffff\" stroke-width=\"0.8\" "
                 "stroke-linejoin=\"round\">\n");
    for (size_t s = 0; s < c->nseries; s++) {
        const cf_svg_series *se = &c->series[s];
        const char *color = se->color ? se->color : cf_svg_color(s);
        const long long *base = s == 0 ? below : above;
        long long *upper = malloc(c->ndays * sizeof *upper);
        if (!upper)
            return;
        for (size_t i = 0; i < c->ndays; i++)
            upper[i] = base[i] + (se->values[i] > 0 ? se->values[i] : 0);
        fprintf(out, "<path class=\"area\" data-name=\"");
        text(out, se->name);
        fprintf(out, "\" fill=\"%s\" d=\"", color);
        if (c->ndays == 1) {
            /* One day: a band across the whole plot, so that it is seen at all. */
            fprintf(out, "M%d %.1f L%d %.1f L%d %.1f L%d %.1f Z", PLOT_LEFT, y_at(upper[0], top),
                    PLOT_RIGHT, y_at(upper[0], top), PLOT_RIGHT, y_at(base[0], top), PLOT_LEFT,
                    y_at(base[0], top));
        } else {
            for (size_t i = 0; i < c->ndays; i++)
                fprintf(out, "%s%.1f %.1f", i == 0 ? "M" : " L", x_at(c, i), y_at(upper[i], top));
            for (size_t i = c->ndays; i-- > 0;)
                fprintf(out, " L%.1f %.1f", x_at(c, i), y_at(base[i], top));
            fprintf(out, " Z");
        }
        fprintf(out, "\"><title>");
        text(out, se->label ? se->label : se->name);
        fprintf(out, "</title></path>\n");
        memcpy(above, upper, c->ndays * sizeof *upper);
        free(upper);
    }
    fprintf(out, "</g>\n");
}

static void legend(FILE *out, const cf_svg_chart *c)
{
    fprintf(out, "<g class=\"legend\" font-size=\"%d\" fill=\"#222\">\n", LEGEND_FONT);
    /* Top to bottom as the bands are stacked, so that the legend reads like the picture. */
    for (size_t k = 0; k < c->nseries; k++) {
        size_t s = c->nseries - 1 - k;
        const cf_svg_series *se = &c->series[s];
        const char *color = se->color ? se->color : cf_svg_color(s);
        int y = PLOT_TOP + (int)k * LEGEND_ROW;
        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"16\" rx=\"2\" fill=\"%s\"/>\n",
                LEGEND_LEFT, y, color);
        fprintf(out, "<text x=\"%d\" y=\"%d\">", LEGEND_LEFT + 24, y + 13);
        text(out, se->label ? se->label : se->name);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "</g>\n");
}

/* About how wide `s` is set at `size` pixels: a CJK character is one em, others about half. */
static double text_width(const char *s, double size)
{
    double w = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p < 0x80)
            w += 0.56 * size;
        else if ((*p & 0xC0) != 0x80)
            w += size;
    }
    return w;
}

/* The page's width: the plot, then the legend's column. */
static int page_width(const cf_svg_chart *c)
{
    double legend = 0;
    for (size_t s = 0; s < c->nseries; s++) {
        const char *label = c->series[s].label ? c->series[s].label : c->series[s].name;
        double w = text_width(label, LEGEND_FONT);
        if (w > legend)
            legend = w;
    }
    return LEGEND_LEFT + 24 + (int)legend + 24;
}

int cf_svg_stacked_area(FILE *out, const cf_svg_chart *c)
{
    long long max = 0, top, step, *below = NULL, *above = NULL;
    int width = page_width(c);

    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"Noto Sans CJK SC, sans-serif\">\n",
            width, HEIGHT, width, HEIGHT);
    fprintf(out, "<title>");
    text(out, c->title);
    fprintf(out, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, HEIGHT);
    fprintf(out, "<text x=\"%d\" y=\"38\" font-size=\"21\" font-weight=\"bold\" fill=\"#111\">",
            PLOT_LEFT - 50);
    text(out, c->title);
    fprintf(out, "</text>\n");
    if (c->subtitle) {
        fprintf(out, "<text x=\"%d\" y=\"64\" font-size=\"14\" fill=\"#555\">", PLOT_LEFT - 50);
        text(out, c->subtitle);
        fprintf(out, "</text>\n");
    }
    if (c->ndays == 0) {
        fprintf(out,
                "<text x=\"%d\" y=\"%d\" font-size=\"16\" fill=\"#777\" "
                "text-anchor=\"middle\">无数据 No data</text>\n",
                (PLOT_LEFT + PLOT_RIGHT) / 2, (PLOT_TOP + PLOT_BOTTOM) / 2);
        goto out;
    }
    below = calloc(c->ndays, sizeof *below);
    above = calloc(c->ndays, sizeof *above);
    if (!below || !above)
        goto out;
    for (size_t i = 0; i < c->ndays; i++) {
        long long sum = 0;
        for (size_t s = 0; s < c->nseries; s++)
            sum += c->series[s].values[i] > 0 ? c->series[s].values[i] : 0;
        if (sum > max)
            max = sum;
    }
    step = nice_step(max > 0 ? max : 1);
    top = (max + step - 1) / step * step;
    if (top == 0)
        top = step;
    axes(out, c, top, step);
    areas(out, c, below, above, top);
    legend(out, c);
out:
    fprintf(out, "</svg>\n");
    free(below);
    free(above);
    return ferror(out) ? CF_EIO : 0;
}

int cf_svg_write_file(const char *path, const cf_svg_chart *c, char *err, size_t errsz)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (!f)
        return cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
    rc = cf_svg_stacked_area(f, c);
    if (fclose(f) != 0 || rc != 0)
        return cf_errf(err, errsz, CF_EIO, "writing %s: %s", path, strerror(errno));
    return 0;
}

int cf_svg_to_png(const char *svg, const char *png, char *err, size_t errsz)
{
    char *argv[] = {"rsvg-convert", "--format", "png", "-o", (char *)png, (char *)svg, NULL};
    pid_t pid;
    int status = 0, rc;

    rc = posix_spawnp(&pid, "rsvg-convert", NULL, NULL, argv, environ);
    if (rc == ENOENT)
        return cf_errf(err, errsz, CF_ENOTFOUND,
                       "rsvg-convert is not installed (Debian: librsvg2-bin); no PNG made");
    if (rc != 0)
        return cf_errf(err, errsz, CF_EIO, "starting rsvg-convert: %s", strerror(rc));
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return cf_errf(err, errsz, CF_EIO, "rsvg-convert could not render %s to %s", svg, png);
    return 0;
}
