/*
 * Unit tests of the court's documents: the templates of workflows/templates/ load, every document
 * renders for the sample case of tests/data/events/valid/case.filed.json into a PDF whose hash is
 * the one returned and the same on a second rendering, and the Chinese text really is in it (read
 * back with pdftotext).  Also the numerals of dates and amounts, template errors at their line
 * and column, page breaks, and the service kind's delivery results.
 *
 * Set CF_TEST_PDF_KEEP=1 to keep the PDFs (the folder is printed) and look at them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "workers/adapter.h"
#include "workers/docfields.h"
#include "workers/pdf.h"
#include "workers/template.h"
#include "workers/worker.h"

extern const cf_worker_kind cf_kind_documents, cf_kind_service;

static char source_dir[1024], out_dir[1024];
static cf_config cfg;
static json_t *sample; /* the data of the sample case.filed event */

static void replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

static int setup(void **state)
{
    const char *src = getenv("CASEFLOW_SOURCE_DIR");
    char path[2048], err[512];
    json_error_t jerr;
    json_t *ev;

    (void)state;
    if (!src) {
        fprintf(stderr, "CASEFLOW_SOURCE_DIR is not set: run this test through ctest\n");
        return -1;
    }
    snprintf(source_dir, sizeof source_dir, "%s", src);
    snprintf(out_dir, sizeof out_dir, "%s/cf-test-pdf-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(out_dir))
        return -1;
    if (cf_config_load(&cfg, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(path, sizeof path, "%s/workflows/templates", source_dir);
    replace(&cfg.doc_templates, path);
    snprintf(path, sizeof path, "%s/workflows/routes/yanshi.yaml", source_dir);
    replace(&cfg.service_routes, path);
    replace(&cfg.documents_dir, out_dir);
    replace(&cfg.doc_account_bank, "中国工商银行股份有限公司偃师支行");
    replace(&cfg.doc_account_number, "1705021109000012345");
    replace(&cfg.doc_phone, "0379-67788990");
    for (size_t i = 0; i < cfg.nworkflows; i++) {
        snprintf(path, sizeof path, "%s/%s", source_dir, cfg.workflows[i]);
        replace(&cfg.workflows[i], path);
    }
    snprintf(path, sizeof path, "%s/tests/data/events/valid/case.filed.json", source_dir);
    if (!(ev = json_load_file(path, 0, &jerr)))
        return -1;
    sample = json_deep_copy(json_object_get(ev, "data"));
    json_decref(ev);
    /* Assigned by its sequence number 1234: (1234 - 1) mod 6 gives the fourth team. */
    json_object_set_new(sample, "handler_post", json_string("team_4"));
    return 0;
}

static int teardown(void **state)
{
    char cmd[1200];
    (void)state;
    if (getenv("CF_TEST_PDF_KEEP")) {
        printf("the PDFs are in %s\n", out_dir);
    } else {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", out_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", out_dir);
    }
    json_decref(sample);
    cf_config_free(&cfg);
    return 0;
}

/* ---- helpers ---- */

static void sha256_of(const char *path, char hex[65])
{
    unsigned char buf[8192], d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t got;
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    assert_non_null(f);
    assert_true(EVP_DigestInit_ex(md, EVP_sha256(), NULL));
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        assert_true(EVP_DigestUpdate(md, buf, got));
    assert_true(EVP_DigestFinal_ex(md, d, &n));
    for (unsigned int i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    EVP_MD_CTX_free(md);
    fclose(f);
}

/* The text pdftotext reads from the file; with `strip`, all white space taken out (lines break
 * anywhere in Chinese).  The caller frees it. */
static char *pdf_text_as(const char *path, int strip)
{
    char cmd[2048], *out = calloc(1, 1);
    size_t n = 0;
    int c;
    FILE *p;

    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>&1", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((c = fgetc(p)) != EOF) {
        if (strip && (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'))
            continue;
        out = realloc(out, n + 2);
        out[n++] = (char)c;
        out[n] = '\0';
    }
    if (pclose(p) != 0)
        fail_msg("pdftotext failed on %s (is poppler-utils installed? see scripts/setup): %s", path,
                 out);
    return out;
}

static char *pdf_text(const char *path)
{
    return pdf_text_as(path, 1);
}

static void assert_contains(const char *text, const char *what, const char *doc)
{
    if (!strstr(text, what))
        fail_msg("%s: '%s' is not in the text of the PDF:\n%s", doc, what, text);
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static cf_template *parse(const char *yaml, char *err, size_t errsz)
{
    return cf_template_parse("x.yaml", yaml, strlen(yaml), err, errsz);
}

/* ---- Chinese numerals ---- */

static void test_amount_words(void **state)
{
    static const struct {
        double yuan;
        const char *words;
    } cases[] = {
        {0, "零元整"},
        {0.05, "伍分"},
        {0.5, "伍角"},
        {1, "壹元整"},
        {10, "壹拾元整"},
        {300, "叁佰元整"},
        {1005.06, "壹仟零伍元零陆分"},
        {1409.05, "壹仟肆佰零玖元零伍分"},
        {1680.32, "壹仟陆佰捌拾元叁角贰分"},
        {100050, "壹拾万零伍拾元整"},
        {107000.53, "壹拾万零柒仟元伍角叁分"},
        {120000.5, "壹拾贰万元伍角"},
        {10005000, "壹仟万零伍仟元整"},
        {100000000, "壹亿元整"},
        {302000000.1, "叁亿零贰佰万元壹角"},
        {999999999999.99, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"},
    };
    char buf[256], digits[64];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(cf_docfields_amount_words(cases[i].yuan, buf, sizeof buf), 0);
        assert_string_equal(buf, cases[i].words);
    }
    assert_int_equal(cf_docfields_amount_words(1e12, buf, sizeof buf), CF_ERANGE);
    assert_int_equal(cf_docfields_amount_words(999999999999.996, buf, sizeof buf), CF_ERANGE);
    assert_int_equal(cf_docfields_amount_words(-1, buf, sizeof buf), CF_ERANGE);
    assert_int_equal(cf_docfields_amount_words(120000.5, buf, 10), CF_ERANGE);
    cf_docfields_amount_digits(120000.5, digits, sizeof digits);
    assert_string_equal(digits, "120,000.50");
    cf_docfields_amount_digits(999.999, digits, sizeof digits);
    assert_string_equal(digits, "1,000.00");
    cf_docfields_amount_digits(0, digits, sizeof digits);
    assert_string_equal(digits, "0.00");
}

static void test_date_words(void **state)
{
    char buf[64];
    (void)state;
    cf_docfields_date_words(2026, 3, 2, buf, sizeof buf);
    assert_string_equal(buf, "二〇二六年三月二日");
    cf_docfields_date_words(2025, 12, 20, buf, sizeof buf);
    assert_string_equal(buf, "二〇二五年十二月二十日");
    cf_docfields_date_words(2030, 10, 31, buf, sizeof buf);
    assert_string_equal(buf, "二〇三〇年十月三十一日");
    cf_docfields_date_words(2026, 11, 10, buf, sizeof buf);
    assert_string_equal(buf, "二〇二六年十一月十日");
}

static void test_fields_of_the_sample_case(void **state)
{
    json_t *f = NULL, *titles = json_pack("{s:s}", "team_4", "执行四团队");
    char err[256];
    (void)state;
    assert_int_equal(
        cf_docfields_build(&cfg, "(2026)豫0381执1234号", sample, NULL, titles, &f, err, sizeof err),
        0);
    assert_string_equal(json_string_value(json_object_get(f, "respondent_names")),
                        "洛阳某某建材有限公司");
    assert_string_equal(json_string_value(json_object_get(f, "amount_words")), "壹拾贰万元伍角");
    assert_string_equal(json_string_value(json_object_get(f, "filed_date")), "二〇二六年三月二日");
    assert_string_equal(json_string_value(json_object_get(f, "basis_date")),
                        "二〇二五年十二月二十日");
    assert_string_equal(json_string_value(json_object_get(f, "handler")), "执行四团队");
    assert_string_equal(json_string_value(json_object_get(f, "account_remark")),
                        "(2026)豫0381执1234号洛阳某某建材有限公司");
    assert_string_equal(json_string_value(json_object_get(f, "date_iso")),
                        "2026-03-02T00:00:00+08:00");
    json_decref(f);
    /* A case without a filing time cannot date its documents. */
    json_t *empty = json_object();
    assert_int_equal(
        cf_docfields_build(&cfg, "(2026)豫0381执1号", empty, NULL, titles, &f, err, sizeof err),
        CF_EINVAL);
    json_decref(empty);
    json_decref(titles);
}

/* Where one installation serves several courts, a document is headed with its case's court. */
static void test_fields_name_the_case_s_court(void **state)
{
    char a_code[] = "豫0381", a_name[] = "甲区人民法院", b_code[] = "新0102",
         b_name[] = "乙区人民法院";
    cf_court_cfg courts[2] = {{.code = a_code, .name = a_name}, {.code = b_code, .name = b_name}};
    cf_config two = cfg;
    json_t *f = NULL, *titles = json_object(), *old = json_deep_copy(sample);
    char err[256];
    (void)state;

    two.courts = courts;
    two.ncourts = 2;
    assert_int_equal(
        cf_docfields_build(&two, "(2026)新0102执7号", sample, NULL, titles, &f, err, sizeof err),
        0);
    assert_string_equal(json_string_value(json_object_get(f, "court_name")), "乙区人民法院");
    json_decref(f);
    assert_int_equal(
        cf_docfields_build(&two, "(2026)豫0381执7号", sample, NULL, titles, &f, err, sizeof err),
        0);
    assert_string_equal(json_string_value(json_object_get(f, "court_name")), "甲区人民法院");
    json_decref(f);
    /* An old-form number goes by the court its filing named. */
    json_object_set_new(old, "court", json_string("新0102"));
    assert_int_equal(
        cf_docfields_build(&two, "(2013)洛执字第1984号", old, NULL, titles, &f, err, sizeof err),
        0);
    assert_string_equal(json_string_value(json_object_get(f, "court_name")), "乙区人民法院");
    json_decref(f);
    json_decref(old);
    json_decref(titles);
}

/* ---- templates ---- */

static void test_template_errors_name_line_and_column(void **state)
{
    static const struct {
        const char *yaml, *message;
    } cases[] = {
        {"name: a\nbody:\n  - txt: hi\n", "x.yaml:3:5: unknown block 'txt'"},
        {"name: a\nbody:\n  - text: 你好${name\n", "x.yaml:3:13: '${' without its '}'"},
        {"name: a\nbody:\n  - text: 你好${two words}\n", "x.yaml:3:13: '${two words}' is not"},
        {"name: a\nbody:\n  - text: |\n      第一行\n      第二行${a b}\n",
         "x.yaml:5:10: '${a b}' is not"},
        {"name: a\nsize: 99\nbody: []\n", "x.yaml:2:7: size must be a number from 6 to 40"},
        {"name: a\nbody: [\n", "x.yaml:3:1: bad YAML"},
        {"body: []\n", "x.yaml:1:1: the template needs name"},
        {"name: a\nbody:\n  - table:\n      widths: [1, 2]\n      rows:\n        - [x]\n",
         "x.yaml:6:11: this row covers 1 columns; the table has 2"},
        {"name: a\nfields:\n  f: {money: x}\nbody: []\n", "x.yaml:3:6: a choice needs 'by"},
        {"name: a\ncolour: red\nbody: []\n", "x.yaml:2:1: unknown key 'colour'"},
    };
    char err[512];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_null(parse(cases[i].yaml, err, sizeof err));
        if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("case %zu: expected '%s...', got '%s'", i, cases[i].message, err);
    }
}

static void test_missing_field_is_reported_where_it_is_written(void **state)
{
    char err[512], path[1200];
    cf_pdf_info info;
    json_t *fields = json_pack("{s:s}", "case_no", "(2026)豫0381执1号");
    cf_template *t = parse("name: 通知\nbody:\n  - text: |\n      案号${case_no}，\n"
                           "      申请人${applicant_nmes}。\n",
                           err, sizeof err);
    (void)state;
    assert_non_null(t);
    snprintf(path, sizeof path, "%s/missing.pdf", out_dir);
    assert_int_equal(cf_pdf_render(t, fields, NULL, path, &info, err, sizeof err), CF_EINVAL);
    assert_string_equal(err, "x.yaml:5:10: no field 'applicant_nmes' for this document");
    /* Nothing is left behind: neither the file nor its temporary. */
    assert_int_equal(access(path, F_OK), -1);
    cf_template_free(t);
    json_decref(fields);
}

static void test_placeholders_fill_and_escape(void **state)
{
    char err[256], *s = NULL;
    json_t *f =
        json_pack("{s:s, s:{s:s}, s:i}", "a", "甲", "basis", "no", "(2025)豫0381民初1号", "n", 3);
    cf_template *t = parse("name: a\nfields:\n  kind:\n    by: a\n    甲: 是甲\n    default: 非甲\n"
                           "body:\n  - text: ${a}-${basis.no}-${n}-$${a}-${kind}\n",
                           err, sizeof err);
    json_t *all;
    int rc;
    (void)state;
    assert_non_null(t);
    assert_non_null(all = cf_template_fields(t, f, &rc, err, sizeof err));
    assert_int_equal(cf_template_expand(t, &t->blocks[0].text, all, &s, err, sizeof err), 0);
    assert_string_equal(s, "甲-(2025)豫0381民初1号-3-${a}-是甲");
    free(s);
    json_decref(all);
    cf_template_free(t);
    json_decref(f);
}

static void test_the_court_templates_load(void **state)
{
    static const char *const files[] = {"enforcement_notice",
                                        "property_report_order",
                                        "property_declaration",
                                        "risk_notice",
                                        "suspension_ruling",
                                        "termination_ruling",
                                        "consumption_restriction_order"};
    static const char *const names[] = {"执行通知书",
                                        "报告财产令",
                                        "财产申报表",
                                        "风险告知书",
                                        "执行裁定书（中止执行）",
                                        "执行裁定书（终结本次执行程序）",
                                        "限制消费令"};
    char path[1200], err[512];
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cf_template *t;
        snprintf(path, sizeof path, "%s/%s.yaml", cfg.doc_templates, files[i]);
        if (!(t = cf_template_load(path, err, sizeof err)))
            fail_msg("%s", err);
        assert_string_equal(t->name, names[i]);
        cf_template_free(t);
    }
}

/* ---- rendering ---- */

static void test_long_text_and_tables_break_over_pages(void **state)
{
    char err[512], path[1200], *text;
    cf_pdf_info info;
    json_t *f = json_pack("{s:s}", "x", "执行");
    char *yaml = malloc(200000);
    size_t o;
    cf_template *t;
    (void)state;
    o = (size_t)sprintf(yaml, "name: 长文\nbody:\n  - title: 长文\n  - text: |\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(
            yaml + o, "      第%d段：%s%s%s\n\n", i + 1, "人民法院${x}工作应当依法进行，",
            "当事人应当依法履行生效法律文书确定的义务，", "拒不履行的，人民法院可以依法强制执行。");
    o += (size_t)sprintf(yaml + o,
                         "  - table:\n      widths: [1, 3]\n      row_height: 30\n"
                         "      header: [{text: 表头甲, bold: true}, 表头乙]\n      rows:\n");
    for (int i = 0; i < 20; i++)
        o += (size_t)sprintf(yaml + o, "        - [第%d行, 内容]\n", i + 1);
    (void)o;
    assert_non_null(t = parse(yaml, err, sizeof err));
    snprintf(path, sizeof path, "%s/long.pdf", out_dir);
    if (cf_pdf_render(t, f, NULL, path, &info, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(info.pages >= 4);
    {
        /* Without a date the metadata holds a fixed one, not the clock's: the same bytes. */
        cf_pdf_info again;
        assert_int_equal(cf_pdf_render(t, f, NULL, path, &again, err, sizeof err), 0);
        assert_string_equal(again.sha256, info.sha256);
    }
    text = pdf_text(path);
    assert_contains(text, "第1段：人民法院执行工作", "long");
    assert_contains(text, "第40段：", "long");
    assert_contains(text, "第20行", "long");
    /* The header is drawn again on each page the table runs onto. */
    assert_true(count(text, "表头甲") >= 2);
    /* Page numbers. */
    assert_contains(text, "—2—", "long");
    free(text);
    free(yaml);
    cf_template_free(t);
    json_decref(f);
}

static cf_task sample_task(const char *case_no, const json_t *params, const json_t *data)
{
    cf_task t = {.task_id = "task-1",
                 .case_no = case_no,
                 .kind = "documents",
                 .activity = "notices",
                 .params = params,
                 .data = data,
                 .attempt = 1};
    return t;
}

static void test_documents_of_the_sample_case(void **state)
{
    static const struct {
        const char *name, *title, *must[6];
    } docs[] = {
        {"执行通知书",
         "执行通知书",
         {"河南省洛阳市偃师区人民法院执行通知书", "(2026)豫0381执1234号", "洛阳某某建材有限公司",
          "120,000.50", "壹拾贰万元伍角", "加倍支付迟延履行期间的债务利息"}},
        {"报告财产令",
         "报告财产令",
         {"报告财产令", "(2026)豫0381执1234号", "洛阳某某建材有限公司", "收到执行通知之日前一年",
          "罚款、拘留", "财产申报表"}},
        {"财产申报表",
         "财产申报表",
         {"财产申报表", "(2026)豫0381执1234号", "洛阳某某建材有限公司", "银行存款",
          "房屋、土地使用权等不动产", "前一年内的变动"}},
        {"风险告知书",
         "执行风险告知书",
         {"执行风险告知书", "(2026)豫0381执1234号", "张三", "洛阳某某建材有限公司", "执行不能",
          "执行四团队"}},
    };
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "documents", .seed = 1};
    json_t *params = json_pack("{s:[s,s,s,s]}", "documents", "执行通知书", "报告财产令",
                               "财产申报表", "风险告知书");
    json_t *first = NULL, *again = NULL;
    char err[512];
    cf_task t = sample_task("(2026)豫0381执1234号", params, sample);
    (void)state;

    if (cf_kind_documents.init(&ctx, err, sizeof err) != 0)
        fail_msg("init: %s", err);
    if (cf_kind_documents.handle(&ctx, &t, &first, err, sizeof err) != 0)
        fail_msg("handle: %s", err);
    assert_int_equal(json_array_size(json_object_get(first, "documents")), 4);
    assert_true(json_is_string(json_object_get(first, "made_at")));
    for (size_t i = 0; i < 4; i++) {
        const json_t *d = json_array_get(json_object_get(first, "documents"), i);
        const char *file = json_string_value(json_object_get(d, "file"));
        char hex[65], head[5] = "", expect[1200], *text;
        FILE *f;
        assert_string_equal(json_string_value(json_object_get(d, "name")), docs[i].name);
        /* <documents_dir>/<year>/<case number made file-safe>/<name>.pdf */
        snprintf(expect, sizeof expect, "/2026/2026-豫0381执1234号/%s.pdf", docs[i].name);
        assert_non_null(file);
        assert_string_equal(file + strlen(file) - strlen(expect), expect);
        assert_non_null(f = fopen(file, "rb"));
        assert_int_equal(fread(head, 1, 4, f), 4);
        fclose(f);
        assert_string_equal(head, "%PDF");
        sha256_of(file, hex);
        assert_string_equal(hex, json_string_value(json_object_get(d, "sha256")));
        assert_true(json_integer_value(json_object_get(d, "pages")) >= 1);
        text = pdf_text(file);
        for (size_t k = 0; k < 6 && docs[i].must[k]; k++)
            assert_contains(text, docs[i].must[k], docs[i].name);
        free(text);
        /* The spaced-out title and the case number are each one word to a text extractor. */
        text = pdf_text_as(file, 0);
        assert_contains(text, docs[i].title, docs[i].name);
        assert_contains(text, "(2026)豫0381执1234号", docs[i].name);
        free(text);
    }
    /* Redoing the task writes the same bytes. */
    if (cf_kind_documents.handle(&ctx, &t, &again, err, sizeof err) != 0)
        fail_msg("handle again: %s", err);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(first, "documents"), i), "sha256")),
                            json_string_value(json_object_get(
                                json_array_get(json_object_get(again, "documents"), i), "sha256")));
    json_decref(again);
    json_decref(first);
    json_decref(params);
    cf_kind_documents.fini(&ctx);
}

