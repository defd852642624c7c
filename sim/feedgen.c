/*
 * The synthetic filing feed (see feedgen.h): decides in three passes when each case is filed,
 * what kind of case it is and what follows it, then builds each event's JSON only when it is
 * emitted, from a random stream of its own, so that memory stays small for large runs.
 */
#include "sim/feedgen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Randomness: xoshiro256** seeded by splitmix64, one stream per purpose and item -------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Purposes of streams: a case's content never shifts when another purpose draws more. */
enum { S_FILING = 1, S_CASE, S_CONTENT, S_PARTIES, S_PAYMENT, S_NAME, S_PAYEE, S_PAYCASE };

static void rng_seed(rng *r, uint64_t seed, uint64_t purpose, uint64_t item)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ (purpose * 0xD1B54A32D192ED03ULL);
    x = splitmix64(&x) ^ (item * 0x8CB92BA72F3D8DD7ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Returns a uniform integer in [0, n), without modulo bias; n > 0. */
static uint64_t rng_below(rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;
    do
        v = rng_next(r);
    while (v >= limit);
    return v % n;
}

/* Returns a uniform integer in [lo, hi]. */
static long rng_range(rng *r, long lo, long hi)
{
    return lo + (long)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Returns a uniform double in [0, 1) with 53 random bits. */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_chance(rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Picks an index of `n` weights (not all zero) with probability proportional to its weight. */
static size_t rng_weighted(rng *r, const int *w, size_t n)
{
    long total = 0, x;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    x = rng_range(r, 0, total - 1);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

#define PICK(r, table) ((table)[rng_below((r), sizeof(table) / sizeof((table)[0]))])
#define COUNT(table)   (sizeof(table) / sizeof((table)[0]))

/*
 * e^x from basic IEEE operations only (range reduction and a Taylor polynomial), so that
 * amounts are the same on every C library; libm's exp may differ in the last bit between them.
 */
static double det_exp(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double k = (double)(long)(x * 1.44269504088896338700 + (x < 0 ? -0.5 : 0.5));
    double rr = (x - k * ln2_hi) - k * ln2_lo, term = 1.0, sum = 1.0;
    long ki = (long)k;

    for (int i = 1; i < 20; i++) {
        term = term * rr / i;
        sum += term;
    }
    for (; ki > 0; ki--)
        sum *= 2.0;
    for (; ki < 0; ki++)
        sum *= 0.5;
    return sum;
}

/* A standard normal deviate, approximately (Irwin-Hall with 12 uniforms). */
static double rng_normal(rng *r)
{
    double z = -6.0;
    for (int i = 0; i < 12; i++)
        z += rng_unit(r);
    return z;
}

/* A log-normal amount in cents with the given median and spread, redrawn into [lo, hi] yuan. */
static long lognormal_cents(rng *r, double median, double sigma, long lo, long hi)
{
    uint64_t roundness;
    double v = 0;
    for (int tries = 0; tries < 50; tries++) {
        v = median * det_exp(sigma * rng_normal(r));
        if (v >= (double)lo && v <= (double)hi)
            break;
        v = v < (double)lo ? (double)lo : (double)hi;
    }
    /* Principals are often round sums (35%), or whole yuan (25%); interest and costs make the
     * rest exact to the fen. */
    roundness = rng_below(r, 20);
    if (roundness < 7)
        return (long)(v / 1000.0 + 0.5) * 100000;
    if (roundness < 12)
        return (long)(v + 0.5) * 100;
    return (long)(v * 100.0 + 0.5);
}

/* ---- Data tables ------------------------------------------------------------------------ */

/* Frequent surnames of Henan, weighted roughly by frequency. */
static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "赵", "郭", "马", "孙", "周", "吴", "高", "朱", "胡",
    "徐", "韩", "宋", "郑", "何", "梁", "许", "冯", "程", "田", "任", "董", "贾", "申", "牛",
    "范", "曹", "常", "段", "薛", "袁", "姚", "乔", "魏", "谢", "闫", "翟", "史", "杜", "秦"};
static const int surname_w[] = {90, 80, 78, 50, 35, 30, 28, 30, 18, 18, 18, 14, 16, 13, 12,
                                11, 10, 11, 10, 9,  8,  12, 8,  7,  8,  6,  5,  7,  6,  5,
                                5,  5,  5,  5,  4,  4,  4,  4,  4,  4,  5,  5,  4,  4,  4};

/* Characters of given names, each with a character that sounds the same: the misspelling a
 * payer makes when writing the name in a bank remark. */
typedef struct homophone {
    const char *c, *alt;
} homophone;

static const homophone given_m[] = {
    {"伟", "玮"}, {"强", "蔷"}, {"军", "君"}, {"磊", "垒"}, {"勇", "永"}, {"杰", "洁"},
    {"涛", "滔"}, {"明", "铭"}, {"超", "潮"}, {"刚", "钢"}, {"辉", "晖"}, {"鹏", "朋"},
    {"华", "桦"}, {"飞", "菲"}, {"鑫", "欣"}, {"波", "博"}, {"斌", "彬"}, {"宇", "雨"},
    {"浩", "皓"}, {"凯", "楷"}, {"健", "建"}, {"俊", "峻"}, {"帆", "凡"}, {"旭", "煦"},
    {"龙", "隆"}, {"峰", "锋"}, {"国", "果"}, {"志", "智"}, {"海", "亥"}, {"亮", "靓"},
    {"建", "健"}, {"新", "欣"}, {"红", "宏"}, {"卫", "伟"}, {"东", "冬"}, {"庆", "青"}};
static const homophone given_f[] = {
    {"芳", "方"}, {"娜", "纳"}, {"敏", "民"}, {"静", "靖"}, {"丽", "莉"}, {"艳", "燕"},
    {"娟", "鹃"}, {"霞", "夏"}, {"燕", "艳"}, {"玲", "铃"}, {"英", "瑛"}, {"秀", "绣"},
    {"兰", "岚"}, {"梅", "玫"}, {"琳", "林"}, {"婷", "亭"}, {"雪", "学"}, {"慧", "惠"},
    {"莉", "丽"}, {"倩", "茜"}, {"颖", "莹"}, {"洁", "杰"}, {"晶", "菁"}, {"萍", "平"},
    {"红", "虹"}, {"玉", "钰"}, {"丹", "单"}, {"佳", "家"}, {"欣", "馨"}, {"怡", "宜"}};

/* Trade names (字号) of companies: two characters, each with a homophone as above. */
static const homophone brand[] = {
    {"鑫", "新"}, {"源", "元"}, {"恒", "衡"}, {"达", "大"}, {"宏", "洪"}, {"远", "原"},
    {"金", "今"}, {"盛", "胜"}, {"华", "化"}, {"瑞", "锐"}, {"永", "勇"}, {"兴", "星"},
    {"天", "添"}, {"成", "诚"}, {"丰", "峰"}, {"祥", "翔"}, {"隆", "龙"}, {"泰", "太"},
    {"昌", "常"}, {"嘉", "佳"}, {"鼎", "顶"}, {"润", "闰"}, {"德", "得"}, {"信", "新"},
    {"安", "按"}, {"和", "合"}, {"通", "同"}, {"博", "搏"}, {"正", "政"}, {"伟", "威"}};

static const char *const company_prefix[] = {"洛阳", "洛阳市", "偃师市", "洛阳市偃师区", "河南"};
static const int company_prefix_w[] = {40, 15, 20, 15, 10};
static const char *const industry[] = {
    "商贸",     "建材",       "机械制造", "建筑工程", "物流",     "食品",
    "农业科技", "房地产开发", "汽车销售", "电子科技", "耐火材料", "三轮摩托车",
    "钢制家具", "针织",       "化工",     "餐饮管理", "装饰工程"};
static const char *const company_suffix[] = {"有限公司", "有限责任公司", "股份有限公司"};
static const int company_suffix_w[] = {80, 15, 5};
static const char *const shop_kind[] = {"五金店",     "建材经营部", "超市",   "农资门市部",
                                        "汽车修理厂", "饭店",       "家具店", "烟酒商行"};

/* Institutions that appear in many cases under one name and one credit code. */
static const char *const banks[] = {
    "中国农业银行股份有限公司偃师支行", "中国工商银行股份有限公司偃师支行",
    "中国建设银行股份有限公司偃师支行", "中国邮政储蓄银行股份有限公司偃师市支行",
    "河南偃师农村商业银行股份有限公司", "洛阳银行股份有限公司偃师支行",
    "中原银行股份有限公司洛阳偃师支行"};
static const char *const insurers[] = {
    "中国人民财产保险股份有限公司偃师支公司", "中国平安财产保险股份有限公司洛阳中心支公司",
    "中华联合财产保险股份有限公司洛阳中心支公司", "中国太平洋财产保险股份有限公司洛阳中心支公司"};

/* Where people were first registered (the region code of their identity number). */
static const char *const regions[] = {"410381", "410307", "410302", "410303", "410305", "410311",
                                      "410322", "410323", "410327", "410329", "410181", "410184"};
static const int region_w[] = {70, 4, 3, 3, 3, 4, 3, 2, 2, 2, 2, 2};

static const char *const mobile_prefix[] = {"130", "131", "132", "133", "135", "136", "137", "138",
                                            "139", "150", "151", "152", "153", "155", "156", "157",
                                            "158", "159", "166", "177", "180", "181", "182", "183",
                                            "185", "186", "187", "188", "189", "199"};

/* 偃师区's subdistricts and towns, villages and streets (the villages are illustrative). */
static const char *const towns[] = {"商城街道", "伊洛街道", "工业区街道", "首阳山街道", "槐新街道",
                                    "山化镇",   "邙岭镇",   "府店镇",     "高龙镇",     "缑氏镇",
                                    "大口镇",   "李村镇",   "庞村镇",     "寇店镇",     "岳滩镇",
                                    "顾县镇",   "翟镇镇",   "佃庄镇"};
static const char *const villages[] = {"二里头村", "南蔡庄村", "营防口村", "王窑村", "东寨村",
                                       "西寨村",   "前李村",   "后李村",   "槐庙村", "杨庄村",
                                       "刘窑村",   "马屯村",   "张村",     "岗上村", "沟口头村",
                                       "寨后村",   "西石桥村", "北窑村"};
static const char *const streets[] = {"杜甫大道", "伊洛路", "华夏路", "槐庙路", "商都路",
                                      "太学路",   "夏都路", "迎宾路", "首阳路", "洛神路",
                                      "开元大道", "工业路", "文化路", "新华路"};
static const char *const estates[] = {"建业森林半岛", "阳光花园", "锦绣华庭", "盛世名门",
                                      "滨河小区",     "华夏苑",   "商城家园", "伊洛春天",
                                      "杜甫故里小区", "东方明珠", "和谐家园"};

/* Causes of action with the kind of claim and of parties they bring, and the median claim. */
typedef enum { P_PERSON, P_COMPANY, P_MIXED, P_BANK, P_SHOP, P_PROPERTY_MGMT } pkind;

typedef struct cause {
    const char *name;
    int weight;
    const char *claim; /* "money", "act" or "property" */
    pkind applicant, respondent;
    double median; /* yuan, for money claims */
    int insurer;   /* an insurance company is a further respondent */
} cause;

static const cause causes[] = {
    {"民间借贷纠纷", 300, "money", P_PERSON, P_PERSON, 60000, 0},
    {"买卖合同纠纷", 170, "money", P_MIXED, P_MIXED, 90000, 0},
    {"金融借款合同纠纷", 90, "money", P_BANK, P_PERSON, 150000, 0},
    {"信用卡纠纷", 40, "money", P_BANK, P_PERSON, 25000, 0},
    {"追索劳动报酬纠纷", 60, "money", P_PERSON, P_COMPANY, 20000, 0},
    {"劳务合同纠纷", 50, "money", P_PERSON, P_MIXED, 25000, 0},
    {"机动车交通事故责任纠纷", 60, "money", P_PERSON, P_PERSON, 60000, 1},
    {"房屋租赁合同纠纷", 35, "money", P_MIXED, P_MIXED, 30000, 0},
    {"建设工程施工合同纠纷", 40, "money", P_COMPANY, P_COMPANY, 300000, 0},
    {"物业服务合同纠纷", 30, "money", P_PROPERTY_MGMT, P_PERSON, 8000, 0},
    {"离婚后财产纠纷", 15, "money", P_PERSON, P_PERSON, 80000, 0},
    {"抚养费纠纷", 10, "money", P_PERSON, P_PERSON, 15000, 0},
    {"排除妨害纠纷", 15, "act", P_PERSON, P_PERSON, 0, 0},
    {"相邻关系纠纷", 10, "act", P_PERSON, P_PERSON, 0, 0},
    {"房屋租赁合同纠纷", 10, "act", P_MIXED, P_SHOP, 0, 0},
    {"返还原物纠纷", 20, "property", P_PERSON, P_MIXED, 0, 0},
    {"所有权确认纠纷", 10, "property", P_PERSON, P_PERSON, 0, 0},
};

/* Non-litigation enforcement: an agency's administrative decision (行政决定). */
typedef struct agency_cause {
    const char *agency, *cause, *claim;
    double median;
} agency_cause;

static const agency_cause agency_causes[] = {
    {"洛阳市偃师区市场监督管理局", "行政处罚（非诉执行）", "money", 20000},
    {"洛阳市偃师区自然资源局", "自然资源行政管理（非诉执行）", "act", 0},
    {"洛阳市偃师区自然资源局", "自然资源行政管理（非诉执行）", "money", 50000},
    {"洛阳市生态环境局偃师分局", "环境保护行政管理（非诉执行）", "money", 60000},
    {"洛阳市偃师区人力资源和社会保障局", "劳动和社会保障行政管理（非诉执行）", "money", 30000},
    {"洛阳市偃师区应急管理局", "安全生产行政管理（非诉执行）", "money", 20000},
};

static const char *const withdraw_reasons[] = {
    "双方已达成和解协议，申请执行人申请撤回执行申请", "被执行人已自动履行完毕，申请执行人申请撤回",
    "申请执行人自愿撤回执行申请", "双方庭外和解，申请执行人撤回申请"};

static const char *const case_types[] = {"执", "执恢", "执保"};

/* ---- Check characters ------------------------------------------------------------------- */

/* ISO 7064 MOD 11-2 over the first 17 digits of a resident identity number. */
static char id_check_digit(const char *d17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (d17[i] - '0') * w[i];
    return "10X98765432"[sum % 11];
}

/* The 31 characters of unified social credit codes (no I, O, Z, S, V). */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c)
{
    const char *p = strchr(uscc_chars, c);
    return p ? (int)(p - uscc_chars) : 0;
}

/* GB 32100-2015: the 18th character from the first 17 (weights 3^i mod 31). */
static char uscc_check(const char *c17)
{
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0, v;
    for (int i = 0; i < 17; i++)
        sum += uscc_value(c17[i]) * w[i];
    v = 31 - sum % 31;
    return uscc_chars[v == 31 ? 0 : v];
}

/* GB 11714-1997: the check character of the 8-character organisation code body. */
static char orgcode_check(const char *b8)
{
    static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0, v;
    for (int i = 0; i < 8; i++)
        sum += (b8[i] >= 'A' ? b8[i] - 'A' + 10 : b8[i] - '0') * w[i];
    v = 11 - sum % 11;
    return v == 10 ? 'X' : v == 11 ? '0' : (char)('0' + v);
}

/* ---- Parties ---------------------------------------------------------------------------- */

typedef struct gen {
    const cf_feedgen_opts *o;
    int utc;              /* the calendar's offset, minutes */
    char court_name[128]; /* of the court itself */
    char mid_code[16];    /* the intermediate court's code: 豫03 */
    char mid_name[128];
} gen;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return h;
}

static void mobile(rng *r, char *buf, size_t n)
{
    const char *prefix = PICK(r, mobile_prefix);
    long rest = rng_range(r, 0, 99999999);
    snprintf(buf, n, "%s%08ld", prefix, rest);
}

/* Arguments are drawn one statement at a time: C leaves the order of evaluation of a call's
 * arguments open, and the output must not depend on the compiler. */
static void address(rng *r, char *buf, size_t n, int urban)
{
    if (urban) {
        const char *street = PICK(r, streets), *estate;
        long no = rng_range(r, 1, 399), bldg, unit, floor, room;
        estate = PICK(r, estates);
        bldg = rng_range(r, 1, 28);
        unit = rng_range(r, 1, 4);
        floor = rng_range(r, 1, 18);
        room = rng_range(r, 1, 4);
        snprintf(buf, n, "河南省洛阳市偃师区%s%ld号%s%ld号楼%ld单元%ld%02ld室", street, no, estate,
                 bldg, unit, floor, room);
    } else {
        const char *town = PICK(r, towns), *village = PICK(r, villages);
        long group = rng_range(r, 1, 12), no = rng_range(r, 1, 160);
        snprintf(buf, n, "河南省洛阳市偃师区%s%s%ld组%ld号", town, village, group, no);
    }
}

static json_t *party(const char *kind, const char *name, const char *id, const char *phone,
                     const char *addr)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", kind, "name", name, "id_number", id,
                     "phone", phone, "address", addr);
}

