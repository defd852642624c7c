/*
 * Makes the fields of a case's documents from its data and the court's settings, and writes
 * dates and amounts the way Chinese court documents write them.
 */
#include "docfields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caltime.h"
#include "core/caseno.h"
#include "workers/template.h"

/* ---- numerals ---- */

/* Appends `s` to buf (of n bytes, `*o` used); returns -1 when it does not fit. */
static int put(char *buf, size_t n, size_t *o, const char *s)
{
    size_t len = strlen(s);
    if (*o + len + 1 > n)
        return -1;
    memcpy(buf + *o, s, len + 1);
    *o += len;
    return 0;
}

int cf_docfields_amount_words(double yuan, char *buf, size_t n)
{
    static const char *const digit[] = {"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"};
    static const char *const place[] = {"", "拾", "佰", "仟"};
    static const char *const section[] = {"", "万", "亿"};
    static const long long tens[] = {1, 10, 100, 1000};
    long long fen, whole;
    int jiao, cents, started = 0, zero = 0, bad = 0;
    size_t o = 0;

    if (n == 0 || !isfinite(yuan) || yuan < 0 || yuan >= 1e12)
        return CF_ERANGE;
    buf[0] = '\0';
    fen = llround(yuan * 100);
    whole = fen / 100;
    if (whole >= 1000000000000LL)
        return CF_ERANGE; /* 999999999999.995 rounds up to a trillion */
    jiao = (int)(fen / 10 % 10);
    cents = (int)(fen % 10);
    /* Groups of four digits: 亿, 万, and the units.  A run of zeros between two digits is
     * written as one 零 (the People's Bank's rule for capital amounts). */
    for (int g = 2; g >= 0; g--) {
        long long group = whole / (g == 2 ? 100000000LL : g == 1 ? 10000LL : 1) % 10000;
        if (group == 0) {
            zero |= started;
            continue;
        }
        for (int p = 3; p >= 0; p--) {
            int d = (int)(group / tens[p] % 10);
            if (d == 0) {
                zero |= started;
                continue;
            }
            if (zero)
                bad |= put(buf, n, &o, digit[0]);
            bad |= put(buf, n, &o, digit[d]);
            bad |= put(buf, n, &o, place[p]);
            started = 1;
            zero = 0;
        }
        bad |= put(buf, n, &o, section[g]);
    }
    if (started)
        bad |= put(buf, n, &o, "元");
    if (jiao == 0 && cents == 0) {
        bad |= put(buf, n, &o, started ? "整" : "零元整");
    } else {
        if (jiao) {
            bad |= put(buf, n, &o, digit[jiao]);
            bad |= put(buf, n, &o, "角");
        } else if (started) {
            bad |= put(buf, n, &o, digit[0]); /* 元 then no 角 but 分: "零" must follow 元 */
        }
        if (cents) {
            bad |= put(buf, n, &o, digit[cents]);
            bad |= put(buf, n, &o, "分");
        }
    }
    return bad ? CF_ERANGE : 0;
}

void cf_docfields_amount_digits(double yuan, char *buf, size_t n)
{
    char plain[32];
    long long fen = isfinite(yuan) && yuan >= 0 && yuan < 1e15 ? llround(yuan * 100) : 0;
    size_t len, o = 0;

    snprintf(plain, sizeof plain, "%lld", fen / 100);
    len = strlen(plain);
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = plain[i];
    }
    if (n > 0)
        snprintf(buf + o, n - o, ".%02lld", fen % 100);
}

static const char *const cn_digit[] = {"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"};

/* A month or a day in words: 三, 十, 十一, 二十, 二十一, 三十. */
static void day_of(int v, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", v >= 20 ? cn_digit[v / 10 % 10] : "", v >= 10 ? "十" : "",
             v % 10 || v < 10 ? cn_digit[v % 10] : "");
}

void cf_docfields_date_words(int year, int month, int day, char *buf, size_t n)
{
    char y[32] = "", m[16], d[16];
    size_t o = 0;

    /* The year digit by digit: 二〇二六. */
    for (int div = 1000; div > 0; div /= 10)
        put(y, sizeof y, &o, cn_digit[year / div % 10]);
    day_of(month, m, sizeof m);
    day_of(day, d, sizeof d);
    snprintf(buf, n, "%s年%s月%s日", y, m, d);
}

/* ---- fields ---- */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The names of an array of parties, joined with "、"; the caller frees the text. */
static char *names(const json_t *parties)
{
    size_t i, len = 0;
    const json_t *p;
    char *s;

    json_array_foreach (parties, i, p)
        len += strlen(str(p, "name")) + 4;
    if (!(s = calloc(1, len + 1)))
        return NULL;
    json_array_foreach (parties, i, p) {
        if (!*str(p, "name"))
            continue;
        if (*s)
            strcat(s, "、");
        strcat(s, str(p, "name"));
    }
    return s;
}

/* A configured text, or a mark that it is not configured, so that a gap shows in the PDF. */
static const char *setting(const char *v)
{
    return v && *v ? v : "（未配置）";
}