/* The rulings and the order made later in a case's life: dated the day they are made (the task's
 * params.date), with the task's own texts (a suspension's grounds) as fields. */
static void test_rulings_dated_the_day_they_are_made(void **state)
{
    static const struct {
        const char *name, *must[4];
    } docs[] = {
        {"执行裁定书（中止执行）",
         {"本案中止执行", "案外人对执行标的提出异议", "二〇二六年四月一日", "第二百六十七条"}},
        {"执行裁定书（终结本次执行程序）",
         {"终结本次执行程序", "申请恢复执行", "二〇二六年四月一日", "限制消费令"}},
        {"限制消费令",
         {"限制消费令", "洛阳某某建材有限公司", "二〇二六年四月一日", "星级以上宾馆"}},
    };
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "documents", .seed = 1};
    json_t *params =
        json_pack("{s:[s,s,s], s:s, s:s}", "documents", docs[0].name, docs[1].name, docs[2].name,
                  "grounds", "案外人对执行标的提出异议", "date", "2026-04-01T10:00:00+08:00");
    json_t *made = NULL;
    char err[512];
    cf_task t = sample_task("(2026)豫0381执1235号", params, sample);
    (void)state;

    if (cf_kind_documents.init(&ctx, err, sizeof err) != 0)
        fail_msg("init: %s", err);
    if (cf_kind_documents.handle(&ctx, &t, &made, err, sizeof err) != 0)
        fail_msg("handle: %s", err);
    assert_int_equal(json_array_size(json_object_get(made, "documents")), 3);
    for (size_t i = 0; i < 3; i++) {
        const json_t *d = json_array_get(json_object_get(made, "documents"), i);
        char *text = pdf_text(json_string_value(json_object_get(d, "file")));
        for (size_t k = 0; k < 4; k++)
            assert_contains(text, docs[i].must[k], docs[i].name);
        free(text);
    }
    json_decref(made);
    json_decref(params);
    cf_kind_documents.fini(&ctx);
}

