/*
 * Anchor files (anchor.h): the text of the header and the case lines, the SHA-256 digest over
 * the lines, and the Ed25519 signature over the header, with OpenSSL.
 */
#include "anchor.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

/* An Ed25519 signature is 64 bytes. */
enum { SIG_LEN = 64, SIG_HEX = 2 * SIG_LEN };

/* Limits of what a reader accepts: one line, and the whole header. */
enum { LINE_MAX_BYTES = 4096, HEAD_MAX_BYTES = 16384 };

static const char MAGIC[] = "caseflow anchor 1";

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int unhex(const char *s, size_t n, unsigned char *out)
{
    if (n % 2 || !is_hex(s, n))
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
        int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/*
 * Returns the byte offset of the first byte of `s` (n bytes) that is not part of valid UTF-8
 * text without control characters, or n when every byte is.
 */
static size_t text_bad_at(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t need = c < 0x80                ? 0
                      : c >= 0xc2 && c < 0xe0 ? 1
                      : c >= 0xe0 && c < 0xf0 ? 2
                      : c >= 0xf0 && c < 0xf5 ? 3
                                              : 4;
        /* need is 4 for a byte that cannot start a character; i < n, so need 0 always fits. */
        if (c < 0x20 || c == 0x7f || need == 4 || i + need >= n)
            return i;
        for (size_t k = 1; k <= need; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return i;
        /* Overlong three- and four-byte forms, surrogates and code points past U+10FFFF. */
        if ((c == 0xe0 && (unsigned char)s[i + 1] < 0xa0) ||
            (c == 0xed && (unsigned char)s[i + 1] >= 0xa0) ||
            (c == 0xf0 && (unsigned char)s[i + 1] < 0x90) ||
            (c == 0xf4 && (unsigned char)s[i + 1] >= 0x90))
            return i;
        i += need + 1;
    }
    return n;
}

/* The character column (1-based) of byte offset `at` of a line: continuation bytes of UTF-8
 * sequences do not count, as libyaml's columns do not. */
static int column(const char *line, size_t at)
{
    int col = 1;
    for (size_t i = 0; i < at; i++)
        col += ((unsigned char)line[i] & 0xc0) != 0x80;
    return col;
}

/* ---- Keys ----------------------------------------------------------------------------------- */

struct cf_anchor_key {
    EVP_PKEY *pkey;
    int is_private;
    char id[65];
};

/* Refuses to ask for a passphrase: OpenSSL's default would prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

cf_anchor_key *cf_anchor_key_parse(const char *name, const char *pem, size_t len, char *err,
                                   size_t errsz)
{
    cf_anchor_key *k = calloc(1, sizeof *k);
    BIO *bio = NULL;
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int derlen;

    if (!k) {
        cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    if (len > INT32_MAX || !(bio = BIO_new_mem_buf(pem, (int)len))) {
        cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    k->is_private = k->pkey != NULL;
    if (!k->pkey) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        k->pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
    }
    ERR_clear_error();
    if (!k->pkey) {
        cf_errf(err, errsz, CF_EINVAL,
                "%s: not a PEM private or public key that can be read without a passphrase "
                "(make one with: openssl genpkey -algorithm ed25519 -out KEY.pem)",
                name);
        goto fail;
    }
    if (EVP_PKEY_id(k->pkey) != EVP_PKEY_ED25519) {
        cf_errf(err, errsz, CF_EINVAL,
                "%s: not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519 -out "
                "KEY.pem)",
                name);
        goto fail;
    }
    derlen = i2d_PUBKEY(k->pkey, &der);
    if (derlen <= 0 || !EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL)) {
        cf_errf(err, errsz, CF_ENOMEM, "%s: cannot encode the public key", name);
        goto fail;
    }
    hex(md, 32, k->id);
    OPENSSL_free(der);
    BIO_free(bio);
    return k;
fail:
    OPENSSL_free(der);
    BIO_free(bio);
    cf_anchor_key_free(k);
    return NULL;
}

cf_anchor_key *cf_anchor_key_load(const char *path, char *err, size_t errsz)
{
    enum { KEY_FILE_MAX = 65536 };
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    cf_anchor_key *k = NULL;

    if (!f) {
        cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(KEY_FILE_MAX + 1);
    if (!buf)
        cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", path);
    else if ((n = fread(buf, 1, KEY_FILE_MAX + 1, f)) > KEY_FILE_MAX || ferror(f))
        cf_errf(err, errsz, CF_EIO, "%s: %s", path,
                ferror(f) ? "cannot be read" : "larger than 64 KiB: not a key");
    else
        k = cf_anchor_key_parse(path, buf, n, err, errsz);
    if (buf)
        OPENSSL_cleanse(buf, KEY_FILE_MAX + 1);
    free(buf);
    fclose(f);
    return k;
}

int cf_anchor_key_is_private(const cf_anchor_key *k)
{
    return k->is_private;
}

const char *cf_anchor_key_id(const cf_anchor_key *k)
{
    return k->id;
}

void cf_anchor_key_free(cf_anchor_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

/* ---- Writing -------------------------------------------------------------------------------- */

struct cf_anchor_writer {
    EVP_MD_CTX *md;
    cf_time made, as_of;
    int offset;
    size_t count;
    char *last; /* the previous case number: lines must ascend */
    char *line;
    size_t cap;
    char digest[65];
};

cf_anchor_writer *cf_anchor_writer_new(cf_time made, cf_time as_of, int utc_offset_min)
{
    cf_anchor_writer *w = calloc(1, sizeof *w);

    if (!w || !(w->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(w->md, EVP_sha256(), NULL)) {
        cf_anchor_writer_free(w);
        return NULL;
    }
    w->made = made;
    w->as_of = as_of;
    w->offset = utc_offset_min;
    return w;
}

int cf_anchor_writer_add(cf_anchor_writer *w, const char *case_no, long long seq, const char *hash,
                         const char **line, size_t *len, char *err, size_t errsz)
{
    size_t clen = strlen(case_no), bad = text_bad_at(case_no, clen), need;
    char *copy;
    int n;

    if (clen == 0)
        return cf_errf(err, errsz, CF_EINVAL, "a case without a number");
    if (bad < clen)
        return cf_errf(err, errsz, CF_EINVAL,
                       "case number '%.*s...' has a control character or invalid UTF-8 at byte "
                       "%zu",
                       (int)bad, case_no, bad + 1);
    if (w->last && strcmp(w->last, case_no) >= 0)
        return cf_errf(err, errsz, CF_EINVAL,
                       "case %s comes after %s: cases must be added once each, in ascending byte "
                       "order",
                       case_no, w->last);
    if (seq < 1)
        return cf_errf(err, errsz, CF_EINVAL, "case %s: seq %lld is below 1", case_no, seq);
    if (strlen(hash) != 64 || !is_hex(hash, 64))
        return cf_errf(err, errsz, CF_EINVAL,
                       "case %s: hash '%s' is not 64 lowercase hexadecimal digits", case_no, hash);
    need = clen + 64 + 24 + 4;
    if (need > w->cap) {
        char *grown = realloc(w->line, need);
        if (!grown)
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        w->line = grown;
        w->cap = need;
    }
    if (!(copy = strdup(case_no)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    free(w->last);
    w->last = copy;
    n = snprintf(w->line, w->cap, "%s %lld %s\n", case_no, seq, hash);
    EVP_DigestUpdate(w->md, w->line, (size_t)n);
    w->count++;
    *line = w->line;
    *len = (size_t)n;
    return 0;
}

/* Appends printf output to a growing string; returns 0 or CF_ENOMEM. */
static int CF_PRINTF(3, 4) append(char **s, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *grown;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(grown = realloc(*s, *len + (size_t)n + 1)))
        return CF_ENOMEM;
    *s = grown;
    va_start(ap, fmt);
    vsnprintf(*s + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return 0;
}

/* Signs `msg` with `key`; writes the signature in hex (SIG_HEX + 1 bytes).  Returns 0 or -1. */
static int sign(const cf_anchor_key *key, const char *msg, size_t len, char *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[SIG_LEN];
    size_t siglen = sizeof sig;
    int ok;

    /* Ed25519 hashes the message itself: no digest is named. */
    ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
         EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, len) == 1 &&
         siglen == SIG_LEN;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (ok)
        hex(sig, SIG_LEN, out);
    return ok ? 0 : -1;
}

char *cf_anchor_writer_header(cf_anchor_writer *w, const cf_anchor_key *key, char *err,
                              size_t errsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char made[CF_TIME_BUFSZ], as_of[CF_TIME_BUFSZ], sig[SIG_HEX + 1];
    char *h = NULL;
    size_t len = 0;
    int rc = 0;

    if (key && !key->is_private) {
        cf_errf(err, errsz, CF_EINVAL, "a public key cannot sign: give the private key");
        return NULL;
    }
    EVP_DigestFinal_ex(w->md, md, &mdlen);
    hex(md, 32, w->digest);
    cf_time_format(w->made, w->offset, made, sizeof made);
    if (w->as_of == CF_ANCHOR_ALL)
        snprintf(as_of, sizeof as_of, "all");
    else
        cf_time_format(w->as_of, w->offset, as_of, sizeof as_of);
    rc |= append(&h, &len,
                 "%s\n"
                 "# The hash of every case's last event as of the moment below, one case a line:\n"
                 "# case number, seq, hash.  Check it with: caseflow anchor verify FILE\n"
                 "made: %s\nas-of: %s\ncases: %zu\ndigest: sha256:%s\n",
                 MAGIC, made, as_of, w->count, w->digest);
    if (key) {
        rc |= append(&h, &len, "key: ed25519:%s\n", key->id);
        if (rc == 0 && sign(key, h, len, sig) != 0) {
            free(h);
            cf_errf(err, errsz, CF_EINVAL, "signing with key %s failed", key->id);
            return NULL;
        }
        rc |= append(&h, &len, "signature: ed25519:%s\n", sig);
    }
    rc |= append(&h, &len, "\n");
    if (rc) {
        free(h);
        cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        return NULL;
    }
    return h;
}

size_t cf_anchor_writer_count(const cf_anchor_writer *w)
{
    return w->count;
}

const char *cf_anchor_writer_digest(const cf_anchor_writer *w)
{
    return w->digest;
}

void cf_anchor_writer_free(cf_anchor_writer *w)
{
    if (!w)
        return;
    EVP_MD_CTX_free(w->md);
    free(w->last);
    free(w->line);
    free(w);
}

/* ---- Reading -------------------------------------------------------------------------------- */

struct cf_anchor_reader {
    FILE *f;
    int owns_file;
    char name[512];
    char *line; /* getline's buffer */
    size_t cap;
    long lineno;
    cf_anchor_head head;
    long cases_line, digest_line; /* where the header said them, for messages */
    char *signed_text;            /* the header's bytes before the signature line */
    size_t signed_len;
    unsigned char sig[SIG_LEN];
    EVP_MD_CTX *md;
    long long count;
    char *last, *case_no; /* the previous case number, and the current one */
    size_t case_cap;
    int ended;        /* the end was reached and checked: cf_anchor_next returns 0 */
    int failed;       /* 0, or the error every further cf_anchor_next returns */
    char *failed_err; /* with its message */
};

static int CF_PRINTF(5, 6)
    at(const cf_anchor_reader *r, int col, char *err, size_t errsz, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_errf(err, errsz, CF_EPARSE, "%s:%ld:%d: %s", r->name, r->lineno, col, msg);
}

/*
 * Reads one line into r->line without its "\n" and sets *len.  Returns 1, 0 at the end of the
 * file, or an error (a line too long, a NUL byte, a carriage return, a read error).
 */
static int read_line(cf_anchor_reader *r, size_t *len, char *err, size_t errsz)
{
    ssize_t n;

    errno = 0;
    n = getline(&r->line, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f))
            return cf_errf(err, errsz, CF_EIO, "%s: %s", r->name,
                           errno ? strerror(errno) : "read error");
        return 0;
    }
    r->lineno++;
    if (n > 0 && r->line[n - 1] == '\n')
        r->line[--n] = '\0';
    if ((size_t)n > LINE_MAX_BYTES)
        return at(r, 1, err, errsz, "a line of %zd bytes: an anchor file's lines are short", n);
    if (memchr(r->line, '\0', (size_t)n))
        return at(r, column(r->line, strlen(r->line)), err, errsz, "a NUL byte");
    if (n > 0 && r->line[n - 1] == '\r')
        return at(r, column(r->line, (size_t)n - 1), err, errsz,
                  "a carriage return: lines end with \\n alone");
    *len = (size_t)n;
    return 1;
}

/* Parses a header line "name: value" into the head; returns 0, or an error. */
static int head_line(cf_anchor_reader *r, const char *line, size_t len, char *err, size_t errsz)
{
    static const char *const names[] = {"made", "as-of", "cases", "digest", "key", "signature"};
    cf_anchor_head *h = &r->head;
    const char *colon = memchr(line, ':', len), *v;
    size_t nlen, vlen, i;
    int vcol;

    if (!colon || colon[1] != ' ')
        return at(r, 1, err, errsz, "expected 'name: value' or a blank line before the case lines");
    nlen = (size_t)(colon - line);
    v = colon + 2;
    vlen = len - nlen - 2;
    vcol = column(line, nlen + 2);
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == nlen && memcmp(names[i], line, nlen) == 0)
            break;
    if (i == sizeof names / sizeof names[0])
        return at(r, 1, err, errsz,
                  "unknown header '%.*s' (made, as-of, cases, digest, key, signature)", (int)nlen,
                  line);
    switch (i) {
    case 0:
    case 1: {
        char *dst = i == 0 ? h->made : h->as_of;
        cf_time t = CF_ANCHOR_ALL;
        if (dst[0])
            return at(r, 1, err, errsz, "'%s' given twice", names[i]);
        if (vlen >= CF_TIME_BUFSZ)
            return at(r, vcol, err, errsz, "%s is too long for a time", names[i]);
        memcpy(dst, v, vlen);
        dst[vlen] = '\0';
        if (!(i == 1 && strcmp(dst, "all") == 0) && cf_time_parse(dst, &t) != 0) {
            dst[0] = '\0';
            return at(r, vcol, err, errsz, "%s must be an ISO 8601 time with an offset%s", names[i],
                      i == 1 ? " or 'all'" : "");
        }
        if (i == 1)
            h->as_of_time = t;
        return 0;
    }
    case 2: {
        long long n = 0;
        if (r->cases_line)
            return at(r, 1, err, errsz, "'cases' given twice");
        if (vlen == 0 || vlen > 15 || (v[0] == '0' && vlen > 1))
            return at(r, vcol, err, errsz, "cases must be a whole number");
        for (size_t k = 0; k < vlen; k++) {
            if (v[k] < '0' || v[k] > '9')
                return at(r, column(line, nlen + 2 + k), err, errsz,
                          "cases must be a whole number");
            n = n * 10 + (v[k] - '0');
        }
        h->cases = n;
        r->cases_line = r->lineno;
        return 0;
    }
    case 3:
        if (r->digest_line)
            return at(r, 1, err, errsz, "'digest' given twice");
        if (vlen != 7 + 64 || memcmp(v, "sha256:", 7) != 0 || !is_hex(v + 7, 64))
            return at(r, vcol, err, errsz,
                      "digest must be 'sha256:' and 64 lowercase hexadecimal digits");
        memcpy(h->digest, v + 7, 64);
        h->digest[64] = '\0';
        r->digest_line = r->lineno;
        return 0;
    case 4:
        if (h->key_id[0])
            return at(r, 1, err, errsz, "'key' given twice");
        if (vlen != 8 + 64 || memcmp(v, "ed25519:", 8) != 0 || !is_hex(v + 8, 64))
            return at(r, vcol, err, errsz,
                      "key must be 'ed25519:' and 64 lowercase hexadecimal digits");
        memcpy(h->key_id, v + 8, 64);
        h->key_id[64] = '\0';
        return 0;
    default:
        if (!h->key_id[0])
            return at(r, 1, err, errsz, "a signature without a 'key' line before it");
        if (vlen != 8 + SIG_HEX || memcmp(v, "ed25519:", 8) != 0 ||
            unhex(v + 8, SIG_HEX, r->sig) != 0)
            return at(r, vcol, err, errsz,
                      "signature must be 'ed25519:' and 128 lowercase hexadecimal digits");
        h->is_signed = 1;
        return 0;
    }
}

