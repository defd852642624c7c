/*
 * Charts written as standalone SVG by hand, for the pictures of `caseflow report`: a stacked
 * area chart of counts per day, with axes, date tick labels, a title and a legend.  Text is set
 * in "Noto Sans CJK SC, sans-serif" so that Chinese labels render wherever that font is (Debian:
 * fonts-noto-cjk).  Also: rendering an SVG file to PNG with rsvg-convert when it is installed.
 */
#ifndef CF_SVG_H
#define CF_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

/* One band of a stacked area chart: a value per day. */
typedef struct cf_svg_series {
    const char *name;        /* an id, written as the area's data-name attribute */
    const char *label;       /* the legend's text (UTF-8), e.g. "execution 执行实施" */
    const char *color;       /* a CSS colour, or NULL for the next colour of the palette */
    const long long *values; /* ndays values, none negative */
} cf_svg_series;

typedef struct cf_svg_chart {
    const char *title;       /* the heading, e.g. "执行实施案件 各状态案件数" */
    const char *subtitle;    /* a second line under it, or NULL */
    const char *x_title;     /* under the x axis, or NULL */
    const char *y_title;     /* beside the y axis, or NULL */
    const char *const *days; /* the x points as "YYYY-MM-DD", one per day, in order */
    size_t ndays;
    const cf_svg_series *series; /* stacked in this order: the first at the bottom */
    size_t nseries;
} cf_svg_chart;

/* The palette's colour `i` (any i: the palette repeats), as a CSS colour. */
const char *cf_svg_color(size_t i);

/*
 * Writes `c` as a stacked area chart to `out`: one <path class="area"> per series, in series
 * order.  A chart without days says so in place of the plot.  Returns 0, or CF_EIO when writing
 * failed.  Nothing of `c` is kept.
 */
int cf_svg_stacked_area(FILE *out, const cf_svg_chart *c) CF_MUST_CHECK;

/* The same into the file at `path` (created or replaced).  Returns 0 or CF_EIO with the path and
 * the reason in `err`. */
int cf_svg_write_file(const char *path, const cf_svg_chart *c, char *err,
                      size_t errsz) CF_MUST_CHECK;

/*
 * Renders the SVG file `svg` to the PNG file `png` with rsvg-convert (librsvg2-bin).  Returns 0,
 * CF_ENOTFOUND when rsvg-convert is not installed, or CF_EIO when it failed; `err` says which.
 */
int cf_svg_to_png(const char *svg, const char *png, char *err, size_t errsz) CF_MUST_CHECK;

#endif