/* The runtime calls a handler from several threads at once: each makes the same bytes. */
typedef struct job {
    cf_worker_ctx *ctx;
    char case_no[64];
    json_t *result;
    int rc;
} job;

static void *render_in_thread(void *arg)
{
    job *j = arg;
    char err[512];
    json_t *params = json_pack("{s:[s,s]}", "documents", "执行通知书", "财产申报表");
    cf_task t = sample_task(j->case_no, params, sample);
    j->rc = cf_kind_documents.handle(j->ctx, &t, &j->result, err, sizeof err);
    if (j->rc)
        fprintf(stderr, "%s: %s\n", j->case_no, err);
    json_decref(params);
    return NULL;
}

static void test_documents_from_several_threads(void **state)
{
    enum { THREADS = 4 };
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "documents", .seed = 1};
    pthread_t th[THREADS];
    job jobs[THREADS * 2];
    char err[512];
    (void)state;

    assert_int_equal(cf_kind_documents.init(&ctx, err, sizeof err), 0);
    /* Two rounds of four threads; the cases of the second round are those of the first. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < THREADS; i++) {
            job *j = &jobs[round * THREADS + i];
            memset(j, 0, sizeof *j);
            j->ctx = &ctx;
            snprintf(j->case_no, sizeof j->case_no, "(2026)豫0381执%d号", 500 + i);
            assert_int_equal(pthread_create(&th[i], NULL, render_in_thread, j), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        const json_t *a = json_object_get(jobs[i].result, "documents");
        const json_t *b = json_object_get(jobs[THREADS + i].result, "documents");
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(jobs[THREADS + i].rc, 0);
        for (size_t k = 0; k < 2; k++) {
            char hex[65];
            const char *file = json_string_value(json_object_get(json_array_get(b, k), "file"));
            sha256_of(file, hex);
            assert_string_equal(hex,
                                json_string_value(json_object_get(json_array_get(a, k), "sha256")));
        }
        json_decref(jobs[i].result);
        json_decref(jobs[THREADS + i].result);
    }
    cf_kind_documents.fini(&ctx);
}

static void test_documents_refuses_unknown_names(void **state)
{
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "documents", .seed = 1};
    json_t *params = json_pack("{s:[s]}", "documents", "判决书"), *result = NULL;
    char err[512];
    cf_task t = sample_task("(2026)豫0381执1234号", params, sample);
    (void)state;
    assert_int_equal(cf_kind_documents.init(&ctx, err, sizeof err), 0);
    assert_int_equal(cf_kind_documents.handle(&ctx, &t, &result, err, sizeof err), CF_ENOTFOUND);
    assert_non_null(strstr(err, "判决书"));
    assert_null(result);
    json_decref(params);
    cf_kind_documents.fini(&ctx);
}

/* ---- service ---- */

