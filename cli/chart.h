/*
 * The charts of `caseflow report`, drawn with cairo and pango: a stacked area chart of counts per
 * day, with axes, date tick labels, a title and a legend, written as SVG and as PNG from the same
 * drawing.  Text is set by pango in Noto Sans CJK SC (Debian: fonts-noto-cjk), so Chinese labels
 * render and are measured as they are set; the SVG carries the glyphs as outlines, so it looks
 * the same in any viewer with no font installed.
 */
#ifndef CF_CHART_H
#define CF_CHART_H

#include <stddef.h>

#include "base/err.h"

/* One band of a stacked area chart: a value per day. */
typedef struct cf_chart_series {
    const char *name;  /* an id, for messages */
    const char *label; /* the legend's text (UTF-8), e.g. "execution 执行实施"; NULL: name */
    const char *color; /* "#rrggbb", or NULL for the next colour of the palette */
    const long long *values; /* ndays values; a negative one counts as 0 */
} cf_chart_series;

typedef struct cf_chart {
    const char *title;       /* the heading, e.g. "执行实施案件 各状态案件数" */
    const char *subtitle;    /* a second line under it, or NULL */
    const char *x_title;     /* under the x axis, or NULL */
    const char *y_title;     /* beside the y axis, or NULL */
    const char *const *days; /* the x points as "YYYY-MM-DD", one per day, in order */
    size_t ndays;
    const cf_chart_series *series; /* stacked in this order: the first at the bottom */
    size_t nseries;
} cf_chart;

/* The palette's colour `i` (any i: the palette repeats), as "#rrggbb". */
const char *cf_chart_color(size_t i);

/*
 * Draws `c` as a stacked area chart into the SVG file `svg` and the PNG file `png` (each created
 * or replaced; either may be NULL).  A chart without days says so in place of the plot.  Returns
 * 0, or CF_EIO (CF_ENOMEM when memory ran out) with the file and the reason in `err`.  Nothing of
 * `c` is kept.
 */
int cf_chart_write(const cf_chart *c, const char *svg, const char *png, char *err,
                   size_t errsz) CF_MUST_CHECK;

#endif
