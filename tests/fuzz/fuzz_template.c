/*
 * libFuzzer target for document templates (workers/template.h): any bytes are read as a
 * template's YAML.  A refused template says where ("template:line:column: ..."); an accepted one
 * gets its derived fields computed from a case's fields and every text of every block filled
 * in, each ending in text or a message that says where.  Laying the page out (pango) is not
 * fuzzed here: it is slow and takes only what this produces.
 */
#include "fuzz.h"

#include <jansson.h>

#include "workers/template.h"

static const char case_fields[] =
    "{\"case_no\": \"(2026)豫0381执7号\", \"court_name\": \"偃师市人民法院\", \"amount\": 120000,"
    " \"claim_kind\": \"money\", \"respondent\": \"张三\", \"served\": true,"
    " \"basis\": {\"document_no\": \"(2025)豫0381民初567号\"}, \"items\": [1, 2]}";

static void expand(const cf_template *t, const cf_template_text *x, const json_t *fields)
{
    char err[512] = "", *out = NULL;
    int rc = cf_template_expand(t, x, fields, &out, err, sizeof err);

    if (rc == 0)
        FUZZ_CHECK(out != NULL);
    else
        fuzz_check_position(err, "template");
    free(out);
}

static void expand_table(const cf_template *t, const cf_template_table *tb, const json_t *fields)
{
    if (tb->header)
        for (size_t c = 0; c < tb->header->ncells; c++)
            expand(t, &tb->header->cells[c].text, fields);
    for (size_t r = 0; r < tb->nrows; r++)
        for (size_t c = 0; c < tb->rows[r].ncells; c++)
            expand(t, &tb->rows[r].cells[c].text, fields);
}

static void expand_all(const cf_template *t, const json_t *fields)
{
    for (size_t i = 0; i < t->nblocks; i++) {
        const cf_template_block *b = &t->blocks[i];
        if (b->kind == CF_TPL_TABLE && b->table)
            expand_table(t, b->table, fields);
        else if (b->kind == CF_TPL_SIGNATURE)
            for (size_t k = 0; k < b->nlines; k++)
                expand(t, &b->lines[k], fields);
        else if (b->text.src)
            expand(t, &b->text, fields);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    cf_template *t = cf_template_parse("template", (const char *)data, size, err, sizeof err);
    json_t *given, *fields;
    int rc = 0;

    if (!t) {
        fuzz_check_position(err, "template");
        return 0;
    }
    given = json_loads(case_fields, 0, NULL);
    FUZZ_CHECK(given != NULL);
    fields = cf_template_fields(t, given, &rc, err, sizeof err);
    if (fields) {
        expand_all(t, fields);
        json_decref(fields);
    } else {
        FUZZ_CHECK(rc != 0);
        fuzz_check_position(err, "template");
    }
    json_decref(given);
    cf_template_free(t);
    return 0;
}