/* The documents' result names a service item per party: the risk notice to the applicant, the
 * others to the respondent, each on the route of the party's address. */
static void test_documents_name_a_service_item_per_party(void **state)
{
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "documents", .seed = 1};
    json_t *params = json_pack("{s:[s, s, s, s], s:s}", "documents", "执行通知书", "报告财产令",
                               "财产申报表", "风险告知书", "date", "2026-03-02");
    json_t *data = json_deep_copy(sample), *result = NULL, *items, *a, *r;
    char err[512];
    cf_task t;
    (void)state;

    /* The applicant lives in a village of 缑氏镇, the respondent on 杜甫大道 in town. */
    json_object_set_new(json_array_get(json_object_get(data, "applicants"), 0), "address",
                        json_string("河南省洛阳市偃师区缑氏镇马屯村3组12号"));
    json_object_set_new(json_array_get(json_object_get(data, "respondents"), 0), "address",
                        json_string("河南省洛阳市偃师区杜甫大道88号阳光花园3号楼1单元502室"));
    t = sample_task("(2026)豫0381执1234号", params, data);
    assert_int_equal(cf_kind_documents.init(&ctx, err, sizeof err), 0);
    assert_int_equal(cf_kind_documents.handle(&ctx, &t, &result, err, sizeof err), 0);
    items = json_object_get(result, "service");
    assert_int_equal(json_array_size(items), 2);
    a = json_array_get(items, 0);
    r = json_array_get(items, 1);
    assert_string_equal(json_string_value(json_object_get(a, "party")), "applicant_1");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "applicants");
    assert_string_equal(json_string_value(json_object_get(a, "route")), "南线");
    assert_int_equal(json_array_size(json_object_get(a, "documents")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "documents"), 0)),
                        "风险告知书");
    assert_string_equal(json_string_value(json_object_get(r, "party")), "respondent_1");
    assert_string_equal(json_string_value(json_object_get(r, "route")), "城区线");
    assert_int_equal(json_array_size(json_object_get(r, "documents")), 3);
    json_decref(result);
    json_decref(params);
    json_decref(data);
    cf_kind_documents.fini(&ctx);
}