/* Writes a date-time's day in the court's zone in words; "" when it is not a date-time. */
static void day_words(const char *when, char *buf, size_t n)
{
    cf_time t;
    int y, m, d;
    buf[0] = '\0';
    if (cf_time_parse(when, &t) == 0) {
        cf_date_to_ymd(cf_time_date(t, CF_CALTIME_DEFAULT_UTC_OFFSET), &y, &m, &d);
        cf_docfields_date_words(y, m, d, buf, n);
    }
}

int cf_docfields_build(const cf_config *cfg, const char *case_no, const json_t *data,
                       const json_t *params, const json_t *post_titles, json_t **out, char *err,
                       size_t errsz)
{
    const json_t *basis = json_object_get(data, "basis");
    const json_t *amount = json_object_get(data, "amount");
    const char *when = json_string_value(json_object_get(params, "date"));
    const char *post = str(data, "handler_post"), *title = str(post_titles, post);
    char words[256] = "", digits[64], date[64], iso[64], filed[64], basis_date[64] = "", year[8];
    char *applicants = names(json_object_get(data, "applicants"));
    char *respondents = names(json_object_get(data, "respondents"));
    char *remark = NULL, code[32];
    /* The heading is the name of the case's own court (base/config.h, courts). */
    const cf_court_cfg *court =
        cf_config_court(cfg, cf_caseno_court(case_no, str(data, "court"), code, sizeof code));
    const char *court_name = court              ? court->name
                             : cfg->ncourts > 0 ? cfg->courts[0].name
                                                : cfg->doc_court_name;
    cf_time t;
    cf_date day;
    int y, m, d, rc = 0;
    json_t *f = json_object();

    *out = NULL;
    if (!f || !applicants || !respondents) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        goto out;
    }
    /* The document's date: the task's, or the filing day. */
    if (cf_time_parse(when ? when : str(data, "filed_at"), &t) != 0) {
        rc = cf_errf(err, errsz, CF_EINVAL, "the case has no filing time to date its documents");
        goto out;
    }
    day = cf_time_date(t, CF_CALTIME_DEFAULT_UTC_OFFSET);
    cf_date_to_ymd(day, &y, &m, &d);
    cf_docfields_date_words(y, m, d, date, sizeof date);
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT00:00:00+08:00", y, m, d);
    snprintf(year, sizeof year, "%d", y);
    day_words(str(data, "filed_at"), filed, sizeof filed);
    if (cf_date_parse(str(basis, "effective_date"), &day) == 0) {
        cf_date_to_ymd(day, &y, &m, &d);
        cf_docfields_date_words(y, m, d, basis_date, sizeof basis_date);
    }
    if (json_is_number(amount) &&
        cf_docfields_amount_words(json_number_value(amount), words, sizeof words) != 0) {
        rc = cf_errf(err, errsz, CF_ERANGE, "the amount is out of range for a document");
        goto out;
    }
    cf_docfields_amount_digits(json_number_value(amount), digits, sizeof digits);
    {
        const char *const fields[][2] = {
            {"case_no", case_no},
            {"year", year},
            {"court_name", setting(court_name)},
            {"cause", str(data, "cause")},
            {"claim_kind", str(data, "claim_kind")},
            {"applicant_names", applicants},
            {"respondent_names", respondents},
            {"basis_court", str(basis, "court_name")},
            {"basis_no", str(basis, "document_no")},
            {"basis_date", basis_date},
            {"filed_date", filed},
            {"date", date},
            {"date_iso", iso},
            {"amount", digits},
            {"amount_words", words},
            {"account_name", setting(cfg->doc_account_name)},
            {"account_bank", setting(cfg->doc_account_bank)},
            {"account_number", setting(cfg->doc_account_number)},
            {"handler", *title ? title : post},
            {"phone", setting(cfg->doc_phone)},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (json_object_set_new(f, fields[i][0], json_string(fields[i][1])) != 0) {
                rc =
                    cf_errf(err, errsz, CF_EINVAL, "the case's %s is not valid text", fields[i][0]);
                goto out;
            }
    }
    /* The remark a payer writes on a transfer, so that the payment clerk can match it to the
     * case; its wording is a setting with placeholders of the fields above. */
    if ((rc = cf_template_expand_string("document.account_remark",
                                        cfg->doc_account_remark ? cfg->doc_account_remark : "", f,
                                        &remark, err, errsz)))
        goto out;
    json_object_set_new(f, "account_remark", json_string(remark));
    /* The task's own texts (a ruling's grounds) are fields too, unless they would hide one of
     * the case's. */
    {
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)params, key, v) {
            if (json_is_string(v) && !json_object_get(f, key) && strcmp(key, "documents") != 0)
                json_object_set(f, key, v);
        }
    }
    *out = f;
    f = NULL;
out:
    free(remark);
    free(applicants);
    free(respondents);
    json_decref(f);
    return rc;
}
