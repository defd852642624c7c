/*
 * The adapters to outside systems: the simulator (deterministic answers drawn
 * from a hash of seed, case number and operation, with configurable latency
 * and outcomes) and the HTTP client (libcurl, JSON in and out).
 */
#include "adapter.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Idle HTTP handles kept for reuse (their connections stay open), and the largest answer read. */
enum { IDLE_HANDLES = 16, RESPONSE_MAX = 16 * 1024 * 1024, SLICE_MS = 5 };

struct cf_adapter {
    enum cf_adapter_type type;
    char name[64];
    char *url;
    int timeout_ms;
    unsigned long long seed;
    int latency_ms, jitter_ms;
    int weights[CF_SIM_OUTCOMES];
    atomic_int cancelled;
    pthread_mutex_t lock; /* guards idle */
    CURL *idle[IDLE_HANDLES];
    int nidle;
};

/* ---- the draw ---- */

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finalizer: every input bit reaches every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    /* FNV-1a over the text and its terminator, so that ("ab", "c") and ("a", "bc") differ. */
    for (const unsigned char *p = (const unsigned char *)(s ? s : "");; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
        if (!*p)
            break;
    }
    return h;
}

double cf_adapter_draw(unsigned long long seed, const char *a, const char *b, const char *c, long n)
{
    uint64_t h = mix(seed ^ 0xcbf29ce484222325ULL);
    h = fnv(h, a);
    h = fnv(h, b);
    h = fnv(h, c);
    h = mix(h ^ (uint64_t)n);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the simulator's world ---- */

static const char *pick(unsigned long long seed, const char *case_no, const char *what, long n,
                        const char *const *list, size_t count)
{
    size_t i = (size_t)(cf_adapter_draw(seed, case_no, what, "pick", n) * (double)count);
    return list[i < count ? i : count - 1];
}

/* A sum of money in whole yuan between `lo` and `hi` (whole, so that it survives every JSON
 * printer unchanged). */
static json_int_t money(unsigned long long seed, const char *case_no, const char *what, long n,
                        double lo, double hi)
{
    return (json_int_t)(lo + cf_adapter_draw(seed, case_no, what, "money", n) * (hi - lo));
}

/* Four digits drawn for the visible tail of a masked number. */
static int tail4(unsigned long long seed, const char *case_no, const char *what, long n)
{
    return (int)(cf_adapter_draw(seed, case_no, what, "tail", n) * 10000.0);
}

/* One item the outside system holds for the case's respondent in `category`: what a clerk needs
 * to act on it (where it is, what it is worth), with account and plate numbers masked. */
static json_t *make_item(unsigned long long seed, const char *case_no, const char *category, long n)
{
    static const char *const banks[] = {"中国工商银行偃师支行", "中国农业银行偃师支行",
                                        "中国银行洛阳分行",     "中国建设银行偃师支行",
                                        "洛阳农商银行偃师支行", "中国邮政储蓄银行偃师支行"};
    static const char *const models[] = {"大众朗逸", "丰田卡罗拉", "比亚迪秦",
                                         "五菱宏光", "本田雅阁",   "解放J6P货车"};
    static const char *const towns[] = {"城关街道", "首阳山街道", "商城街道",
                                        "岳滩镇",   "顾县镇",     "佃庄镇"};
    static const char *const brokers[] = {"中原证券", "国泰君安证券", "华泰证券", "招商证券"};
    static const char *const platforms[] = {"支付宝", "财付通", "京东钱包"};
    static const char *const roles[] = {"股东", "法定代表人", "执行董事"};
    char text[160];

    if (strcmp(category, "deposits") == 0) {
        snprintf(text, sizeof text, "6222********%04d", tail4(seed, case_no, category, n));
        return json_pack("{s:s, s:s, s:I, s:s}", "bank", pick(seed, case_no, category, n, banks, 6),
                         "account", text, "balance", money(seed, case_no, category, n, 50, 200000),
                         "currency", "CNY");
    }
    if (strcmp(category, "real_estate") == 0) {
        snprintf(text, sizeof text, "豫(20%02d)偃师市不动产权第%07d号",
                 15 + (int)(cf_adapter_draw(seed, case_no, category, "year", n) * 10),
                 (int)(cf_adapter_draw(seed, case_no, category, "cert", n) * 1e7));
        return json_pack("{s:s, s:s, s:I, s:s}", "certificate", text, "location",
                         pick(seed, case_no, category, n, towns, 6), "area_m2",
                         money(seed, case_no, "area", n, 45, 180), "use", "住宅");
    }
    if (strcmp(category, "vehicles") == 0) {
        snprintf(text, sizeof text, "豫C***%02d", tail4(seed, case_no, category, n) % 100);
        return json_pack("{s:s, s:s, s:i}", "plate", text, "model",
                         pick(seed, case_no, category, n, models, 6), "registered",
                         2012 + (int)(cf_adapter_draw(seed, case_no, category, "reg", n) * 13));
    }
    if (strcmp(category, "securities") == 0)
        return json_pack("{s:s, s:I}", "broker", pick(seed, case_no, category, n, brokers, 4),
                         "market_value", money(seed, case_no, category, n, 1000, 300000));
    if (strcmp(category, "online_funds") == 0)
        return json_pack("{s:s, s:I}", "platform", pick(seed, case_no, category, n, platforms, 3),
                         "balance", money(seed, case_no, category, n, 10, 50000));
    if (strcmp(category, "business_registration") == 0) {
        snprintf(text, sizeof text, "洛阳%s商贸有限公司",
                 pick(seed, case_no, category, n,
                      (const char *const[]){"恒通", "鑫源", "瑞丰", "宏达"}, 4));
        return json_pack("{s:s, s:s, s:i}", "company", text, "role",
                         pick(seed, case_no, category, n, roles, 3), "share_pct",
                         5 + (int)(cf_adapter_draw(seed, case_no, category, "share", n) * 95));
    }
    if (strcmp(category, "tax") == 0)
        return json_pack("{s:s, s:i, s:I}", "authority", "国家税务总局洛阳市偃师区税务局", "year",
                         2025, "declared_income", money(seed, case_no, category, n, 0, 400000));
    if (strcmp(category, "marriage") == 0)
        return json_pack(
            "{s:s, s:s, s:i}", "registry", "偃师区民政局婚姻登记处", "status",
            cf_adapter_draw(seed, case_no, category, "status", n) < 0.8 ? "已婚" : "离婚", "since",
            1995 + (int)(cf_adapter_draw(seed, case_no, category, "since", n) * 30));
    if (strcmp(category, "housing_fund") == 0)
        return json_pack("{s:s, s:I, s:s}", "center", "洛阳市住房公积金管理中心", "balance",
                         money(seed, case_no, category, n, 500, 120000), "status", "正常缴存");
    if (strcmp(category, "housing") == 0) {
        snprintf(text, sizeof text, "偃房备字第%07d号",
                 (int)(cf_adapter_draw(seed, case_no, category, "filing", n) * 1e7));
        return json_pack("{s:s, s:s, s:s, s:I}", "authority", "偃师区房产管理局", "filing", text,
                         "location", pick(seed, case_no, category, n, towns, 6), "area_m2",
                         money(seed, case_no, "area", n, 45, 180));
    }
    if (strcmp(category, "household_registration") == 0)
        return json_pack("{s:s, s:s, s:s}", "authority", "洛阳市公安局偃师分局", "address",
                         pick(seed, case_no, category, n, towns, 6), "status", "正常");
    if (strcmp(category, "wealth_management") == 0)
        return json_pack("{s:s, s:s, s:I}", "institution",
                         pick(seed, case_no, category, n, banks, 6), "product", "稳健型理财产品",
                         "balance", money(seed, case_no, category, n, 1000, 300000));
    if (strcmp(category, "valuation") == 0)
        return json_pack("{s:s, s:s, s:I}", "method", "网络询价", "platform",
                         pick(seed, case_no, category, n,
                              (const char *const[]){"淘宝询价", "京东询价", "工商银行融e购询价"},
                              3),
                         "value", money(seed, case_no, category, n, 20000, 900000));
    if (strcmp(category, "auction") == 0)
        return json_pack("{s:s, s:i, s:i, s:I}", "platform", "人民法院诉讼资产网", "round",
                         1 + (int)(cf_adapter_draw(seed, case_no, category, "round", n) * 2),
                         "bidders",
                         1 + (int)(cf_adapter_draw(seed, case_no, category, "bidders", n) * 9),
                         "price", money(seed, case_no, category, n, 15000, 800000));
    if (strcmp(category, "ships") == 0)
        return json_pack("{s:s, s:i}", "registry", "洛阳海事局", "tonnage",
                         10 + (int)(cf_adapter_draw(seed, case_no, category, "t", n) * 500));
    snprintf(text, sizeof text, "%s-%04d", category, tail4(seed, case_no, category, n));
    return json_pack("{s:s}", "record", text);
}

/* Whether the outside system holds anything in `category` for the case, and what. */
static json_t *lookup(const cf_adapter *a, const char *operation, const char *case_no,
                      const char *category)
{
    int found_w = a->weights[CF_SIM_FOUND], nothing_w = a->weights[CF_SIM_NOTHING];
    double p = found_w + nothing_w > 0 ? (double)found_w / (double)(found_w + nothing_w) : 0.0;
    int found = cf_adapter_draw(a->seed, case_no, operation, category, 0) < p;
    json_t *items = json_array();

    if (found) {
        long n = 1 + (long)(cf_adapter_draw(a->seed, case_no, operation, category, 1) * 3);
        for (long i = 0; i < n; i++)
            json_array_append_new(items, make_item(a->seed, case_no, category, i));
    }
    return json_pack("{s:b, s:o}", "found", found, "items", items);
}

/* The archive system's answer for one file (operation "archive"): accepted with the archive id
 * it gives, or refused with one of the reasons archive rooms give, in the found/nothing ratio. */
static json_t *archive_reply(const cf_adapter *a, const char *case_no)
{
    static const char *const reasons[] = {"卷内缺少送达回证", "卷宗目录与卷内材料不一致",
                                          "结案审批表未签署", "卷内文书未逐页编号"};
    int found_w = a->weights[CF_SIM_FOUND], nothing_w = a->weights[CF_SIM_NOTHING];
    double p = found_w + nothing_w > 0 ? (double)found_w / (double)(found_w + nothing_w) : 0.0;
    char id[64];

    if (cf_adapter_draw(a->seed, case_no, "archive", "accepted", 0) >= p)
        return json_pack("{s:s, s:b, s:s}", "case", case_no, "accepted", 0, "reason",
                         pick(a->seed, case_no, "archive", 0, reasons, 4));
    snprintf(id, sizeof id, "档执%06d",
             tail4(a->seed, case_no, "archive", 0) * 100 +
                 tail4(a->seed, case_no, "archive", 1) % 100);
    return json_pack("{s:s, s:b, s:s}", "case", case_no, "accepted", 1, "archive_id", id);
}

/* Sleeps `ms`, in slices, ending early when the adapter is cancelled; returns 1 when it was. */
static int nap(cf_adapter *a, long ms)
{
    while (ms > 0 && !atomic_load(&a->cancelled)) {
        long step = ms < SLICE_MS ? ms : SLICE_MS;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return atomic_load(&a->cancelled) != 0;
}

static int sim_call(cf_adapter *a, const char *operation, const json_t *req, json_t **response,
                    char *err, size_t errsz)
{
    const json_t *cases = json_object_get(req, "cases");
    const char *case_no = json_string_value(json_object_get(req, "case"));
    long attempt = (long)json_integer_value(json_object_get(req, "attempt"));
    const char *category = json_string_value(json_object_get(req, "category"));
    const char *trip = json_string_value(json_object_get(req, "trip"));
    const json_t *categories = json_object_get(req, "categories");
    double u, lat;
    json_t *out;
    size_t i;

    if (!case_no && json_is_array(cases))
        case_no = json_string_value(json_object_get(json_array_get(cases, 0), "case"));
    if (!case_no)
        return cf_errf(err, errsz, CF_EINVAL,
                       "%s: the simulator needs the request's case (or cases)", a->name);
    if (attempt < 1)
        attempt = 1;
    /* How long a call takes and whether it fails belong to the trip (one case, or many); whether
     * this try fails is drawn per try, whether property exists is not. */
    if (!trip)
        trip = case_no;
    lat =
        a->latency_ms +
        (2.0 * cf_adapter_draw(a->seed, trip, operation, "latency", attempt) - 1.0) * a->jitter_ms;
    u = cf_adapter_draw(a->seed, trip, operation, "outcome", attempt) * 100.0;
    if (u < a->weights[CF_SIM_TIMEOUT]) {
        nap(a, (long)(lat > 0 ? lat : 0));
        return cf_errf(err, errsz, CF_ETIMEOUT, "%s: %s timed out (simulated, try %ld)", a->name,
                       operation, attempt);
    }
    if (nap(a, (long)(lat > 0 ? lat : 0)))
        return cf_errf(err, errsz, CF_ETIMEOUT, "%s: %s cancelled: the worker is stopping", a->name,
                       operation);
    if (u < a->weights[CF_SIM_TIMEOUT] + a->weights[CF_SIM_ERROR])
        return cf_errf(err, errsz, CF_EIO, "%s: %s failed (simulated error, try %ld)", a->name,
                       operation, attempt);

    if (json_is_array(cases)) {
        json_t *results = json_array(), *c;
        json_array_foreach (cases, i, c) {
            const char *cn = json_string_value(json_object_get(c, "case"));
            const char *cat = json_string_value(json_object_get(c, "category"));
            json_t *r;
            if (strcmp(operation, "archive") == 0) {
                json_array_append_new(results, archive_reply(a, cn ? cn : ""));
                continue;
            }
            r = lookup(a, operation, cn ? cn : "", cat ? cat : (category ? category : ""));
            json_object_set_new(r, "case", json_string(cn ? cn : ""));
            json_object_set_new(r, "category", json_string(cat ? cat : (category ? category : "")));
            json_array_append_new(results, r);
        }
        out = json_pack("{s:o}", "results", results);
    } else if (json_is_array(categories)) {
        json_t *per = json_object(), *c;
        json_array_foreach (categories, i, c) {
            if (json_is_string(c))
                json_object_set_new(per, json_string_value(c),
                                    lookup(a, operation, case_no, json_string_value(c)));
        }
        out = json_pack("{s:s, s:o}", "case", case_no, "categories", per);
    } else {
        out = lookup(a, operation, case_no, category ? category : "");
        json_object_set_new(out, "case", json_string(case_no));
    }
    if (!out)
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", a->name);
    *response = out;
    return 0;
}

/* ---- HTTP ---- */

typedef struct buffer {
    char *data;
    size_t len;
    int too_big;
} buffer;

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
    buffer *b = opaque;
    size_t add = size * n;
    char *d;

    if (b->len + add > RESPONSE_MAX) {
        b->too_big = 1;
        return 0;
    }
    d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->len += add;
    d[b->len] = '\0';
    b->data = d;
    return add;
}

static int on_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    cf_adapter *a = opaque;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&a->cancelled) != 0; /* non-zero aborts the transfer */
}