/* Serves `n` respondent items in one trip; returns how many were served. */
static size_t serve(cf_worker_ctx *ctx, size_t n, json_t **results, int *codes)
{
    cf_task *tasks = calloc(n, sizeof *tasks);
    char(*errs)[256] = calloc(n, sizeof *errs), (*nos)[64] = calloc(n, sizeof *nos);
    json_t *params =
        json_pack("{s:s, s:s, s:s, s:i, s:[s]}", "route", "城区线", "party", "respondent_1", "role",
                  "respondents", "index", 0, "documents", "执行通知书");
    size_t served = 0;

    for (size_t i = 0; i < n; i++) {
        snprintf(nos[i], sizeof nos[i], "(2026)豫0381执%zu号", i + 1);
        tasks[i] = sample_task(nos[i], params, sample);
        tasks[i].kind = "service";
    }
    assert_int_equal(cf_kind_service.handle_batch(ctx, tasks, n, results, codes, errs), 0);
    for (size_t i = 0; i < n; i++) {
        const char *m = json_string_value(json_object_get(results[i], "method"));
        const char *outcome = json_string_value(json_object_get(results[i], "outcome"));
        char *dump = json_dumps(results[i], 0);
        assert_int_equal(codes[i], 0);
        assert_true(strcmp(m, "直接送达") == 0 || strcmp(m, "邮寄送达") == 0 ||
                    strcmp(m, "电子送达") == 0);
        assert_string_equal(json_string_value(json_object_get(results[i], "party")),
                            "respondent_1");
        assert_true(json_is_string(json_object_get(results[i], "answered_at")));
        /* The recipient is masked: every post reads delivery results. */
        assert_non_null(strstr(dump, "洛*********"));
        assert_null(strstr(dump, "洛阳某某建材有限公司"));
        free(dump);
        if (strcmp(outcome, "served") == 0)
            served++;
        else
            assert_string_equal(outcome, "unreachable");
    }
    json_decref(params);
    free(tasks);
    free(errs);
    free(nos);
    return served;
}