/* A person's name as indices into the tables, so that it can be written with one character
 * replaced by its homophone. */
typedef struct person_name {
    size_t sur, g[2];
    int ng, female;
} person_name;

static void draw_name(rng *r, person_name *p)
{
    p->female = (int)rng_below(r, 2);
    p->sur = rng_weighted(r, surname_w, COUNT(surname_w));
    p->ng = rng_chance(r, 0.35) ? 1 : 2;
    for (int i = 0; i < 2; i++)
        p->g[i] = rng_below(r, p->female ? COUNT(given_f) : COUNT(given_m));
}

/* Writes the name; `swap` is the given name's character to misspell (0 or 1), -1 for none. */
static void name_text(const person_name *p, int swap, char *buf, size_t n)
{
    const homophone *t = p->female ? given_f : given_m;
    snprintf(buf, n, "%s%s%s", surnames[p->sur], swap == 0 ? t[p->g[0]].alt : t[p->g[0]].c,
             p->ng < 2   ? ""
             : swap == 1 ? t[p->g[1]].alt
                         : t[p->g[1]].c);
}

/* A person aged 22-75 on `today`, with a valid identity number. */
static json_t *person(rng *r, cf_date today)
{
    person_name p;
    char name[64], id[64], phone[40], addr[256];
    int y, m, d, age = (int)rng_range(r, 22, 75);
    const char *region;
    long seq;

    draw_name(r, &p);
    name_text(&p, -1, name, sizeof name);
    cf_date_to_ymd(today, &y, NULL, NULL);
    y -= age;
    m = (int)rng_range(r, 1, 12);
    d = (int)rng_range(r, 1, cf_date_days_in_month(y, m));
    /* The sequence code is odd for men and even for women. */
    seq = 2 * rng_range(r, 0, 498) + (p.female ? 2 : 1);
    region = regions[rng_weighted(r, region_w, COUNT(region_w))];
    snprintf(id, sizeof id, "%s%04d%02d%02d%03ld", region, y, m, d, seq);
    id[17] = id_check_digit(id);
    id[18] = '\0';
    mobile(r, phone, sizeof phone);
    address(r, addr, sizeof addr, rng_chance(r, 0.45));
    return party("person", name, id, phone, addr);
}

