/*
 * The simulator of the outside systems (sim/outside.h): deterministic answers drawn from a hash
 * of seed, case number and operation, with configurable latency and outcomes.
 */
#include "sim/outside.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A nap is cut in slices this long, so that a cancellation ends it soon. */
enum { SLICE_MS = 5 };

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

double cf_sim_draw(unsigned long long seed, const char *a, const char *b, const char *c, long n)
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
    size_t i = (size_t)(cf_sim_draw(seed, case_no, what, "pick", n) * (double)count);
    return list[i < count ? i : count - 1];
}

/* A sum of money in whole yuan between `lo` and `hi` (whole, so that it survives every JSON
 * printer unchanged). */
static json_int_t money(unsigned long long seed, const char *case_no, const char *what, long n,
                        double lo, double hi)
{
    return (json_int_t)(lo + cf_sim_draw(seed, case_no, what, "money", n) * (hi - lo));
}

/* Four digits drawn for the visible tail of a masked number. */
static int tail4(unsigned long long seed, const char *case_no, const char *what, long n)
{
    return (int)(cf_sim_draw(seed, case_no, what, "tail", n) * 10000.0);
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
                 15 + (int)(cf_sim_draw(seed, case_no, category, "year", n) * 10),
                 (int)(cf_sim_draw(seed, case_no, category, "cert", n) * 1e7));
        return json_pack("{s:s, s:s, s:I, s:s}", "certificate", text, "location",
                         pick(seed, case_no, category, n, towns, 6), "area_m2",
                         money(seed, case_no, "area", n, 45, 180), "use", "住宅");
    }
    if (strcmp(category, "vehicles") == 0) {
        snprintf(text, sizeof text, "豫C***%02d", tail4(seed, case_no, category, n) % 100);
        return json_pack("{s:s, s:s, s:i}", "plate", text, "model",
                         pick(seed, case_no, category, n, models, 6), "registered",
                         2012 + (int)(cf_sim_draw(seed, case_no, category, "reg", n) * 13));
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
                         5 + (int)(cf_sim_draw(seed, case_no, category, "share", n) * 95));
    }
    if (strcmp(category, "tax") == 0)
        return json_pack("{s:s, s:i, s:I}", "authority", "国家税务总局洛阳市偃师区税务局", "year",
                         2025, "declared_income", money(seed, case_no, category, n, 0, 400000));
    if (strcmp(category, "marriage") == 0)
        return json_pack("{s:s, s:s, s:i}", "registry", "偃师区民政局婚姻登记处", "status",
                         cf_sim_draw(seed, case_no, category, "status", n) < 0.8 ? "已婚" : "离婚",
                         "since",
                         1995 + (int)(cf_sim_draw(seed, case_no, category, "since", n) * 30));
    if (strcmp(category, "housing_fund") == 0)
        return json_pack("{s:s, s:I, s:s}", "center", "洛阳市住房公积金管理中心", "balance",
                         money(seed, case_no, category, n, 500, 120000), "status", "正常缴存");
    if (strcmp(category, "housing") == 0) {
        snprintf(text, sizeof text, "偃房备字第%07d号",
                 (int)(cf_sim_draw(seed, case_no, category, "filing", n) * 1e7));
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
                         1 + (int)(cf_sim_draw(seed, case_no, category, "round", n) * 2), "bidders",
                         1 + (int)(cf_sim_draw(seed, case_no, category, "bidders", n) * 9), "price",
                         money(seed, case_no, category, n, 15000, 800000));
    if (strcmp(category, "ships") == 0)
        return json_pack("{s:s, s:i}", "registry", "洛阳海事局", "tonnage",
                         10 + (int)(cf_sim_draw(seed, case_no, category, "t", n) * 500));
    snprintf(text, sizeof text, "%s-%04d", category, tail4(seed, case_no, category, n));
    return json_pack("{s:s}", "record", text);
}

/* Whether the outside system holds anything in `category` for the case, and what. */
static json_t *lookup(const cf_sim_world *a, const char *operation, const char *case_no,
                      const char *category)
{
    int found_w = a->weights[CF_SIM_FOUND], nothing_w = a->weights[CF_SIM_NOTHING];
    double p = found_w + nothing_w > 0 ? (double)found_w / (double)(found_w + nothing_w) : 0.0;
    int found = cf_sim_draw(a->seed, case_no, operation, category, 0) < p;
    json_t *items = json_array();

    if (found) {
        long n = 1 + (long)(cf_sim_draw(a->seed, case_no, operation, category, 1) * 3);
        for (long i = 0; i < n; i++)
            json_array_append_new(items, make_item(a->seed, case_no, category, i));
    }
    return json_pack("{s:b, s:o}", "found", found, "items", items);
}

/* The archive system's answer for one file (operation "archive"): accepted with the archive id
 * it gives, or refused with one of the reasons archive rooms give, in the found/nothing ratio. */
