/*
 * The delivery route table (workers/delivery.c): an address goes to the route of the longest
 * place it names, or to the default; the court's own table loads and routes its district; a
 * table with a mistake is refused with its file, line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/delivery.h"

static const char table[] = "default: 邮寄送达\n"
                            "routes:\n"
                            "  城区线:\n"
                            "    places: [首阳路, 商城街道]\n"
                            "  北线:\n"
                            "    places: [首阳山街道]\n";

static void test_longest_place_wins(void **state)
{
    cf_delivery *d = NULL;
    char err[256];
    (void)state;

    assert_int_equal(cf_delivery_parse("t.yaml", table, strlen(table), &d, err, sizeof err), 0);
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区首阳山街道杨庄村1组"), "北线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区首阳路12号"), "城区线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区商城街道东寨村"), "城区线");
    assert_string_equal(cf_delivery_route(d, "河南省郑州市金水区某路1号"), "邮寄送达");
    assert_string_equal(cf_delivery_route(d, NULL), "邮寄送达");
    cf_delivery_free(d);
}

static void test_the_courts_table(void **state)
{
    const char *src = getenv("CASEFLOW_SOURCE_DIR");
    char path[1024], err[256];
    cf_delivery *d = NULL;
    (void)state;

    assert_non_null(src);
    snprintf(path, sizeof path, "%s/workflows/routes/yanshi.yaml", src);
    assert_int_equal(cf_delivery_load(path, &d, err, sizeof err), 0);
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区缑氏镇马屯村3组12号"), "南线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区杜甫大道88号阳光花园"), "城区线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区邙岭镇杨庄村7组9号"), "北线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区佃庄镇东寨村"), "东线");
    assert_string_equal(cf_delivery_route(d, "河南省洛阳市偃师区寇店镇刘窑村"), "西南线");
    cf_delivery_free(d);
}

static void refused(const char *text, const char *want)
{
    cf_delivery *d = NULL;
    char err[256] = "";
    assert_int_not_equal(cf_delivery_parse("bad.yaml", text, strlen(text), &d, err, sizeof err), 0);
    assert_null(d);
    if (!strstr(err, want))
        fail_msg("expected '%s' in: %s", want, err);
}

static void test_mistakes_are_named_where_they_are(void **state)
{
    (void)state;
    refused("routes:\n  a:\n    places: [x]\n", "bad.yaml:1:1: default names the route");
    refused("default: 邮寄送达\nroutes:\n  a:\n    title: 无地点\n",
            "bad.yaml:4:5: a route needs places");
    refused("default: 邮寄送达\nroutes:\n  a:\n    places: [岳滩镇]\n  b:\n    places: [岳滩镇]\n",
            "bad.yaml:6:14: '岳滩镇' is on two routes: a and b");
    refused("default: [1\n", "bad.yaml:");
    {
        cf_delivery *d = NULL;
        char err[256];
        assert_int_equal(cf_delivery_load("/nonexistent/routes.yaml", &d, err, sizeof err), CF_EIO);
        assert_non_null(strstr(err, "/nonexistent/routes.yaml"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_place_wins),
        cmocka_unit_test(test_the_courts_table),
        cmocka_unit_test(test_mistakes_are_named_where_they_are),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