/*
 * An organisation whose code, phone and address follow from its name, so that the same name is
 * always the same organisation.  `reg_type` is the first two characters of the code: "91" a
 * company, "92" an individual business, "11" an agency.
 */
static json_t *organisation(const char *name, const char *reg_type)
{
    static const char *const org_regions[] = {"410381", "410307", "410300"};
    int market = strcmp(reg_type, "91") == 0 || strcmp(reg_type, "92") == 0;
    char code[64], body[9], phone[40], addr[256];
    const char *region, *street;
    long no;
    rng r;

    rng_seed(&r, fnv1a(name), S_NAME, 0);
    /* Codes given since 2015 by market regulation start the organisation part with MA. */
    if (market && rng_chance(&r, 0.7)) {
        body[0] = 'M';
        body[1] = 'A';
        for (int i = 2; i < 8; i++)
            body[i] = uscc_chars[rng_below(&r, i < 4 ? 10 : 31)];
    } else {
        for (int i = 0; i < 8; i++)
            body[i] = (char)('0' + rng_below(&r, 10));
    }
    body[8] = '\0';
    region = strcmp(reg_type, "91") == 0 ? PICK(&r, org_regions) : org_regions[0];
    snprintf(code, sizeof code, "%s%s%s%c", reg_type, region, body, orgcode_check(body));
    code[17] = uscc_check(code);
    code[18] = '\0';
    if (strcmp(reg_type, "92") == 0)
        mobile(&r, phone, sizeof phone);
    else
        snprintf(phone, sizeof phone, "0379-6%07ld", rng_range(&r, 0, 9999999));
    street = PICK(&r, streets);
    no = rng_range(&r, 1, 399);
    snprintf(addr, sizeof addr, "河南省洛阳市偃师区%s%ld号", street, no);
    return party("company", name, code, phone, addr);
}

