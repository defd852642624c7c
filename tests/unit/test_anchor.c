/* Unit tests of core/anchor: the file a writer makes reads back with its digest; each kind of
 * malformed file is reported at its line and column; a changed line, count or header is caught;
 * an Ed25519 signature verifies with its key only; nasty inputs keep the fuzz target's promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/anchor.h"

/* The fuzz target itself, so that the inputs below go through exactly the code the fuzzer
 * runs. */
#include "../fuzz/fuzz_anchor.c"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef0123"

/* 2026-12-01T02:00:00+08:00 and the end of November at UTC+08:00. */
static const cf_time MADE = 1796061600000LL;
static const cf_time END_OF_NOVEMBER = 1796054399999LL;

/* A PEM key of `type` ("ED25519", "EC" for P-256), private or its public half.  Caller frees. */
static char *make_key(const char *type, char **pub_pem)
{
    EVP_PKEY *k = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                          : EVP_PKEY_Q_keygen(NULL, NULL, type);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;

    assert_non_null(k);
    assert_int_equal(PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(PEM_write_bio_PUBKEY(pub, k), 1);
    n = BIO_get_mem_data(priv, &data);
    out = strndup(data, (size_t)n);
    n = BIO_get_mem_data(pub, &data);
    *pub_pem = strndup(data, (size_t)n);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(k);
    return out;
}

static cf_anchor_key *parse_key(const char *pem)
{
    char err[512];
    cf_anchor_key *k = cf_anchor_key_parse("key.pem", pem, strlen(pem), err, sizeof err);
    if (!k)
        fail_msg("%s", err);
    return k;
}

/* The text of an anchor of three cases, signed with `key` when not NULL.  Caller frees. */
static char *three_cases(const cf_anchor_key *key)
{
    const char *cases[] = {"(2026)豫0381执1号", "(2026)豫0381执2号", "（2026）豫0381执10号"};
    const char *hashes[] = {H1, H2, H3};
    char err[512], *header, *text;
    char body[1024] = "";
    cf_anchor_writer *w = cf_anchor_writer_new(MADE, END_OF_NOVEMBER, 480);

    assert_non_null(w);
    for (int i = 0; i < 3; i++) {
        const char *line;
        size_t len;
        if (cf_anchor_writer_add(w, cases[i], i + 3, hashes[i], &line, &len, err, sizeof err))
            fail_msg("%s", err);
        strncat(body, line, len);
    }
    header = cf_anchor_writer_header(w, key, err, sizeof err);
    if (!header)
        fail_msg("%s", err);
    text = malloc(strlen(header) + strlen(body) + 1);
    strcpy(text, header);
    strcat(text, body);
    free(header);
    cf_anchor_writer_free(w);
    return text;
}

/* Opens `text` as an anchor file named "anchor"; the stream is closed by close_text. */
static cf_anchor_reader *open_text(const char *text, FILE **f, char *err, size_t errsz)
{
    *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(*f);
    return cf_anchor_open_stream(*f, "anchor", err, errsz);
}

static void close_text(cf_anchor_reader *r, FILE *f)
{
    cf_anchor_close(r);
    fclose(f);
}

/* Reads `text` to its end; returns 0 or the error, with its message in err. */
static int read_all(const char *text, const cf_anchor_key *key, char *err, size_t errsz)
{
    FILE *f;
    cf_anchor_reader *r = open_text(text, &f, err, errsz);
    int rc = r ? cf_anchor_verify(r, key, err, errsz) : CF_EPARSE;
    close_text(r, f);
    return rc;
}

/* Replaces the first `from` in `text` (which must hold it) with `to`; returns a new string. */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    char *out;

    assert_non_null(at);
    out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
    sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void test_written_file_reads_back(void **state)
{
    (void)state;
    char *text = three_cases(NULL), err[512];
    FILE *f;
    cf_anchor_reader *r = open_text(text, &f, err, sizeof err);
    const cf_anchor_head *h;
    cf_anchor_entry e;
    unsigned char md[32];
    char digest[65];
    const char *body = strstr(text, "\n\n") + 2;

    if (!r)
        fail_msg("%s", err);
    assert_non_null(strstr(text, "caseflow anchor 1\n"));
    assert_non_null(strstr(text, "made: 2026-12-01T02:00:00+08:00\n"));
    assert_non_null(strstr(text, "as-of: 2026-11-30T23:59:59.999+08:00\n"));
    assert_non_null(strstr(text, "cases: 3\n"));
    assert_null(strstr(text, "signature"));
    /* The lines are sorted byte by byte: the full-width bracket comes after "(". */
    assert_non_null(strstr(body, "(2026)豫0381执1号 3 " H1 "\n(2026)豫0381执2号 4 " H2
                                 "\n（2026）豫0381执10号 5 " H3 "\n"));

    /* The digest is SHA-256 over the case lines as written. */
    EVP_Digest(body, strlen(body), md, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(digest + 2 * i, 3, "%02x", md[i]);
    h = cf_anchor_head_of(r);
    assert_string_equal(h->digest, digest);
    assert_string_equal(h->made, "2026-12-01T02:00:00+08:00");
    assert_string_equal(h->as_of, "2026-11-30T23:59:59.999+08:00");
    assert_int_equal(h->as_of_time, END_OF_NOVEMBER);
    assert_int_equal(h->cases, 3);
    assert_false(h->is_signed);

    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 1);
    assert_string_equal(e.case_no, "(2026)豫0381执1号");
    assert_int_equal(e.seq, 3);
    assert_string_equal(e.hash, H1);
    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 1);
    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 1);
    assert_string_equal(e.case_no, "（2026）豫0381执10号");
    assert_int_equal(e.seq, 5);
    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 0);
    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 0);
    close_text(r, f);
    free(text);
}