/* Reads the header up to its blank line; returns 0 or an error. */
static int read_head(cf_anchor_reader *r, char *err, size_t errsz)
{
    size_t len;
    int rc = read_line(r, &len, err, errsz);

    if (rc < 0)
        return rc;
    if (rc == 0 || strcmp(r->line, MAGIC) != 0) {
        if (rc == 0)
            r->lineno = 1;
        if (rc && strncmp(r->line, "caseflow anchor ", 16) == 0)
            return at(r, 17, err, errsz, "version '%s' of the anchor file is not known here",
                      r->line + 16);
        return at(r, 1, err, errsz, "not a caseflow anchor file (its first line must be '%s')",
                  MAGIC);
    }
    if (!(r->signed_text = malloc(sizeof MAGIC)))
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    memcpy(r->signed_text, MAGIC, sizeof MAGIC - 1);
    r->signed_text[sizeof MAGIC - 1] = '\n';
    r->signed_len = sizeof MAGIC;
    for (;;) {
        if ((rc = read_line(r, &len, err, errsz)) < 0)
            return rc;
        if (rc == 0) {
            r->lineno++;
            return at(r, 1, err, errsz, "the file ends inside its header (no blank line)");
        }
        if (len == 0)
            break;
        if (r->head.is_signed)
            return at(r, 1, err, errsz, "nothing may follow the signature in the header");
        if (len < 11 || memcmp(r->line, "signature: ", 11) != 0) {
            /* Every byte before the signature line is what the signature covers. */
            size_t total = r->signed_len + len + 1;
            char *grown;
            if (total > HEAD_MAX_BYTES)
                return at(r, 1, err, errsz, "the header is longer than %d bytes", HEAD_MAX_BYTES);
            if (!(grown = realloc(r->signed_text, total)))
                return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
            r->signed_text = grown;
            memcpy(r->signed_text + r->signed_len, r->line, len);
            r->signed_text[r->signed_len + len] = '\n';
            r->signed_len = total;
        }
        if (r->line[0] == '#')
            continue;
        if ((rc = head_line(r, r->line, len, err, errsz)) != 0)
            return rc;
    }
    {
        const char *missing = !r->head.made[0]                          ? "made"
                              : !r->head.as_of[0]                       ? "as-of"
                              : !r->cases_line                          ? "cases"
                              : !r->digest_line                         ? "digest"
                              : r->head.key_id[0] && !r->head.is_signed ? "signature"
                                                                        : NULL;
        if (missing)
            return at(r, 1, err, errsz, "the header lacks its '%s' line", missing);
    }
    return 0;
}