/* A company's name as indices, so that its trade name can be misspelt as a person's. */
typedef struct company_parts {
    size_t prefix, b[2], industry, suffix;
} company_parts;

static void draw_company(rng *r, company_parts *c)
{
    c->prefix = rng_weighted(r, company_prefix_w, COUNT(company_prefix_w));
    c->b[0] = rng_below(r, COUNT(brand));
    c->b[1] = rng_below(r, COUNT(brand) - 1);
    if (c->b[1] >= c->b[0])
        c->b[1]++;
    c->industry = rng_below(r, COUNT(industry));
    c->suffix = rng_weighted(r, company_suffix_w, COUNT(company_suffix_w));
}

static void company_text(const company_parts *c, int swap, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s", company_prefix[c->prefix],
             swap == 0 ? brand[c->b[0]].alt : brand[c->b[0]].c,
             swap == 1 ? brand[c->b[1]].alt : brand[c->b[1]].c, industry[c->industry],
             company_suffix[c->suffix]);
}

static json_t *company(rng *r)
{
    company_parts c;
    char name[256];
    draw_company(r, &c);
    company_text(&c, -1, name, sizeof name);
    return organisation(name, "91");
}

/* An individual business (个体工商户), registered in the district. */
static json_t *shop(rng *r)
{
    company_parts c;
    char name[256];
    const char *kind;
    draw_company(r, &c);
    kind = PICK(r, shop_kind);
    snprintf(name, sizeof name, "洛阳市偃师区%s%s%s", brand[c.b[0]].c, brand[c.b[1]].c, kind);
    return organisation(name, "92");
}

static json_t *property_manager(rng *r)
{
    company_parts c;
    char name[256];
    draw_company(r, &c);
    snprintf(name, sizeof name, "洛阳%s%s物业服务有限公司", brand[c.b[0]].c, brand[c.b[1]].c);
    return organisation(name, "91");
}

static json_t *one_party(rng *r, pkind k, cf_date today)
{
    switch (k) {
    case P_PERSON: return person(r, today);
    case P_COMPANY: return company(r);
    case P_MIXED: return rng_chance(r, 0.5) ? person(r, today) : company(r);
    case P_BANK: return organisation(PICK(r, banks), "91");
    case P_SHOP: return shop(r);
    case P_PROPERTY_MGMT: return property_manager(r);
    }
    return NULL;
}

/* Appends `v` (a new reference, possibly NULL after a failed allocation) to `a`; 0 or
 * CF_ENOMEM. */
static int append(json_t *a, json_t *v)
{
    return v && json_array_append_new(a, v) == 0 ? 0 : CF_ENOMEM;
}

/* ---- Cases ------------------------------------------------------------------------------ */

enum { T_ZHI, T_HUI, T_BAO };
enum { SP_NONE, SP_RELATED, SP_COMPLEX, SP_TERMINATE };
enum { EV_FILED, EV_CORRECTED, EV_WITHDRAWN, EV_PAYMENT };

typedef struct gcase {
    cf_time filed, corrected, withdrawn; /* 0: no such event */
    long seq;                            /* sequence number within year and type */
    long root;                           /* whose respondents this case shares (itself) */
    long related_to;                     /* the earlier case it is related to, -1 none */
    int year;
    unsigned char type, special, non_litigation, incomplete, cause;
} gcase;

typedef struct gpay {
    cf_time paid;
    long seq; /* within the year of payment */
    int year;
} gpay;

typedef struct stub {
    cf_time t;
    int kind;
    long idx;
} stub;