static void test_empty_anchor_and_all(void **state)
{
    (void)state;
    char err[512], *header;
    cf_anchor_writer *w = cf_anchor_writer_new(MADE, CF_ANCHOR_ALL, 480);
    FILE *f;
    cf_anchor_reader *r;
    cf_anchor_entry e;

    header = cf_anchor_writer_header(w, NULL, err, sizeof err);
    assert_non_null(header);
    /* SHA-256 of nothing. */
    assert_non_null(strstr(header,
                           "as-of: all\ncases: 0\ndigest: sha256:"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                           "\n\n"));
    r = open_text(header, &f, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(cf_anchor_head_of(r)->as_of_time, CF_ANCHOR_ALL);
    assert_int_equal(cf_anchor_next(r, &e, err, sizeof err), 0);
    close_text(r, f);
    free(header);
    cf_anchor_writer_free(w);
}

static void test_writer_refuses_what_the_file_cannot_hold(void **state)
{
    (void)state;
    char err[512];
    const char *line;
    size_t len;
    cf_anchor_writer *w = cf_anchor_writer_new(MADE, CF_ANCHOR_ALL, 480);

    assert_int_equal(cf_anchor_writer_add(w, "B 2", 1, H1, &line, &len, err, sizeof err), 0);
    assert_string_equal(line, "B 2 1 " H1 "\n");
    assert_int_equal(cf_anchor_writer_add(w, "A", 1, H1, &line, &len, err, sizeof err), CF_EINVAL);
    assert_non_null(strstr(err, "case A comes after B 2"));
    assert_int_equal(cf_anchor_writer_add(w, "B 2", 1, H1, &line, &len, err, sizeof err),
                     CF_EINVAL);
    assert_int_equal(cf_anchor_writer_add(w, "C\nD", 1, H1, &line, &len, err, sizeof err),
                     CF_EINVAL);
    assert_non_null(strstr(err, "control character"));
    assert_int_equal(cf_anchor_writer_add(w, "C\xff", 1, H1, &line, &len, err, sizeof err),
                     CF_EINVAL);
    assert_int_equal(cf_anchor_writer_add(w, "", 1, H1, &line, &len, err, sizeof err), CF_EINVAL);
    assert_int_equal(cf_anchor_writer_add(w, "C", 0, H1, &line, &len, err, sizeof err), CF_EINVAL);
    assert_int_equal(cf_anchor_writer_add(w, "C", 1, "ABCD", &line, &len, err, sizeof err),
                     CF_EINVAL);
    assert_int_equal(cf_anchor_writer_count(w), 1);
    cf_anchor_writer_free(w);
}

/* Each malformed file, and where its reader says it goes wrong. */
static void test_malformed_files_are_named_at_line_and_column(void **state)
{
    (void)state;
    static const char HEAD[] = "caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\nas-of: all\n"
                               "cases: 1\ndigest: sha256:" H1 "\n";
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"", "anchor:1:1: not a caseflow anchor file"},
        {"{\"cases\": []}\n", "anchor:1:1: not a caseflow anchor file"},
        {"caseflow anchor 2\n", "anchor:1:17: version '2' of the anchor file is not known"},
        {"caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\n",
         "anchor:3:1: the file ends inside its header"},
        {"caseflow anchor 1\nmade: yesterday\n",
         "anchor:2:7: made must be an ISO 8601 time with an offset"},
        {"caseflow anchor 1\nas-of: 2026-11-30T23:59:59\n",
         "anchor:2:8: as-of must be an ISO 8601 time with an offset or 'all'"},
        {"caseflow anchor 1\ncases: 1e3\n", "anchor:2:9: cases must be a whole number"},
        {"caseflow anchor 1\ndigest: md5:abc\n",
         "anchor:2:9: digest must be 'sha256:' and 64 lowercase hexadecimal digits"},
        {"caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\nmade: "
         "2026-12-01T02:00:00+08:00\n",
         "anchor:3:1: 'made' given twice"},
        {"caseflow anchor 1\nowner: me\n", "anchor:2:1: unknown header 'owner'"},
        {"caseflow anchor 1\n(2026)豫0381执1号 3 " H1 "\n",
         "anchor:2:1: expected 'name: value' or a blank line"},
        {"caseflow anchor 1\nas-of: all\r\n", "anchor:2:11: a carriage return"},
        {"caseflow anchor 1\nsignature: ed25519:00\n",
         "anchor:2:1: a signature without a 'key' line"},
        {"caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\n\n",
         "anchor:3:1: the header lacks its 'as-of' line"},
        {"caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\nas-of: all\ncases: 0\ndigest: "
         "sha256:" H1 "\nkey: ed25519:" H2 "\n\n",
         "anchor:7:1: the header lacks its 'signature' line"},
    };
    static const struct {
        const char *line, *error;
    } lines[] = {
        {"(2026)豫0381执1号 3 " H1 "x", "anchor:7:82: the hash must be 64"},
        {"short", "anchor:7:1: a case line is '<case number> <seq> <hash>'"},
        {"(2026)豫0381执1号 3 "
         "111111111111111111111111111111111111111111111111111111111111111G",
         "anchor:7:81: the hash must be 64 lowercase hexadecimal digits"},
        {"(2026)豫0381执1号 3 1" H1, "anchor:7:18: expected one space before the hash"},
        {"(2026)豫0381执1号 3\t" H1, "anchor:7:17: expected one space before the hash"},
        {"(2026)豫0381执1号 x " H1, "anchor:7:16: expected '<case number> <seq> <hash>'"},
        {"(2026)豫0381执1号 03 " H1, "anchor:7:16: seq must be a whole number from 1"},
        {" 3 " H1, "anchor:7:1: a case line is '<case number> <seq> <hash>'"},
        {"(2026)豫\x01"
         "381执1号 3 " H1,
         "anchor:7:8: a control character or invalid UTF-8 in the case number"},
        {"", "anchor:7:1: a blank line among the case lines"},
    };
    char err[512];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f;
        cf_anchor_reader *r = open_text(cases[i].text, &f, err, sizeof err);
        assert_null(r);
        if (!strstr(err, cases[i].error))
            fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].error, err);
        close_text(r, f);
    }
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s\n%s\n", HEAD, lines[i].line);
        assert_int_equal(read_all(text, NULL, err, sizeof err), CF_EPARSE);
        if (!strstr(err, lines[i].error))
            fail_msg("line %zu: expected '%s', got '%s'", i, lines[i].error, err);
    }
}