static CURL *take_handle(cf_adapter *a)
{
    CURL *h = NULL;
    pthread_mutex_lock(&a->lock);
    if (a->nidle > 0)
        h = a->idle[--a->nidle];
    pthread_mutex_unlock(&a->lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void give_handle(cf_adapter *a, CURL *h)
{
    pthread_mutex_lock(&a->lock);
    if (a->nidle < IDLE_HANDLES) {
        a->idle[a->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    if (h)
        curl_easy_cleanup(h);
}

static int http_call(cf_adapter *a, const char *operation, const json_t *req, json_t **response,
                     char *err, size_t errsz)
{
    char url[2048], curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    buffer body = {0};
    char *payload = json_dumps(req, JSON_COMPACT);
    CURL *h = take_handle(a);
    CURLcode cc;
    long status = 0;
    json_t *answer;
    int rc;

    if (!payload || !h) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", a->name);
        goto out;
    }
    snprintf(url, sizeof url, "%s/%s", a->url, operation);
    headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "caseflow-worker");
    cc = curl_easy_perform(h);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = cf_errf(err, errsz, CF_ETIMEOUT, "%s: POST %s: no answer within %d ms", a->name, url,
                     a->timeout_ms);
        goto out;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = cf_errf(err, errsz, CF_ETIMEOUT, "%s: POST %s cancelled: the worker is stopping",
                     a->name, url);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = cf_errf(err, errsz, body.too_big ? CF_ERANGE : CF_EIO, "%s: POST %s: %s", a->name, url,
                     body.too_big ? "answer over 16 MB"
                     : *curlerr   ? curlerr
                                  : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 408 || status == 429 || status >= 500) {
        /* The other side is busy or broken for now: worth another try. */
        rc = cf_errf(err, errsz, status == 408 ? CF_ETIMEOUT : CF_EIO, "%s: POST %s: HTTP %ld",
                     a->name, url, status);
        goto out;
    }
    if (status < 200 || status >= 300) {
        rc = cf_errf(err, errsz, CF_EINVAL, "%s: POST %s: refused with HTTP %ld", a->name, url,
                     status);
        goto out;
    }
    answer = body.data ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    if (!json_is_object(answer)) {
        json_decref(answer);
        rc = cf_errf(err, errsz, CF_EPARSE, "%s: POST %s: the answer is not a JSON object", a->name,
                     url);
        goto out;
    }
    *response = answer;
    rc = 0;
out:
    curl_slist_free_all(headers);
    if (h)
        give_handle(a, h);
    free(body.data);
    free(payload);
    return rc;
}

/* ---- the interface ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
    /* Not thread-safe itself: done once, before any thread calls. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cf_adapter_new(const cf_adapter_options *opt, cf_adapter **out, char *err, size_t errsz)
{
    cf_adapter *a;
    int sum = 0;

    *out = NULL;
    for (int i = 0; i < CF_SIM_OUTCOMES; i++) {
        if (opt->weights[i] < 0)
            return cf_errf(err, errsz, CF_EINVAL, "%s: simulator weights must not be negative",
                           opt->name);
        sum += opt->weights[i];
    }
    if (opt->type == CF_ADAPTER_SIMULATOR && sum != 100)
        return cf_errf(err, errsz, CF_EINVAL,
                       "%s: worker.sim.found, .nothing, .error and .timeout must add up to 100, "
                       "not %d (%d + %d + %d + %d)",
                       opt->name, sum, opt->weights[0], opt->weights[1], opt->weights[2],
                       opt->weights[3]);
    if (opt->type == CF_ADAPTER_HTTP && (!opt->url || !*opt->url))
        return cf_errf(err, errsz, CF_EINVAL, "%s: the HTTP adapter needs worker.url", opt->name);
    a = calloc(1, sizeof *a);
    if (!a)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    a->type = opt->type;
    snprintf(a->name, sizeof a->name, "%s", opt->name ? opt->name : "adapter");
    if (opt->url) {
        size_t n = strlen(opt->url);
        while (n > 0 && opt->url[n - 1] == '/')
            n--;
        a->url = strndup(opt->url, n);
        if (!a->url) {
            free(a);
            return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
        }
    }
    a->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 10000;
    a->seed = opt->seed;
    a->latency_ms = opt->latency_ms;
    a->jitter_ms = opt->jitter_ms;
    memcpy(a->weights, opt->weights, sizeof a->weights);
    atomic_init(&a->cancelled, 0);
    pthread_mutex_init(&a->lock, NULL);
    if (a->type == CF_ADAPTER_HTTP)
        pthread_once(&curl_once, curl_start);
    *out = a;
    return 0;
}

int cf_adapter_call(cf_adapter *a, const char *operation, const json_t *request, json_t **response,
                    char *err, size_t errsz)
{
    *response = NULL;
    if (!json_is_object(request))
        return cf_errf(err, errsz, CF_EINVAL, "%s: %s: the request must be a JSON object", a->name,
                       operation);
    if (atomic_load(&a->cancelled))
        return cf_errf(err, errsz, CF_ETIMEOUT, "%s: %s cancelled: the worker is stopping", a->name,
                       operation);
    if (a->type == CF_ADAPTER_HTTP)
        return http_call(a, operation, request, response, err, errsz);
    return sim_call(a, operation, request, response, err, errsz);
}

void cf_adapter_cancel(cf_adapter *a)
{
    if (a)
        atomic_store(&a->cancelled, 1);
}

void cf_adapter_free(cf_adapter *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nidle; i++)
        curl_easy_cleanup(a->idle[i]);
    pthread_mutex_destroy(&a->lock);
    free(a->url);
    free(a);
}

int cf_adapter_trip(cf_adapter *a, const char *operation, const char *group_key, const char *group,
                    const char *first_case, int attempt, json_t *cases, json_t **response,
                    char *err, size_t errsz)
{
    char trip[512];
    json_t *req;
    int rc;

    snprintf(trip, sizeof trip, "%s:%s:%zu", group, first_case, json_array_size(cases));
    req = json_pack("{s:s, s:s, s:s, s:i, s:o}", group_key, group, "case", first_case, "trip", trip,
                    "attempt", attempt, "cases", cases);
    if (!req)
        return cf_errf(err, errsz, CF_ENOMEM, "out of memory");
    rc = cf_adapter_call(a, operation, req, response, err, errsz);
    json_decref(req);
    return rc;
}

const json_t *cf_adapter_result_for(const json_t *response, const char *case_no)
{
    const json_t *r;
    size_t i;

    json_array_foreach (json_object_get(response, "results"), i, r) {
        const char *c = json_string_value(json_object_get(r, "case"));
        if (c && strcmp(c, case_no) == 0)
            return r;
    }
    return NULL;
}