static int cmp_stub(const void *a, const void *b)
{
    const stub *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The sequence number of a court document issued on `issued`, as courts number them through the
 * year: at most `per_year` by the year's end, and fewer the earlier in the year it was issued.
 */
static long doc_seq(rng *r, cf_date issued, long per_year)
{
    int y;
    long doy, top;
    cf_date_to_ymd(issued, &y, NULL, NULL);
    doy = issued - cf_date_from_ymd(y, 1, 1) + 1;
    top = per_year * doy / 366;
    return rng_range(r, 1, top < 1 ? 1 : top);
}

static void format_caseno(const gen *G, const gcase *c, char *buf, size_t n)
{
    snprintf(buf, n, "(%d)%s%s%ld号", c->year, G->o->court, case_types[c->type], c->seq);
}

/* A moment during office hours (08:30-12:00, 14:00-17:30) of day d. */
static cf_time office_time(const gen *G, rng *r, cf_date d)
{
    long s = rng_range(r, 0, 2 * 210 * 60 - 1);
    int start = s < 210 * 60 ? 8 * 60 + 30 : 14 * 60;
    return cf_time_at(d, start, G->utc) + (s % (210 * 60)) * 1000;
}

/* The respondents of case k as its filing lists them when complete. */
static json_t *respondents(const gen *G, const gcase *cases, long k)
{
    const gcase *c = &cases[cases[k].root];
    cf_date day = cf_time_date(c->filed, G->utc);
    json_t *a = json_array();
    rng r;
    long n;

    if (!a)
        return NULL;
    rng_seed(&r, G->o->seed, S_PARTIES, (uint64_t)cases[k].root);
    if (c->non_litigation) {
        if (append(a, rng_chance(&r, 0.6) ? company(&r) : person(&r, day)) != 0)
            goto fail;
        return a;
    }
    n = rng_chance(&r, 0.75) ? 1 : rng_chance(&r, 0.8) ? 2 : 3;
    if (c->special == SP_COMPLEX && n < 3)
        n = 3;
    if (append(a, one_party(&r, causes[c->cause].respondent, day)) != 0)
        goto fail;
    if (causes[c->cause].insurer && append(a, organisation(PICK(&r, insurers), "91")) != 0)
        goto fail;
    /* Further respondents are guarantors and co-debtors: people. */
    for (long i = 1; i < n; i++)
        if (append(a, person(&r, day)) != 0)
            goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

static json_t *applicants(const gen *G, rng *r, const gcase *c)
{
    cf_date day = cf_time_date(c->filed, G->utc);
    json_t *a = json_array();
    pkind k;

    if (!a)
        return NULL;
    if (c->non_litigation) {
        const char *agency = agency_causes[c->cause].agency;
        if (append(a, organisation(agency, "11")) != 0)
            goto fail;
        return a;
    }
    k = causes[c->cause].applicant;
    if (append(a, one_party(r, k, day)) != 0)
        goto fail;
    if (k == P_PERSON && rng_chance(r, 0.08) && append(a, person(r, day)) != 0)
        goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

static json_t *money(long cents)
{
    return cents % 100 == 0 ? json_integer(cents / 100) : json_real((double)cents / 100.0);
}

static json_t *time_string(const gen *G, cf_time t)
{
    char buf[CF_TIME_BUFSZ];
    cf_time_format(t, G->utc, buf, sizeof buf);
    return json_string(buf);
}

static json_t *date_string(cf_date d)
{
    char buf[CF_DATE_BUFSZ];
    cf_date_format(d, buf, sizeof buf);
    return json_string(buf);
}

/* The envelope around `data` (stolen). */
static json_t *envelope(const gen *G, long n, const char *type, const char *key, cf_time t,
                        const char *source, json_t *data)
{
    char id[64];
    snprintf(id, sizeof id, "gen-%" PRIu64 "-%06ld", G->o->seed, n);
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "id", id, "type", type, "case", key, "time",
                     time_string(G, t), "source", source, "data", data);
}

/*
 * The applicant's account that a money claim's payout goes to (一案一账户), in the first
 * applicant's name: a bank of the town and a 19-digit account number.  Drawn from a stream of
 * its own, so that the rest of the filing is what it was before accounts were recorded.
 */
static json_t *payee_account(const gen *G, long k, const json_t *applicant)
{
    char account[24];
    rng r;

    rng_seed(&r, G->o->seed, S_PAYEE, (uint64_t)k);
    snprintf(account, sizeof account, "62%02ld%015lld", rng_range(&r, 10, 99),
             (long long)rng_range(&r, 0, 999999999L) * 1000000LL + rng_range(&r, 0, 999999));
    return json_pack("{s:O, s:s, s:s}", "name", json_object_get(applicant, "name"), "bank",
                     PICK(&r, banks), "account", account);
}

static json_t *filed_event(const gen *G, const gcase *cases, long k, long n)
{
    const gcase *c = &cases[k];
    cf_date day = cf_time_date(c->filed, G->utc);
    char caseno[96], docno[96], other[96];
    const char *claim, *cause_name, *basis_court = G->court_name;
    json_t *data = NULL, *resp = NULL, *app = NULL, *basis, *ev;
    double median;
    long cents = 0;
    int y, preservation;
    cf_date effective;
    rng r;

    rng_seed(&r, G->o->seed, S_CONTENT, (uint64_t)k);
    format_caseno(G, c, caseno, sizeof caseno);
    cf_date_to_ymd(day, &y, NULL, NULL);
    if (c->non_litigation) {
        claim = agency_causes[c->cause].claim;
        cause_name = agency_causes[c->cause].cause;
        median = agency_causes[c->cause].median;
        effective = day - (cf_date)rng_range(&r, 20, 120);
        cf_date_to_ymd(effective, &y, NULL, NULL);
        snprintf(docno, sizeof docno, "(%d)%s行审%ld号", y, G->o->court,
                 doc_seq(&r, effective, 300));
    } else {
        claim = causes[c->cause].claim;
        cause_name = causes[c->cause].name;
        median = causes[c->cause].median;
        if (c->type == T_BAO) {
            /* Preservation before or during a suit: a ruling days old. */
            effective = day - (cf_date)rng_range(&r, 0, 10);
            cf_date_to_ymd(effective, &y, NULL, NULL);
            if (rng_chance(&r, 0.5)) {
                cause_name = "申请诉前财产保全";
                snprintf(docno, sizeof docno, "(%d)%s财保%ld号", y, G->o->court,
                         doc_seq(&r, effective, 1000));
            } else {
                snprintf(docno, sizeof docno, "(%d)%s民初%ld号", y, G->o->court,
                         doc_seq(&r, effective, 9999));
            }
        } else {
            effective = day - (cf_date)(c->type == T_HUI ? rng_range(&r, 700, 2200)
                                                         : rng_range(&r, 20, 540));
            cf_date_to_ymd(effective, &y, NULL, NULL);
            if (rng_chance(&r, 0.8)) {
                snprintf(docno, sizeof docno, "(%d)%s民初%ld号", y, G->o->court,
                         doc_seq(&r, effective, 9999));
            } else {
                snprintf(docno, sizeof docno, "(%d)%s民终%ld号", y, G->mid_code,
                         doc_seq(&r, effective, 6999));
                basis_court = G->mid_name;
            }
        }
    }
    if (strcmp(claim, "money") == 0) {
        cents = lognormal_cents(&r, median, 1.1, 5000, 2000000);
        if (c->special == SP_COMPLEX) {
            cents *= 3;
            if (cents > 200000000)
                cents = 200000000;
        }
    }
    basis = json_pack("{s:s, s:s, s:o}", "document_no", docno, "court_name", basis_court,
                      "effective_date", date_string(effective));
    app = applicants(G, &r, c);
    resp = respondents(G, cases, k);
    if (!basis || !app || !resp)
        goto fail;
    if (c->incomplete) {
        /* What the intake check catches: no delivery address (and no phone) for a respondent. */
        json_t *first = json_array_get(resp, 0);
        json_object_del(first, "address");
        if (c->incomplete == 2)
            json_object_del(first, "phone");
    }
    /* Property is preserved (财产保全) for money claims: in a 执保 case always, else sometimes. */
    preservation = c->type == T_BAO || (cents > 0 && rng_chance(&r, 0.12));
    data = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:b, s:b}", "court",
                     G->o->court, "case_type", case_types[c->type], "filed_at",
                     time_string(G, c->filed), "cause", cause_name, "basis", basis, "applicants",
                     app, "respondents", resp, "amount", money(cents), "claim_kind", claim,
                     "preservation", preservation, "non_litigation", c->non_litigation);
    basis = app = resp = NULL;
    if (!data)
        goto fail;
    if (cents > 0 &&
        json_object_set_new(
            data, "payee_account",
            payee_account(G, k, json_array_get(json_object_get(data, "applicants"), 0))) != 0)
        goto fail;
    if (c->special == SP_RELATED) {
        json_t *rel = json_array();
        if (c->related_to >= 0)
            format_caseno(G, &cases[c->related_to], other, sizeof other);
        else
            snprintf(other, sizeof other, "(%d)%s执%ld号", c->year - 1, G->o->court,
                     rng_range(&r, 1, 2999));
        if (!rel || json_object_set_new(data, "related_cases", rel) != 0 ||
            append(rel, json_string(other)) != 0)
            goto fail;
    }
    if (c->type == T_HUI) {
        /* A restored case (执恢) names the enforcement case it restores, filed some two months
         * after its basis took effect (and before this year); without it the intake check sends
         * the case to correction, which the filing office would never answer. */
        int oy;
        cf_date_to_ymd(effective + 60, &oy, NULL, NULL);
        if (oy >= c->year)
            oy = c->year - 1;
        snprintf(other, sizeof other, "(%d)%s执%ld号", oy, G->o->court,
                 1 + (c->seq * 7919 + k) % 2999);
        if (json_object_set_new(data, "original_case", json_string(other)) != 0)
            goto fail;
    }
    if (c->special != SP_NONE) {
        static const char *const names[] = {"", "related", "complex", "terminate_candidate"};
        if (json_object_set_new(data, "special", json_string(names[c->special])) != 0)
            goto fail;
    }
    ev = envelope(G, n, "case.filed", caseno, c->filed, "filing", data);
    return ev;
fail:
    json_decref(basis);
    json_decref(app);
    json_decref(resp);
    json_decref(data);
    return NULL;
}