static void test_changed_files_fail(void **state)
{
    (void)state;
    char *text = three_cases(NULL), *bad, err[512];
    char line2[160];

    assert_int_equal(read_all(text, NULL, err, sizeof err), 0);

    /* One hash changed by one digit: the digest tells (at the digest line). */
    bad = replaced(text, " 4 2222", " 4 2223");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "anchor:7:9: the case lines do not give the digest"));
    free(bad);

    /* A seq changed. */
    bad = replaced(text, "执2号 4 ", "执2号 5 ");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_ESTATE);
    free(bad);

    /* A line removed: the count tells. */
    snprintf(line2, sizeof line2, "(2026)豫0381执2号 4 %s\n", H2);
    bad = replaced(text, line2, "");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "anchor:6:8: the header says 3 cases, the file lists 2"));
    free(bad);

    /* Lines swapped: out of order. */
    bad = replaced(text, "(2026)豫0381执1号 3 ", "(2026)豫0381执3号 3 ");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_EPARSE);
    assert_non_null(strstr(err, "anchor:10:1: case (2026)豫0381执2号 is out of order"));
    free(bad);
    bad = replaced(text, "执2号", "执1号");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_EPARSE);
    assert_non_null(strstr(err, "is listed twice"));
    free(bad);
    free(text);
}