static void test_service_through_the_simulator(void **state)
{
    enum { N = 200 };
    cf_adapter_options opt = {
        .name = "service", .type = CF_ADAPTER_SIMULATOR, .seed = 3, .weights = {75, 25, 0, 0}};
    cf_worker_ctx ctx = {.cfg = &cfg, .kind = "service", .seed = 3};
    json_t *r[N] = {0}, *again[N] = {0};
    int codes[N] = {0}, codes2[N] = {0};
    char err[256];
    size_t served;
    (void)state;

    /* Most are served; the simulator's outcome depends on the case, the item and the seed. */
    assert_int_equal(cf_adapter_new(&opt, &ctx.adapter, err, sizeof err), 0);
    served = serve(&ctx, N, r, codes);
    assert_true(served >= N * 85 / 100 && served < N);
    assert_int_equal(serve(&ctx, N, again, codes2), served);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(json_string_value(json_object_get(r[i], "outcome")),
                            json_string_value(json_object_get(again[i], "outcome")));
        json_decref(r[i]);
        json_decref(again[i]);
    }
    /* A trip that fails fails as a whole, to be tried again. */
    cf_adapter_free(ctx.adapter);
    opt.weights[0] = 0;
    opt.weights[1] = 0;
    opt.weights[2] = 100;
    assert_int_equal(cf_adapter_new(&opt, &ctx.adapter, err, sizeof err), 0);
    {
        cf_task t = sample_task("(2026)豫0381执1号", NULL, sample);
        json_t *one = NULL;
        assert_int_equal(cf_kind_service.handle(&ctx, &t, &one, err, sizeof err), CF_EIO);
        assert_null(one);
    }
    cf_adapter_free(ctx.adapter);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_words),
        cmocka_unit_test(test_date_words),
        cmocka_unit_test(test_fields_of_the_sample_case),
        cmocka_unit_test(test_fields_name_the_case_s_court),
        cmocka_unit_test(test_template_errors_name_line_and_column),
        cmocka_unit_test(test_missing_field_is_reported_where_it_is_written),
        cmocka_unit_test(test_placeholders_fill_and_escape),
        cmocka_unit_test(test_the_court_templates_load),
        cmocka_unit_test(test_long_text_and_tables_break_over_pages),
        cmocka_unit_test(test_documents_of_the_sample_case),
        cmocka_unit_test(test_rulings_dated_the_day_they_are_made),
        cmocka_unit_test(test_documents_from_several_threads),
        cmocka_unit_test(test_documents_refuses_unknown_names),
        cmocka_unit_test(test_documents_name_a_service_item_per_party),
        cmocka_unit_test(test_service_through_the_simulator),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