static json_t *corrected_event(const gen *G, const gcase *cases, long k, long n)
{
    char caseno[96];
    json_t *resp = respondents(G, cases, k);

    if (!resp)
        return NULL;
    format_caseno(G, &cases[k], caseno, sizeof caseno);
    return envelope(G, n, "case.corrected", caseno, cases[k].corrected, "filing",
                    json_pack("{s:{s:o}, s:s}", "fields", "respondents", resp, "note",
                              cases[k].incomplete == 2 ? "补正被执行人送达地址及联系电话"
                                                       : "补正被执行人送达地址"));
}

static json_t *withdrawn_event(const gen *G, const gcase *cases, long k, long n)
{
    char caseno[96];
    rng r;

    rng_seed(&r, G->o->seed, S_CONTENT, (uint64_t)k);
    rng_next(&r);
    format_caseno(G, &cases[k], caseno, sizeof caseno);
    return envelope(G, n, "case.withdrawn", caseno, cases[k].withdrawn, "filing",
                    json_pack("{s:s, s:o}", "reason", PICK(&r, withdraw_reasons), "withdrawn_at",
                              time_string(G, cases[k].withdrawn)));
}

/* Replaces the ASCII parentheses of a case number by full-width ones, or drops its 号. */
static void misspell_caseno(char *s, size_t n, int how)
{
    char tmp[128];
    const char *close = strchr(s, ')');
    if (how == 0 && s[0] == '(' && close) {
        snprintf(tmp, sizeof tmp, "（%.*s）%s", (int)(close - s - 1), s + 1, close + 1);
        snprintf(s, n, "%s", tmp);
    } else if (how == 1) {
        size_t len = strlen(s), h = strlen("号");
        if (len > h && strcmp(s + len - h, "号") == 0)
            s[len - h] = '\0';
    }
}

/*
 * Half of the voluntary payments are for an enforcement case already filed (a money claim, not
 * withdrawn): its respondent pays after the notice and writes the case number in one of the ways
 * people write it (full-width brackets, no 号, no court code, the type and sequence only) or only
 * a name, which the payments worker matches or leaves to the clerk.  Writes the remark and the
 * payer and returns 1, or returns 0 for a payment tied to no case.
 */
static int payment_for_case(const gen *G, const gcase *cases, const gpay *p, long j, char *remark,
                            size_t rn, char *payer, size_t pn)
{
    rng r;

    rng_seed(&r, G->o->seed, S_PAYCASE, (uint64_t)j);
    if (!rng_chance(&r, 0.5))
        return 0;
    for (int tries = 0; tries < 20; tries++) {
        const gcase *c = &cases[rng_below(&r, (uint64_t)G->o->cases)];
        json_t *resp;
        const char *name;
        char no[128];
        if (c->filed + 24LL * 3600 * 1000 > p->paid || c->withdrawn || c->non_litigation ||
            c->type == T_BAO || strcmp(causes[c->cause].claim, "money") != 0)
            continue;
        if (!(resp = respondents(G, cases, c - cases)))
            return 0;
        name = json_string_value(json_object_get(json_array_get(resp, 0), "name"));
        format_caseno(G, c, no, sizeof no);
        switch (rng_below(&r, 6)) {
        case 0: snprintf(remark, rn, "%s %s还款", no, name); break;
        case 1:
            misspell_caseno(no, sizeof no, 0);
            snprintf(remark, rn, "%s%s履行款", no, name);
            break;
        case 2:
            misspell_caseno(no, sizeof no, 1);
            snprintf(remark, rn, "%s %s", name, no);
            break;
        case 3:
            snprintf(remark, rn, "(%d)%s%ld号 %s 案款", c->year, case_types[c->type], c->seq, name);
            break;
        case 4: snprintf(remark, rn, "%s%ld号 案款", case_types[c->type], c->seq); break;
        default: snprintf(remark, rn, "还款 %s", name); break;
        }
        snprintf(payer, pn, "%s", name);
        json_decref(resp);
        return 1;
    }
    return 0;
}

/* A payment for a judgment whose enforcement case is not filed yet: its number and the payer's
 * name in the remark, sometimes misspelt.  Writes the remark and the payer. */
static void judgment_remark(const gen *G, rng *r, cf_date day, char *remark, size_t rn, char *name,
                            size_t nn)
{
    enum { RIGHT, WRONG_NAME, FULL_WIDTH, NO_HAO };
    char caseno[128], shown[256];
    const char *court = G->o->court;
    int y, how = RIGHT, swap = -1;
    cf_date issued;
    long docseq;

    /* The judgment the payer performs, of this court or of the intermediate court, given some
     * weeks to a year and a half before the payment. */
    if (rng_chance(r, 0.2))
        court = G->mid_code;
    issued = day - (cf_date)rng_range(r, 20, 540);
    docseq = doc_seq(r, issued, court == G->mid_code ? 6999 : 9999);
    cf_date_to_ymd(issued, &y, NULL, NULL);
    snprintf(caseno, sizeof caseno, "(%d)%s%s%ld号", y, court,
             court == G->mid_code ? "民终" : "民初", docseq);
    /* Half of the misspelt remarks have a wrong character in the name, the others a case number
     * with full-width parentheses or without 号. */
    if (rng_chance(r, G->o->share_misspelt))
        how = rng_chance(r, 0.5) ? WRONG_NAME : rng_chance(r, 0.5) ? FULL_WIDTH : NO_HAO;
    if (rng_chance(r, 0.65)) {
        person_name pn;
        draw_name(r, &pn);
        if (how == WRONG_NAME)
            swap = pn.ng == 2 ? (int)rng_below(r, 2) : 0;
        name_text(&pn, -1, name, nn);
        name_text(&pn, swap, shown, sizeof shown);
    } else {
        company_parts c;
        draw_company(r, &c);
        if (how == WRONG_NAME)
            swap = (int)rng_below(r, 2);
        company_text(&c, -1, name, nn);
        company_text(&c, swap, shown, sizeof shown);
    }
    if (how == FULL_WIDTH || how == NO_HAO)
        misspell_caseno(caseno, sizeof caseno, how == FULL_WIDTH ? 0 : 1);
    /* How people write remarks varies; the formats stay literal for the compiler's checks. */
    switch (rng_below(r, 5)) {
    case 0: snprintf(remark, rn, "%s%s履行款", caseno, shown); break;
    case 1: snprintf(remark, rn, "%s %s 还款", caseno, shown); break;
    case 2: snprintf(remark, rn, "%s还%s案款", shown, caseno); break;
    case 3: snprintf(remark, rn, "%s %s 自动履行", shown, caseno); break;
    default: snprintf(remark, rn, "履行%s判决款%s", caseno, shown); break;
    }
}