static void test_signature_verifies_with_its_key_only(void **state)
{
    (void)state;
    char *pub_pem, *other_pub_pem, *priv_pem = make_key("ED25519", &pub_pem);
    char *other_priv_pem = make_key("ED25519", &other_pub_pem), *text, *bad, err[512];
    cf_anchor_key *priv = parse_key(priv_pem), *pub = parse_key(pub_pem);
    cf_anchor_key *other = parse_key(other_pub_pem);
    FILE *f;
    cf_anchor_reader *r;

    assert_true(cf_anchor_key_is_private(priv));
    assert_false(cf_anchor_key_is_private(pub));
    assert_string_equal(cf_anchor_key_id(priv), cf_anchor_key_id(pub));
    assert_string_not_equal(cf_anchor_key_id(pub), cf_anchor_key_id(other));

    text = three_cases(priv);
    assert_non_null(strstr(text, "key: ed25519:"));
    assert_non_null(strstr(text, "\nsignature: ed25519:"));
    r = open_text(text, &f, err, sizeof err);
    assert_non_null(r);
    assert_true(cf_anchor_head_of(r)->is_signed);
    assert_string_equal(cf_anchor_head_of(r)->key_id, cf_anchor_key_id(pub));
    close_text(r, f);

    assert_int_equal(read_all(text, pub, err, sizeof err), 0);
    assert_int_equal(read_all(text, priv, err, sizeof err), 0);
    assert_int_equal(read_all(text, other, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "signed with key ed25519:"));
    assert_non_null(strstr(err, "not with the key given"));

    /* The header changed after signing: another moment. */
    bad =
        replaced(text, "as-of: 2026-11-30T23:59:59.999+08:00", "as-of: 2026-10-31T23:59:59+08:00");
    assert_int_equal(read_all(bad, pub, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "the signature does not match the header"));
    free(bad);

    /* A signed file's digest still binds the lines. */
    bad = replaced(text, " 4 2222", " 4 2223");
    assert_int_equal(read_all(bad, pub, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "do not give the digest"));
    free(bad);

    /* The signature changed by one digit, or a line added after it. */
    bad = strdup(text);
    {
        char *digit = strstr(bad, "signature: ed25519:") + 19;
        *digit = *digit == '0' ? '1' : '0';
    }
    assert_int_equal(read_all(bad, pub, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "the signature does not match the header"));
    free(bad);
    bad = replaced(text, "\n\n", "\n# a note\n\n");
    assert_int_equal(read_all(bad, NULL, err, sizeof err), CF_EPARSE);
    assert_non_null(strstr(err, "nothing may follow the signature"));
    free(bad);

    /* An unsigned file does not pass as signed. */
    bad = three_cases(NULL);
    assert_int_equal(read_all(bad, pub, err, sizeof err), CF_ESTATE);
    assert_non_null(strstr(err, "the file is not signed"));
    free(bad);

    /* A public key cannot sign. */
    {
        cf_anchor_writer *w = cf_anchor_writer_new(MADE, CF_ANCHOR_ALL, 480);
        assert_null(cf_anchor_writer_header(w, pub, err, sizeof err));
        assert_non_null(strstr(err, "a public key cannot sign"));
        cf_anchor_writer_free(w);
    }

    cf_anchor_key_free(priv);
    cf_anchor_key_free(pub);
    cf_anchor_key_free(other);
    free(text);
    free(priv_pem);
    free(pub_pem);
    free(other_priv_pem);
    free(other_pub_pem);
}

