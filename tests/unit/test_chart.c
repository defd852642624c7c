/* cli/chart: the report's chart drawn with cairo and pango, to SVG and PNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/chart.h"

static const char *const days[] = {"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"};
static const long long filed[] = {10, 6, 3, 0}, execution[] = {0, 4, 6, 8},
                       closed[] = {0, 0, 1, -2};
static const cf_chart_series series[] = {
    {"closed", "closed 结案 (0)", "#e15759", closed},
    {"execution", "execution 执行实施 (8)", "#59a14f", execution},
    {"filed", "filed 立案 (0)", NULL, filed},
};

static cf_chart chart(size_t ndays)
{
    return (cf_chart){.title = "执行实施案件 各状态案件数",
                      .subtitle = "enforcement_case",
                      .x_title = "日期 Day",
                      .y_title = "案件数 Cases",
                      .days = days,
                      .ndays = ndays,
                      .series = series,
                      .nseries = 3};
}

static void scratch(char *path, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, n, "%s/test_chart_%d_%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), name);
}

/* Whether a pixel of the colour "#rrggbb" is anywhere inside the rectangle. */
static int has_color(cairo_surface_t *png, const char *hex, int x0, int y0, int x1, int y1)
{
    unsigned long want = strtoul(hex + 1, NULL, 16);
    const unsigned char *data = cairo_image_surface_get_data(png);
    int stride = cairo_image_surface_get_stride(png);

    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint32_t px = *(const uint32_t *)(const void *)(data + y * stride + x * 4);
            if ((px & 0xffffff) == want)
                return 1;
        }
    return 0;
}

/* Dark pixels in the rectangle: text was set there (tofu boxes for missing glyphs are thin
 * outlines; a CJK title set in a real font darkens many more). */
static int dark_pixels(cairo_surface_t *png, int x0, int y0, int x1, int y1)
{
    const unsigned char *data = cairo_image_surface_get_data(png);
    int stride = cairo_image_surface_get_stride(png), n = 0;

    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint32_t px = *(const uint32_t *)(const void *)(data + y * stride + x * 4);
            n += ((px >> 16) & 0xff) < 0x60 && ((px >> 8) & 0xff) < 0x60 && (px & 0xff) < 0x60;
        }
    return n;
}

static void test_svg_and_png_of_one_drawing(void **state)
{
    char svg[512], png[512], err[256], head[6] = "";
    cf_chart c = chart(4);
    cairo_surface_t *img;
    FILE *f;

    (void)state;
    scratch(svg, sizeof svg, "a.svg");
    scratch(png, sizeof png, "a.png");
    assert_int_equal(cf_chart_write(&c, svg, png, err, sizeof err), 0);
    f = fopen(svg, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, 5, f), 5);
    fclose(f);
    assert_string_equal(head, "<?xml");
    img = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_height(img), 640);
    assert_true(cairo_image_surface_get_width(img) > 900);
    /* Each band's colour is in the plot, and in the legend's column beside it. */
    for (size_t s = 0; s < 3; s++) {
        const char *color = series[s].color ? series[s].color : cf_chart_color(s);
        assert_true(has_color(img, color, 76, 92, 856, 562));
        assert_true(has_color(img, color, 856, 92, cairo_image_surface_get_width(img), 200));
    }
    /* The title's 汉字 were set with glyphs: well over a few hundred dark pixels. */
    assert_true(dark_pixels(img, 0, 10, 600, 45) > 800);
    cairo_surface_destroy(img);
    unlink(svg);
    unlink(png);
}

static void test_a_chart_without_days_says_so(void **state)
{
    char png[512], err[256];
    cf_chart c = chart(0);
    cairo_surface_t *img;

    (void)state;
    scratch(png, sizeof png, "empty.png");
    assert_int_equal(cf_chart_write(&c, NULL, png, err, sizeof err), 0);
    img = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    assert_true(dark_pixels(img, 300, 280, 640, 360) == 0); /* grey text, no plot */
    assert_false(has_color(img, "#59a14f", 76, 92, 856, 562));
    cairo_surface_destroy(img);
    unlink(png);
}

static void test_an_unwritable_file_is_named(void **state)
{
    char err[256] = "";
    cf_chart c = chart(4);

    (void)state;
    assert_int_equal(cf_chart_write(&c, NULL, "/nonexistent/dir/chart.png", err, sizeof err),
                     CF_EIO);
    assert_non_null(strstr(err, "/nonexistent/dir/chart.png"));
    assert_int_equal(cf_chart_write(&c, "/nonexistent/dir/chart.svg", NULL, err, sizeof err),
                     CF_EIO);
    assert_non_null(strstr(err, "/nonexistent/dir/chart.svg"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_and_png_of_one_drawing),
        cmocka_unit_test(test_a_chart_without_days_says_so),
        cmocka_unit_test(test_an_unwritable_file_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