static json_t *archive_reply(const cf_sim_world *a, const char *case_no)
{
    static const char *const reasons[] = {"卷内缺少送达回证", "卷宗目录与卷内材料不一致",
                                          "结案审批表未签署", "卷内文书未逐页编号"};
    int found_w = a->weights[CF_SIM_FOUND], nothing_w = a->weights[CF_SIM_NOTHING];
    double p = found_w + nothing_w > 0 ? (double)found_w / (double)(found_w + nothing_w) : 0.0;
    char id[64];

    if (cf_sim_draw(a->seed, case_no, "archive", "accepted", 0) >= p)
        return json_pack("{s:s, s:b, s:s}", "case", case_no, "accepted", 0, "reason",
                         pick(a->seed, case_no, "archive", 0, reasons, 4));
    snprintf(id, sizeof id, "档执%06d",
             tail4(a->seed, case_no, "archive", 0) * 100 +
                 tail4(a->seed, case_no, "archive", 1) % 100);
    return json_pack("{s:s, s:b, s:s}", "case", case_no, "accepted", 1, "archive_id", id);
}

/*
 * How a simulated delivery of one service item went (a trip's `cases` entry that names its
 * `item`).  A party who agreed to electronic service (电子送达, one in five) is served so; the
 * route's clerk serves directly (直接送达) the parties met at home (the found / nothing weights);
 * for the others the documents go by post (邮寄送达), and one in five of those comes back: the
 * party cannot be reached at the address, which the workflow turns into service by announcement.
 */
static json_t *deliver(const cf_sim_world *a, const char *case_no, const char *item)
{
    int found_w = a->weights[CF_SIM_FOUND], nothing_w = a->weights[CF_SIM_NOTHING];
    double home = found_w + nothing_w > 0 ? (double)found_w / (double)(found_w + nothing_w) : 0.0;

    if (cf_sim_draw(a->seed, case_no, item, "electronic", 0) < 0.2)
        return json_pack("{s:s, s:s}", "outcome", "served", "method", "电子送达");
    if (cf_sim_draw(a->seed, case_no, item, "home", 0) < home)
        return json_pack("{s:s, s:s}", "outcome", "served", "method", "直接送达");
    if (cf_sim_draw(a->seed, case_no, item, "returned", 0) >= 0.2)
        return json_pack("{s:s, s:s}", "outcome", "served", "method", "邮寄送达");
    return json_pack("{s:s, s:s, s:s}", "outcome", "unreachable", "method", "邮寄送达", "reason",
                     "邮件被退回：查无此人");
}

/*
 * An auction round asked with its reserve ("reserve"): a sale goes for the reserve or up to 30 %
 * above it, as bidding on a court auction does, and the answer names the round asked about.
 */
static void bid_on_reserve(const cf_sim_world *a, const char *case_no, const json_t *req,
                           json_t *out)
{
    const json_t *reserve = json_object_get(req, "reserve");
    json_t *item;
    size_t i;

    if (!json_is_number(reserve))
        return;
    json_array_foreach (json_object_get(out, "items"), i, item) {
        double r = json_number_value(reserve);
        json_object_set_new(
            item, "price",
            json_integer((json_int_t)(r * (1.0 + 0.3 * cf_sim_draw(a->seed, case_no, "bid", "price",
                                                                   (long)i)))));
        json_object_set(item, "round", json_object_get(req, "round"));
    }
}

/* Sleeps `ms`, in slices, ending early when the adapter is cancelled; returns 1 when it was. */
static int nap(const cf_sim_world *a, long ms)
{
    while (ms > 0 && !(a->cancelled && atomic_load(a->cancelled))) {
        long step = ms < SLICE_MS ? ms : SLICE_MS;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return a->cancelled && atomic_load(a->cancelled) != 0;
}

int cf_sim_call(const cf_sim_world *a, const char *operation, const json_t *req, json_t **response,
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
    lat = a->latency_ms +
          (2.0 * cf_sim_draw(a->seed, trip, operation, "latency", attempt) - 1.0) * a->jitter_ms;
    u = cf_sim_draw(a->seed, trip, operation, "outcome", attempt) * 100.0;
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
            const char *item = json_string_value(json_object_get(c, "item"));
            json_t *r;
            if (strcmp(operation, "archive") == 0) {
                json_array_append_new(results, archive_reply(a, cn ? cn : ""));
                continue;
            }
            r = item ? deliver(a, cn ? cn : "", item)
                     : lookup(a, operation, cn ? cn : "", cat ? cat : (category ? category : ""));
            if (item)
                json_object_set_new(r, "item", json_string(item));
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
        bid_on_reserve(a, case_no, req, out);
        json_object_set_new(out, "case", json_string(case_no));
    }
    if (!out)
        return cf_errf(err, errsz, CF_ENOMEM, "%s: out of memory", a->name);
    *response = out;
    return 0;
}