static void test_keys_that_are_refused(void **state)
{
    (void)state;
    char *pub_pem, *priv_pem = make_key("EC", &pub_pem), err[512];

    assert_null(cf_anchor_key_parse("ec.pem", priv_pem, strlen(priv_pem), err, sizeof err));
    assert_non_null(strstr(err, "ec.pem: not an Ed25519 key"));
    assert_null(cf_anchor_key_parse("x.pem", "hello", 5, err, sizeof err));
    assert_non_null(strstr(err, "x.pem: not a PEM private or public key"));
    assert_null(cf_anchor_key_load("/nonexistent/key.pem", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/key.pem: No such file"));
    free(priv_pem);
    free(pub_pem);
}

/* Feeds `text` to the fuzz target, which aborts when a promise of anchor.h is broken. */
static void fuzz_text(const char *text, size_t len)
{
    LLVMFuzzerTestOneInput((const uint8_t *)text, len);
}

static void test_fuzz_inputs(void **state)
{
    (void)state;
    char *text = three_cases(NULL), *big;
    size_t len = strlen(text);
    static const char *const inputs[] = {
        "",
        "\n",
        "caseflow anchor 1",
        "caseflow anchor 1\n\n",
        "caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\nas-of: all\ncases: 0\ndigest: sha256:"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n",
        "caseflow anchor 1\nmade: 2026-12-01T02:00:00+08:00\nas-of: all\ncases: 999999999999999\n"
        "digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n",
        "caseflow anchor 1\nmade: 9999-12-31T23:59:59.999999999-23:59\n",
        "caseflow anchor 1\ncases: 0\ncases: 0\n",
        "caseflow anchor 1\n: \n",
        "caseflow anchor 1\nkey: ed25519:" H1 "\nsignature: ed25519:" H1 H2 "\n\n",
        "caseflow anchor 1\n#\n#\n\n",
    };

    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        fuzz_text(inputs[i], strlen(inputs[i]));
    /* The writer's own file, whole, without its last newline, and cut at every byte. */
    fuzz_text(text, len);
    fuzz_text(text, len - 1);
    for (size_t i = 0; i < len; i++)
        fuzz_text(text, i);
    /* With a NUL byte, and each byte of a line changed. */
    for (size_t i = len - 80; i < len; i++) {
        char saved = text[i];
        text[i] = '\0';
        fuzz_text(text, len);
        text[i] = (char)0xff;
        fuzz_text(text, len);
        text[i] = ' ';
        fuzz_text(text, len);
        text[i] = saved;
    }
    /* A line far too long, in the header and among the cases. */
    big = malloc(len + 10001);
    memcpy(big, text, len);
    memset(big + len, 'a', 10000);
    big[len + 10000] = '\0';
    fuzz_text(big, len + 10000);
    memset(big, '#', 10000);
    fuzz_text(big, len + 10000);
    free(big);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_file_reads_back),
        cmocka_unit_test(test_empty_anchor_and_all),
        cmocka_unit_test(test_writer_refuses_what_the_file_cannot_hold),
        cmocka_unit_test(test_malformed_files_are_named_at_line_and_column),
        cmocka_unit_test(test_changed_files_fail),
        cmocka_unit_test(test_signature_verifies_with_its_key_only),
        cmocka_unit_test(test_keys_that_are_refused),
        cmocka_unit_test(test_fuzz_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