static json_t *payment_event(const gen *G, const gcase *cases, const gpay *p, long j, long n)
{
    char key[64], txid[64], name[256], remark[512];
    cf_date day = cf_time_date(p->paid, G->utc);
    int y, m, d;
    rng r;
    json_t *amount;

    rng_seed(&r, G->o->seed, S_PAYMENT, (uint64_t)j);
    cf_date_to_ymd(day, &y, &m, &d);
    snprintf(key, sizeof key, "PAY-%d-%06ld", p->year, p->seq);
    snprintf(txid, sizeof txid, "TX%04d%02d%02d%06ld", y, m, d, j + 1);
    if (!payment_for_case(G, cases, p, j, remark, sizeof remark, name, sizeof name))
        judgment_remark(G, &r, day, remark, sizeof remark, name, sizeof name);
    amount = money(lognormal_cents(&r, 20000, 1.0, 500, 500000));
    return envelope(G, n, "payment.received", key, p->paid, "bank",
                    json_pack("{s:s, s:o, s:o, s:s, s:s}", "payment_id", txid, "amount", amount,
                              "paid_at", time_string(G, p->paid), "payer_name", name, "remark",
                              remark));
}

/* ---- The run ---------------------------------------------------------------------------- */

void cf_feedgen_defaults(cf_feedgen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cases = 2000;
    o->seed = 1;
    o->start = cf_date_from_ymd(2026, 3, 2);
    o->days = 30;
    o->court = "豫0381";
    o->share_resumed = 0.06;
    o->share_preservation = 0.04;
    o->share_related = 0.05;
    o->share_complex = 0.02;
    o->share_terminate = 0.03;
    o->share_non_litigation = 0.03;
    o->share_corrected = 0.06;
    o->share_withdrawn = 0.04;
    o->share_payments = 0.03;
    o->share_misspelt = 0.3;
}

/* Returns 1 when `court` is a province abbreviation followed by four digits. */
static int court_ok(const char *court)
{
    static const char provinces[] =
        "京津冀晋内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔云藏陕甘青宁新兵";
    if (strlen(court) != 7)
        return 0;
    for (size_t i = 0; i + 3 <= sizeof provinces - 1; i += 3)
        if (memcmp(provinces + i, court, 3) == 0) {
            for (int k = 3; k < 7; k++)
                if (court[k] < '0' || court[k] > '9')
                    return 0;
            return 1;
        }
    return 0;
}

static int check_opts(const cf_feedgen_opts *o, char *err, size_t errsz)
{
    const double *shares[] = {&o->share_resumed,   &o->share_preservation, &o->share_related,
                              &o->share_complex,   &o->share_terminate,    &o->share_non_litigation,
                              &o->share_corrected, &o->share_withdrawn,    &o->share_payments,
                              &o->share_misspelt};
    if (o->cases < 1 || o->cases > CF_FEEDGEN_MAX_CASES)
        return cf_errf(err, errsz, CF_EINVAL, "the number of cases must be 1 to %ld, not %ld",
                       CF_FEEDGEN_MAX_CASES, o->cases);
    if (o->days < 1 || o->days > CF_FEEDGEN_MAX_DAYS)
        return cf_errf(err, errsz, CF_EINVAL, "the number of days must be 1 to %d, not %d",
                       CF_FEEDGEN_MAX_DAYS, o->days);
    if (!o->court || !court_ok(o->court))
        return cf_errf(err, errsz, CF_EINVAL,
                       "court code '%s' must be a province abbreviation and 4 digits, as 豫0381",
                       o->court ? o->court : "");
    for (size_t i = 0; i < COUNT(shares); i++)
        if (!(*shares[i] >= 0.0 && *shares[i] <= 1.0))
            return cf_errf(err, errsz, CF_EINVAL, "a share must be between 0 and 1");
    if (o->share_resumed + o->share_preservation > 1.0 ||
        o->share_related + o->share_complex + o->share_terminate > 1.0)
        return cf_errf(err, errsz, CF_EINVAL,
                       "the shares of case types or special cases add "
                       "up to more than 1");
    return 0;
}

static void court_names(gen *G)
{
    const char *c = G->o->court;
    if (strcmp(c, "豫0381") == 0 || strcmp(c, "豫0307") == 0)
        snprintf(G->court_name, sizeof G->court_name, "洛阳市偃师区人民法院");
    else
        snprintf(G->court_name, sizeof G->court_name, "本院");
    /* The intermediate court: the province and the first two digits. */
    snprintf(G->mid_code, sizeof G->mid_code, "%.5s", c);
    snprintf(G->mid_name, sizeof G->mid_name, "%s",
             strcmp(G->mid_code, "豫03") == 0 ? "河南省洛阳市中级人民法院" : "上级人民法院");
}

/* Pass 1: when each case is filed, weighted by weekday, in filing order. */
static int draw_filings(const gen *G, gcase *cases, char *err, size_t errsz)
{
    const cf_feedgen_opts *o = G->o;
    cf_date *days = malloc(sizeof *days * (size_t)o->days);
    int *w = malloc(sizeof *w * (size_t)o->days);
    stub *order = malloc(sizeof *order * (size_t)o->cases);
    size_t nd = 0;
    int rc = 0;
    rng r;

    if (!days || !w || !order) {
        rc = CF_ENOMEM;
        goto out;
    }
    for (int i = 0; i < o->days; i++) {
        cf_date d = o->start + i;
        int wd = cf_date_weekday(d);
        if (!cf_calendar_is_working_day(o->calendar, d))
            continue;
        days[nd] = d;
        w[nd++] = wd == 1 ? 12 : wd == 5 ? 9 : wd >= 6 ? 8 : 10;
    }
    if (nd == 0) {
        char from[CF_DATE_BUFSZ];
        cf_date_format(o->start, from, sizeof from);
        rc = cf_errf(err, errsz, CF_EINVAL, "the %d days from %s have no working day", o->days,
                     from);
        goto out;
    }
    rng_seed(&r, o->seed, S_FILING, 0);
    for (long i = 0; i < o->cases; i++) {
        cf_date d = days[rng_weighted(&r, w, nd)];
        order[i].t = office_time(G, &r, d);
        order[i].kind = EV_FILED;
        order[i].idx = i;
    }
    qsort(order, (size_t)o->cases, sizeof *order, cmp_stub);
    for (long k = 0; k < o->cases; k++)
        cases[k].filed = order[k].t;
out:
    free(days);
    free(w);
    free(order);
    return rc;
}