cf_anchor_reader *cf_anchor_open_stream(FILE *f, const char *name, char *err, size_t errsz)
{
    cf_anchor_reader *r = calloc(1, sizeof *r);

    if (!r || !(r->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL)) {
        cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", name);
        cf_anchor_close(r);
        return NULL;
    }
    r->f = f;
    snprintf(r->name, sizeof r->name, "%s", name);
    if (read_head(r, err, errsz) != 0) {
        cf_anchor_close(r);
        return NULL;
    }
    return r;
}

cf_anchor_reader *cf_anchor_open(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    cf_anchor_reader *r;

    if (!f) {
        cf_errf(err, errsz, CF_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    r = cf_anchor_open_stream(f, path, err, errsz);
    if (!r)
        fclose(f);
    else
        r->owns_file = 1;
    return r;
}

const cf_anchor_head *cf_anchor_head_of(const cf_anchor_reader *r)
{
    return &r->head;
}

/* Parses a case line of `len` bytes into `e`; returns 1, or an error. */
static int case_line(cf_anchor_reader *r, size_t len, cf_anchor_entry *e, char *err, size_t errsz)
{
    const char *line = r->line;
    size_t p, digits, clen, bad;
    long long seq = 0;

    if (len == 0)
        return at(r, 1, err, errsz, "a blank line among the case lines");
    if (len < 64 + 4)
        return at(r, 1, err, errsz, "a case line is '<case number> <seq> <hash>'");
    for (size_t k = len - 64; k < len; k++)
        if (!is_hex(line + k, 1))
            return at(r, column(line, k), err, errsz,
                      "the hash must be 64 lowercase hexadecimal digits");
    if (line[len - 65] != ' ')
        return at(r, column(line, len - 65), err, errsz,
                  "expected one space before the hash ('<case number> <seq> <hash>')");
    p = len - 65;
    while (p > 0 && line[p - 1] >= '0' && line[p - 1] <= '9')
        p--;
    digits = len - 65 - p;
    if (digits == 0 || p < 2 || line[p - 1] != ' ')
        return at(r, column(line, p > 0 ? p - 1 : 0), err, errsz,
                  "expected '<case number> <seq> <hash>'");
    if (line[p] == '0' || digits > 18)
        return at(r, column(line, p), err, errsz, "seq must be a whole number from 1");
    for (size_t k = p; k < p + digits; k++)
        seq = seq * 10 + (line[k] - '0');
    clen = p - 1;
    if ((bad = text_bad_at(line, clen)) < clen)
        return at(r, column(line, bad), err, errsz,
                  "a control character or invalid UTF-8 in the case number");
    if (clen + 1 > r->case_cap) {
        char *grown = realloc(r->case_no, clen + 1);
        if (!grown)
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        r->case_no = grown;
        r->case_cap = clen + 1;
    }
    memcpy(r->case_no, line, clen);
    r->case_no[clen] = '\0';
    if (r->last && strcmp(r->last, r->case_no) >= 0)
        return at(r, 1, err, errsz, "case %s %s: the lines are sorted by case number, byte by byte",
                  r->case_no,
                  strcmp(r->last, r->case_no) == 0 ? "is listed twice" : "is out of order");
    {
        char *copy = strdup(r->case_no);
        if (!copy)
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        free(r->last);
        r->last = copy;
    }
    EVP_DigestUpdate(r->md, line, len);
    EVP_DigestUpdate(r->md, "\n", 1);
    r->count++;
    e->case_no = r->case_no;
    e->seq = seq;
    memcpy(e->hash, line + len - 64, 64);
    e->hash[64] = '\0';
    return 1;
}

/* At the end of the lines: the count and the digest must be the header's. */
static int check_end(cf_anchor_reader *r, char *err, size_t errsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char digest[65];

    if (r->count != r->head.cases)
        return cf_errf(err, errsz, CF_ESTATE,
                       "%s:%ld:8: the header says %lld cases, the file lists %lld: lines were "
                       "added or removed",
                       r->name, r->cases_line, r->head.cases, r->count);
    EVP_DigestFinal_ex(r->md, md, &mdlen);
    hex(md, 32, digest);
    if (strcmp(digest, r->head.digest) != 0)
        return cf_errf(err, errsz, CF_ESTATE,
                       "%s:%ld:9: the case lines do not give the digest: the header says "
                       "sha256:%s, the lines give sha256:%s (a line was changed)",
                       r->name, r->digest_line, r->head.digest, digest);
    return 0;
}

int cf_anchor_next(cf_anchor_reader *r, cf_anchor_entry *e, char *err, size_t errsz)
{
    size_t len;
    int rc;

    if (r->failed)
        return cf_errf(err, errsz, r->failed, "%s", r->failed_err ? r->failed_err : r->name);
    if (r->ended)
        return 0;
    rc = read_line(r, &len, err, errsz);
    if (rc == 1)
        rc = case_line(r, len, e, err, errsz);
    else if (rc == 0 && (rc = check_end(r, err, errsz)) == 0)
        r->ended = 1;
    if (rc < 0) {
        r->failed = rc;
        r->failed_err = err && errsz ? strdup(err) : NULL;
    }
    return rc;
}

int cf_anchor_check_signature(const cf_anchor_reader *r, const cf_anchor_key *key, char *err,
                              size_t errsz)
{
    EVP_MD_CTX *ctx;
    int ok;

    if (!r->head.is_signed)
        return cf_errf(err, errsz, CF_ESTATE, "%s: the file is not signed", r->name);
    if (strcmp(r->head.key_id, key->id) != 0)
        return cf_errf(err, errsz, CF_ESTATE,
                       "%s: signed with key ed25519:%.16s..., not with the key given "
                       "(ed25519:%.16s...)",
                       r->name, r->head.key_id, key->id);
    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
         EVP_DigestVerify(ctx, r->sig, SIG_LEN, (const unsigned char *)r->signed_text,
                          r->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return cf_errf(err, errsz, CF_ESTATE,
                       "%s: the signature does not match the header: the header was changed "
                       "after it was signed",
                       r->name);
    return 0;
}

int cf_anchor_verify(cf_anchor_reader *r, const cf_anchor_key *key, char *err, size_t errsz)
{
    cf_anchor_entry e;
    int rc;

    if (key && (rc = cf_anchor_check_signature(r, key, err, errsz)) != 0)
        return rc;
    while ((rc = cf_anchor_next(r, &e, err, errsz)) == 1)
        ;
    return rc;
}

void cf_anchor_close(cf_anchor_reader *r)
{
    if (!r)
        return;
    if (r->owns_file && r->f)
        fclose(r->f);
    EVP_MD_CTX_free(r->md);
    free(r->line);
    free(r->signed_text);
    free(r->last);
    free(r->case_no);
    free(r->failed_err);
    free(r);
}