/* Pass 2: each case's kind, number and what follows its filing. */
static void draw_cases(const gen *G, gcase *cases)
{
    const cf_feedgen_opts *o = G->o;
    /* Sequence numbers per year and type; the period spans at most 11 years. */
    long next_seq[12][3];
    int first_year;
    int cause_w[COUNT(causes)], money_w[COUNT(causes)];

    for (size_t i = 0; i < COUNT(causes); i++) {
        cause_w[i] = causes[i].weight;
        money_w[i] = strcmp(causes[i].claim, "money") == 0 ? causes[i].weight : 0;
    }
    memset(next_seq, 0, sizeof next_seq);
    cf_date_to_ymd(o->start, &first_year, NULL, NULL);
    for (long k = 0; k < o->cases; k++) {
        gcase *c = &cases[k];
        cf_date day = cf_time_date(c->filed, G->utc);
        double u;
        rng r;

        rng_seed(&r, o->seed, S_CASE, (uint64_t)k);
        cf_date_to_ymd(day, &c->year, NULL, NULL);
        u = rng_unit(&r);
        c->type = u < o->share_resumed                           ? T_HUI
                  : u < o->share_resumed + o->share_preservation ? T_BAO
                                                                 : T_ZHI;
        c->non_litigation = c->type == T_ZHI && rng_chance(&r, o->share_non_litigation);
        if (c->non_litigation)
            c->cause = (unsigned char)rng_below(&r, COUNT(agency_causes));
        else
            c->cause = (unsigned char)rng_weighted(&r, c->type == T_BAO ? money_w : cause_w,
                                                   COUNT(causes));
        c->seq = ++next_seq[c->year - first_year][c->type];
        u = rng_unit(&r);
        c->special = u < o->share_related                                           ? SP_RELATED
                     : u < o->share_related + o->share_complex                      ? SP_COMPLEX
                     : u < o->share_related + o->share_complex + o->share_terminate ? SP_TERMINATE
                                                                                    : SP_NONE;
        c->root = k;
        c->related_to = -1;
        /* A related case (串案) shares its respondent with an earlier case of the feed. */
        if (c->special == SP_RELATED && k > 0 && rng_chance(&r, 0.7)) {
            c->related_to = rng_range(&r, 0, k - 1);
            c->root = cases[c->related_to].root;
        }
        if (rng_chance(&r, o->share_corrected)) {
            cf_date fix = cf_calendar_add_working_days(o->calendar, day, (int)rng_range(&r, 1, 5));
            c->incomplete = rng_chance(&r, 0.3) ? 2 : 1;
            c->corrected = office_time(G, &r, fix);
        }
        if (rng_chance(&r, o->share_withdrawn)) {
            cf_date from = c->corrected ? cf_time_date(c->corrected, G->utc) : day;
            cf_date when = cf_calendar_next_working_day(o->calendar, from + rng_range(&r, 7, 60));
            c->withdrawn = office_time(G, &r, when);
        }
    }
}

/* Pass 3: voluntary payments, numbered per year in the order they arrive. */
static int draw_payments(const gen *G, gpay **out, long *count)
{
    const cf_feedgen_opts *o = G->o;
    long n = 0, year_seq = 0;
    int year = 0;
    gpay *p;
    stub *order;
    rng r;

    rng_seed(&r, o->seed, S_PAYMENT, UINT64_MAX);
    for (long i = 0; i < o->cases; i++)
        n += rng_chance(&r, o->share_payments);
    *out = NULL;
    *count = n;
    if (n == 0)
        return 0;
    p = calloc((size_t)n, sizeof *p);
    order = calloc((size_t)n, sizeof *order);
    if (!p || !order) {
        free(p);
        free(order);
        return CF_ENOMEM;
    }
    for (long j = 0; j < n; j++) {
        /* Banks book transfers every day, fewer on rest days, mostly 07:00-23:00. */
        cf_date d;
        do
            d = o->start + (cf_date)rng_below(&r, (uint64_t)o->days);
        while (!cf_calendar_is_working_day(o->calendar, d) && !rng_chance(&r, 0.35));
        order[j].t = cf_time_at(d, 7 * 60, G->utc) + rng_range(&r, 0, 16 * 3600 - 1) * 1000;
        order[j].idx = j;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_stub);
    for (long j = 0; j < n; j++) {
        int y;
        cf_date_to_ymd(cf_time_date(order[j].t, G->utc), &y, NULL, NULL);
        if (y != year) {
            year = y;
            year_seq = 0;
        }
        p[j].paid = order[j].t;
        p[j].year = y;
        p[j].seq = ++year_seq;
    }
    free(order);
    *out = p;
    return 0;
}

int cf_feedgen_run(const cf_feedgen_opts *o, cf_feedgen_emit_fn emit, void *arg, char *err,
                   size_t errsz)
{
    gen G;
    gcase *cases = NULL;
    gpay *pays = NULL;
    stub *stubs = NULL;
    long npay = 0, ns = 0;
    int rc;

    if (!o || !emit)
        return cf_errf(err, errsz, CF_EINVAL, "no options or no emit function");
    if ((rc = check_opts(o, err, errsz)) != 0)
        return rc;
    memset(&G, 0, sizeof G);
    G.o = o;
    G.utc = cf_calendar_utc_offset(o->calendar);
    court_names(&G);

    cases = calloc((size_t)o->cases, sizeof *cases);
    if (!cases) {
        rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory for %ld cases", o->cases);
        goto out;
    }
    if ((rc = draw_filings(&G, cases, err, errsz)) != 0)
        goto out;
    draw_cases(&G, cases);
    if ((rc = draw_payments(&G, &pays, &npay)) != 0)
        goto out;

    stubs = malloc(sizeof *stubs * (size_t)(3 * o->cases + npay));
    if (!stubs) {
        rc = CF_ENOMEM;
        goto out;
    }
    for (long k = 0; k < o->cases; k++) {
        stubs[ns++] = (stub){cases[k].filed, EV_FILED, k};
        if (cases[k].corrected)
            stubs[ns++] = (stub){cases[k].corrected, EV_CORRECTED, k};
        if (cases[k].withdrawn)
            stubs[ns++] = (stub){cases[k].withdrawn, EV_WITHDRAWN, k};
    }
    for (long j = 0; j < npay; j++)
        stubs[ns++] = (stub){pays[j].paid, EV_PAYMENT, j};
    qsort(stubs, (size_t)ns, sizeof *stubs, cmp_stub);

    for (long i = 0; i < ns; i++) {
        json_t *ev = NULL;
        switch (stubs[i].kind) {
        case EV_FILED: ev = filed_event(&G, cases, stubs[i].idx, i + 1); break;
        case EV_CORRECTED: ev = corrected_event(&G, cases, stubs[i].idx, i + 1); break;
        case EV_WITHDRAWN: ev = withdrawn_event(&G, cases, stubs[i].idx, i + 1); break;
        default: ev = payment_event(&G, cases, &pays[stubs[i].idx], stubs[i].idx, i + 1); break;
        }
        if (!ev) {
            rc = cf_errf(err, errsz, CF_ENOMEM, "out of memory building event %ld", i + 1);
            goto out;
        }
        rc = emit(ev, arg);
        json_decref(ev);
        if (rc != 0)
            goto out;
    }
out:
    free(cases);
    free(pays);
    free(stubs);
    return rc;
}
