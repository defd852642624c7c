/*
 * `caseflow report`: what the command center did, from the database alone — cases per state and
 * closing method, tasks per post, batches, reminders, documents, the monthly archive ledgers,
 * the slowest stages, dead letters — as aligned tables with Chinese and English labels, as one
 * JSON object (docs/report.md), and as a chart of cases per state over the simulated days.
 *
 * The report itself is engine/report.c's (GET /api/v1/report answers the same JSON); this file
 * parses the options and draws the text and the chart from that JSON, so that the forms cannot
 * disagree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/config.h"
#include "base/utf8.h"
#include "io/store.h"
#include "commands.h"
#include "session.h"
#include "core/caltime.h"
#include "core/workflow.h"
#include "base/path.h"
#include "engine/ledger.h"
#include "engine/report.h"
#include "chart.h"

/* ---- options, labels ---- */

typedef struct opts {
    int json;
    const char *svg;
    long ledger_rows;                   /* entries shown per ledger in text; -1: all */
    char ledger[CF_LEDGER_MONTH_BUFSZ]; /* --ledger MONTH: write that month's Excel ledger */
    const char *out;                    /* --out FILE: where (default ledger-MONTH.xlsx) */
    const char *court, *home;           /* --court CODE: that court's alone; the home court (#16) */
} opts;

/* The workflow definitions, for titles only: each that loads (any of them may be missing). */
static void labels_load(cf_registry *l, const cf_config *cfg)
{
    l->wf = calloc(cfg->nworkflows + 1, sizeof *l->wf);
    l->n = 0;
    for (size_t i = 0; l->wf && i < cfg->nworkflows; i++) {
        char path[4096];
        cf_diags d;
        cf_diags_init(&d);
        l->wf[l->n] = cf_workflow_load(cf_path_find(cfg->workflows[i], path, sizeof path), &d);
        if (l->wf[l->n])
            l->n++;
        else
            fprintf(stderr, "caseflow report: %s: %s (its titles are left out)\n", path,
                    d.count ? d.lines[0] : "cannot be loaded");
        cf_diags_free(&d);
    }
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* ---- text ---- */

enum { MAX_COLS = 12 };

/* A table of text cells printed with aligned columns; numbers align to the right. */
typedef struct table {
    int ncols;
    const char *head[MAX_COLS];
    int right[MAX_COLS];
    char **cells; /* rows * ncols, owned */
    size_t rows, cap;
} table;

static void tbl_init(table *t, int ncols, const char *const *head, const int *right)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        t->head[i] = head[i];
        t->right[i] = right[i];
    }
}

/* Adds a row of `ncols` cells (copied; NULL prints as "-"). */
static void tbl_row(table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "-");
    t->rows++;
}

static void pad(const char *s, int width, int right, int last)
{
    int n = width - cf_utf8_width(s);
    if (right)
        printf("%*s%s", n > 0 ? n : 0, "", s);
    else if (last)
        printf("%s", s);
    else
        printf("%s%*s", s, n > 0 ? n : 0, "");
}

static void tbl_print(table *t, int indent)
{
    int w[MAX_COLS];

    for (int c = 0; c < t->ncols; c++) {
        w[c] = cf_utf8_width(t->head[c]);
        for (size_t r = 0; r < t->rows; r++) {
            int x = cf_utf8_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (x > w[c])
                w[c] = x;
        }
    }
    for (size_t r = 0; r <= t->rows; r++) {
        printf("%*s", indent, "");
        for (int c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * (size_t)t->ncols + (size_t)c];
            if (c > 0)
                printf("  ");
            pad(s, w[c], t->right[c], c == t->ncols - 1);
        }
        printf("\n");
    }
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* "2026-03-02T08:30:00+08:00" as "2026-03-02 08:30" (the court's zone is every time's zone). */
static const char *when(const char *iso, char *buf, size_t n)
{
    if (!iso)
        return "-";
    snprintf(buf, n, "%.16s", iso);
    if (strlen(buf) > 10 && buf[10] == 'T')
        buf[10] = ' ';
    return buf;
}

static const char *fmt_num(const json_t *o, const char *key, char *buf, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(buf, n, "%.2f", json_number_value(v));
    else
        snprintf(buf, n, "-");
    return buf;
}

static void heading(const char *zh, const char *en)
{
    printf("\n%s %s\n", zh, en);
}

static void print_cases(const json_t *r)
{
    const json_t *c = json_object_get(r, "cases");
    json_t *w, *x;
    size_t i, j;
    table t;

    heading("一、案件", "Cases per workflow, state and closing method");
    printf("  合计 total: %lld\n", num(c, "total"));
    json_array_foreach (json_object_get(c, "workflows"), i, w) {
        static const char *const head[] = {"状态 state", "名称 title", "案件 cases"};
        static const int right[] = {0, 0, 1};
        printf("\n  %s %s: %lld\n", str(w, "workflow"), str(w, "title") ? str(w, "title") : "",
               num(w, "cases"));
        tbl_init(&t, 3, head, right);
        json_array_foreach (json_object_get(w, "states"), j, x) {
            char n[32];
            tbl_row(&t, (const char *[]){str(x, "state"), str(x, "title"),
                                         fmt_num(x, "cases", n, sizeof n)});
        }
        tbl_print(&t, 4);
        if (json_array_size(json_object_get(w, "close_methods")) > 0) {
            static const char *const mhead[] = {"结案方式 closing method", "案件 cases"};
            static const int mright[] = {0, 1};
            printf("\n");
            tbl_init(&t, 2, mhead, mright);
            json_array_foreach (json_object_get(w, "close_methods"), j, x) {
                char n[32];
                tbl_row(&t,
                        (const char *[]){str(x, "close_method"), fmt_num(x, "cases", n, sizeof n)});
            }
            tbl_print(&t, 4);
        }
    }
}

static void print_task_rows(json_t *rows, const char *key, const char *label)
{
    static const int right[] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const char *head[] = {
        label,          "名称 title",  "完成 done",     "待办 open",      "已领 claimed",
        "逾期 overdue", "失败 failed", "退回 returned", "撤销 cancelled", "合计 total"};
    static const char *const counts[] = {"done",   "open",     "claimed",   "overdue",
                                         "failed", "returned", "cancelled", "total"};
    table t;
    json_t *x;
    size_t i;

    tbl_init(&t, 10, head, right);
    json_array_foreach (rows, i, x) {
        char n[8][32];
        const char *cells[10] = {str(x, key), str(x, "title")};
        for (int k = 0; k < 8; k++)
            cells[2 + k] = fmt_num(x, counts[k], n[k], sizeof n[k]);
        tbl_row(&t, cells);
    }
    tbl_print(&t, 2);
}

static void print_tasks(const json_t *r)
{
    const json_t *t = json_object_get(r, "tasks");
    heading("二、任务", "Tasks per post (open includes claimed; overdue: open past due at the "
                        "engine's clock)");
    printf("  人工岗位 Staff posts\n");
    print_task_rows(json_object_get(t, "staff"), "post", "岗位 post");
    printf("\n  工作进程 Worker kinds\n");
    print_task_rows(json_object_get(t, "workers"), "kind", "类型 kind");
}

static const char *const weekday_keys[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekday_zh[] = {"周一", "周二", "周三", "周四", "周五", "周六", "周日"};

/* "周一 Mon 4, 周三 Wed 3": the weekdays something went out on, with how often. */
static void weekdays_text(const json_t *wd, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < 7; d++) {
        long long k = num(wd, weekday_keys[d]);
        if (k > 0 && used < n)
            used += (size_t)snprintf(buf + used, n - used, "%s%s %s %lld", used ? ", " : "",
                                     weekday_zh[d], weekday_keys[d], k);
    }
    if (!buf[0])
        snprintf(buf, n, "-");
}

static void print_batches(const json_t *r)
{
    static const char *const head[] = {"分组 group", "批次 batches", "任务 tasks",
                                       "出发日 weekdays"};
    static const int right[] = {0, 1, 1, 0};
    json_t *b, *g;
    size_t i, j;
    table t;

    heading("三、集约批次", "Batches per office, route and ledger");
    if (json_array_size(json_object_get(r, "batches")) == 0)
        printf("  (none 无)\n");
    json_array_foreach (json_object_get(r, "batches"), i, b) {
        char wd[256];
        weekdays_text(json_object_get(b, "weekdays"), wd, sizeof wd);
        printf("\n  %s %s: %lld batches 批, %lld tasks 件, went out %lld times 次 (%s); "
               "waiting 待发 %lld\n",
               str(b, "kind"), str(b, "title") ? str(b, "title") : "", num(b, "batches"),
               num(b, "tasks"), num(b, "dispatches"), wd, num(b, "waiting"));
        tbl_init(&t, 4, head, right);
        json_array_foreach (json_object_get(b, "groups"), j, g) {
            char nb[32], nt[32];
            weekdays_text(json_object_get(g, "weekdays"), wd, sizeof wd);
            tbl_row(&t, (const char *[]){str(g, "group"), fmt_num(g, "batches", nb, sizeof nb),
                                         fmt_num(g, "tasks", nt, sizeof nt), wd});
        }
        tbl_print(&t, 4);
    }
}

static void print_reminders(const json_t *r)
{
    static const char *const head[] = {"定时器 timer", "说明 what", "触发 fired"};
    static const int right[] = {0, 0, 1};
    const json_t *rem = json_object_get(r, "reminders");
    json_t *x;
    size_t i;
    table t;

    heading("四、提醒", "Reminders fired (timers)");
    printf("  合计 total: %lld\n", num(rem, "total"));
    tbl_init(&t, 3, head, right);
    json_array_foreach (json_object_get(rem, "timers"), i, x) {
        char n[32];
        tbl_row(&t, (const char *[]){str(x, "timer"), str(x, "title"),
                                     fmt_num(x, "fired", n, sizeof n)});
    }
    tbl_print(&t, 2);
}

/* The statutory clocks of the period's cases: running, paused (on which grounds), stopped,
 * past their last day, extended. */
static void print_clocks(const json_t *r)
{
    static const char *const head[] = {"期限 clock",   "进行 running", "暂停 paused",
                                       "停止 stopped", "超期 overdue", "延长 extended"};
    static const int right[] = {0, 1, 1, 1, 1, 1};
    json_t *x, *g;
    size_t i, k;
    table t;

    heading("九、法定期限", "Statutory clocks (running, paused and on what grounds)");
    tbl_init(&t, 6, head, right);
    json_array_foreach (json_object_get(r, "clocks"), i, x) {
        char n[5][32];
        tbl_row(&t, (const char *[]){str(x, "clock"), fmt_num(x, "running", n[0], sizeof n[0]),
                                     fmt_num(x, "paused", n[1], sizeof n[1]),
                                     fmt_num(x, "stopped", n[2], sizeof n[2]),
                                     fmt_num(x, "overdue", n[3], sizeof n[3]),
                                     fmt_num(x, "extended", n[4], sizeof n[4])});
    }
    tbl_print(&t, 2);
    json_array_foreach (json_object_get(r, "clocks"), i, x) {
        json_array_foreach (json_object_get(x, "paused_on"), k, g) {
            printf("  %s paused on 暂停事由 %s: %lld\n", str(x, "clock"), str(g, "ground"),
                   num(g, "cases"));
        }
    }
}

static void print_documents(const json_t *r)
{
    static const char *const head[] = {"文书 document", "份数 made"};
    static const int right[] = {0, 1};
    const json_t *d = json_object_get(r, "documents");
    json_t *x;
    size_t i;
    table t;

    heading("五、文书", "Documents made");
    printf("  %lld documents 份 from %lld done documents tasks 件\n", num(d, "total"),
           num(d, "tasks"));
    tbl_init(&t, 2, head, right);
    json_array_foreach (json_object_get(d, "documents"), i, x) {
        char n[32];
        tbl_row(&t, (const char *[]){str(x, "document"), fmt_num(x, "count", n, sizeof n)});
    }
    tbl_print(&t, 2);
}

static void print_service(const json_t *r)
{
    static const char *const head[] = {"路线 route",         "件 items",    "送达 served",
                                       "未送达 not reached", "失败 failed", "未完 open"};
    static const int right[] = {0, 1, 1, 1, 1, 1};
    const json_t *s = json_object_get(r, "service");
    json_t *x;
    size_t i;
    table t;

    heading("五（续）、集约送达", "Service by route and by announcement");
    printf("  %lld items 件: served 送达 %lld, not reached 未送达 %lld (of them respondents served "
           "by announcement 公告送达 %lld, deemed served 公告期满 %lld), failed 失败 %lld\n",
           num(s, "items"), num(s, "served"), num(s, "unreachable"), num(s, "announced"),
           num(s, "deemed_served"), num(s, "failed"));
    tbl_init(&t, 6, head, right);
    json_array_foreach (json_object_get(s, "routes"), i, x) {
        char a[32], b[32], c[32], d[32], e[32];
        tbl_row(&t, (const char *[]){
                        str(x, "route"), fmt_num(x, "items", a, sizeof a),
                        fmt_num(x, "served", b, sizeof b), fmt_num(x, "unreachable", c, sizeof c),
                        fmt_num(x, "failed", d, sizeof d), fmt_num(x, "open", e, sizeof e)});
    }
    tbl_print(&t, 2);
}

static void print_auctions(const json_t *r)
{
    static const char *const head[] = {"轮次 round", "询问 asked", "成交 sold", "流拍 unsold"};
    static const int right[] = {0, 1, 1, 1};
    const json_t *a = json_object_get(r, "auctions");
    json_t *x;
    size_t i;
    table t;

    heading("五（续）、网拍", "Valuation and auction by round");
    printf(
        "  prices set 定价 %lld; after two rounds unsold: 以物抵债 %lld, released 解除查封 %lld; "
        "proceeds 拍卖款 %.2f 元\n",
        num(a, "priced"), num(a, "in_payment"), num(a, "released"),
        json_number_value(json_object_get(a, "proceeds")));
    tbl_init(&t, 4, head, right);
    json_array_foreach (json_object_get(a, "rounds"), i, x) {
        char n[32], s[32], u[32];
        tbl_row(&t, (const char *[]){str(x, "round"), fmt_num(x, "asked", n, sizeof n),
                                     fmt_num(x, "sold", s, sizeof s),
                                     fmt_num(x, "unsold", u, sizeof u)});
    }
    tbl_print(&t, 2);
}

static void print_ledgers(const json_t *r, long rows)
{
    static const char *const head[] = {"案号 case", "流程 workflow", "结案方式 closing method",
                                       "结案 closed", "归档 archived"};
    static const int right[] = {0, 0, 0, 0, 0};
    json_t *m, *x;
    size_t i, j;
    table t;

    heading("六、归档台账", "Archive ledger of each month (the cases of the month's archive "
                            "batch)");
    if (json_array_size(json_object_get(r, "archive_ledgers")) == 0)
        printf("  (none 无)\n");
    json_array_foreach (json_object_get(r, "archive_ledgers"), i, m) {
        char d[32], methods[512];
        size_t used = 0;
        methods[0] = '\0';
        json_array_foreach (json_object_get(m, "close_methods"), j, x) {
            if (used < sizeof methods)
                used += (size_t)snprintf(methods + used, sizeof methods - used, "%s%s %lld",
                                         used ? ", " : "", str(x, "close_method"), num(x, "cases"));
        }
        printf("\n  %s 台账 ledger — 件数 cases %lld — 批次 batch %s — %s\n", str(m, "month"),
               num(m, "cases"),
               when(json_string_value(json_array_get(json_object_get(m, "dispatched"), 0)), d,
                    sizeof d),
               methods);
        tbl_init(&t, 5, head, right);
        json_array_foreach (json_object_get(m, "entries"), j, x) {
            char c[32], a[32];
            if (rows >= 0 && (long)j >= rows)
                break;
            tbl_row(&t,
                    (const char *[]){str(x, "case_no"), str(x, "workflow"), str(x, "close_method"),
                                     when(str(x, "closed_at"), c, sizeof c),
                                     when(str(x, "archived_at"), a, sizeof a)});
        }
        tbl_print(&t, 4);
        if (rows >= 0 && (size_t)rows < json_array_size(json_object_get(m, "entries")))
            printf("    … %zu more 另有 (--json has all)\n",
                   json_array_size(json_object_get(m, "entries")) - (size_t)rows);
    }
}

/* A table of stages: per workflow and state, how long cases stayed. */
static void print_stage_table(const json_t *stages)
{
    static const char *const head[] = {"流程 workflow", "状态 state",   "名称 title",
                                       "停留 stays",    "p50 天 days",  "p90 天 days",
                                       "最长 max days", "在办 still in"};
    static const int right[] = {0, 0, 0, 1, 1, 1, 1, 1};
    json_t *x;
    size_t i;
    table t;

    tbl_init(&t, 8, head, right);
    json_array_foreach (stages, i, x) {
        char n[5][32];
        tbl_row(&t, (const char *[]){str(x, "workflow"), str(x, "state"), str(x, "title"),
                                     fmt_num(x, "stays", n[0], sizeof n[0]),
                                     fmt_num(x, "p50_days", n[1], sizeof n[1]),
                                     fmt_num(x, "p90_days", n[2], sizeof n[2]),
                                     fmt_num(x, "max_days", n[3], sizeof n[3]),
                                     fmt_num(x, "still_in", n[4], sizeof n[4])});
    }
    tbl_print(&t, 2);
}

static void print_stages(const json_t *r)
{
    heading("七、最慢环节", "Slowest stages (days cases stayed in a state; the 5 slowest by p50)");
    print_stage_table(json_object_get(r, "slowest_stages"));
    printf("\n  所有环节 All stages\n");
    print_stage_table(json_object_get(r, "stages"));
}

static void print_payments(const json_t *r)
{
    const json_t *p = json_object_get(r, "payments"), *in = json_object_get(p, "into_cases");

    heading("八、案款", "Voluntary payments and payouts");
    printf("  收到自动履行案款 payments received: %lld\n", num(p, "received"));
    printf("  自动匹配 matched automatically: %lld\n", num(p, "auto"));
    printf("  人工匹配 matched by hand: %lld to open cases 已立案件, %lld to new cases 新立案\n",
           num(p, "by_hand"), num(p, "by_hand_new_case"));
    printf("  无法匹配 unmatched: %lld   待清理 waiting: %lld\n", num(p, "unmatched"),
           num(p, "waiting"));
    printf("  入案款项 sums into cases: %lld paid in 直接缴入, %lld matched 匹配转入, "
           "%lld auction proceeds 拍卖价款\n",
           num(in, "paid_in"), num(in, "matched"), num(in, "auction_proceeds"));
    printf("  财务确认发放 payouts confirmed by finance: %lld\n", num(p, "payouts_confirmed"));
}

static void print_text(const json_t *r, long ledger_rows)
{
    const json_t *clock = json_object_get(r, "clock"), *period = json_object_get(r, "period");
    const json_t *dup = json_object_get(r, "duplicates");
    char a[32], b[32];

    printf("执行指挥中心工作报告  Command center report\n");
    printf("  引擎时钟 engine clock: %s (%s)\n", when(str(clock, "now"), a, sizeof a),
           str(clock, "mode") && strcmp(str(clock, "mode"), "simulated") == 0 ? "simulated 模拟"
                                                                              : "real 实时");
    if (str(period, "since") || str(period, "until"))
        printf("  统计区间 period: from %s up to %s (exclusive)\n",
               str(period, "since") ? when(str(period, "since"), a, sizeof a) : "…",
               str(period, "until") ? when(str(period, "until"), b, sizeof b) : "…");
    else
        printf("  统计区间 period: all 全部\n");
    print_cases(r);
    print_tasks(r);
    print_batches(r);
    print_reminders(r);
    print_documents(r);
    print_service(r);
    print_auctions(r);
    print_ledgers(r, ledger_rows);
    print_stages(r);
    print_payments(r);
    print_clocks(r);
    heading("十、其他", "Events, dead letters, duplicates");
    printf("  事件 events applied: %lld\n", num(r, "events"));
    printf("  死信 dead letters: %lld\n", num(r, "dead_letters"));
    printf("  重复事件 duplicates: %lld events 个, dropped %lld times 次\n", num(dup, "events"),
           num(dup, "dropped"));
}

/* ---- the chart ---- */

/*
 * The colour of each state of the court's workflow in the chart, the same in every report: the
 * bands that grow large (execution, closed, archived) get the strongest colours.  A state not
 * named here takes the palette's colour of its place in its workflow.
 */
static const char *state_color(const cf_registry *l, const char *workflow, const char *state)
{
    static const char *const colors[][2] = {
        {"filed", "#9c755f"},
        {"review", "#fabfd2"},
        {"intake", "#ff9da7"},
        {"correction", "#d37295"},
        {"special_review", "#b07aa1"},
        {"assigned", "#bab0ac"},
        {"notices", "#edc948"},
        {"queries", "#76b7b2"},
        {"execution", "#59a14f"},
        {"preservation", "#b6992d"},
        {"withdrawal_review", "#f28e2b"},
        {"closed", "#e15759"},
        {"terminated_watch", "#499894"},
        {"archived", "#4e79a7"},
    };
    const cf_workflow *wf = cf_report_workflow(l, workflow);
    int i = wf ? cf_workflow_state_index(wf, state) : -1;

    if (strcmp(workflow, CF_REPORT_CHART_WORKFLOW) == 0)
        for (size_t k = 0; k < sizeof colors / sizeof *colors; k++)
            if (strcmp(colors[k][0], state) == 0)
                return colors[k][1];
    return i >= 0 ? cf_chart_color((size_t)i) : NULL;
}

/* FILE.svg's picture as FILE.png (FILE.png when FILE has another ending). */
static void png_path(const char *svg, char *out, size_t n)
{
    size_t len = strlen(svg);
    if (len > 4 && strcmp(svg + len - 4, ".svg") == 0)
        snprintf(out, n, "%.*s.png", (int)(len - 4), svg);
    else
        snprintf(out, n, "%s.png", svg);
}

static int write_chart(const json_t *r, const cf_registry *l, const char *path)
{
    const json_t *chart = json_object_get(r, "chart");
    const json_t *states = json_object_get(chart, "states"), *days = json_object_get(chart, "days");
    size_t ns = json_array_size(states), nd = json_array_size(days);
    cf_chart_series *series = calloc(ns + 1, sizeof *series);
    long long *values = calloc(ns * nd + 1, sizeof *values);
    const char **dayv = calloc(nd + 1, sizeof *dayv);
    char **label = calloc(ns + 1, sizeof *label);
    char title[256], subtitle[256], err[1024], png[4096];
    const cf_workflow *wf = cf_report_workflow(l, str(chart, "workflow"));
    cf_chart c;
    int rc = 1;

    if (!series || !values || !dayv || !label) {
        fprintf(stderr, "caseflow report: out of memory\n");
        goto out;
    }
    for (size_t d = 0; d < nd; d++)
        dayv[d] = json_string_value(json_array_get(days, d));
    for (size_t s = 0; s < ns; s++) {
        const json_t *st = json_array_get(states, s);
        const json_t *counts = json_object_get(st, "counts");
        char buf[256];
        for (size_t d = 0; d < nd; d++)
            values[s * nd + d] = (long long)json_integer_value(json_array_get(counts, d));
        /* The legend names the state, its title and how many cases it holds at the end. */
        snprintf(buf, sizeof buf, "%s %s (%lld)", str(st, "state"),
                 str(st, "title") ? str(st, "title") : "", nd ? values[s * nd + nd - 1] : 0);
        label[s] = strdup(buf);
        series[s].name = str(st, "state");
        series[s].label = label[s];
        series[s].color = state_color(l, str(chart, "workflow"), str(st, "state"));
        series[s].values = values + s * nd;
    }
    /* Stacked as a flow: the states a case reaches last at the bottom, so that the bands that
     * grow with time (closed, archived) lie on the axis. */
    for (size_t s = 0; s < ns / 2; s++) {
        cf_chart_series tmp = series[s];
        series[s] = series[ns - 1 - s];
        series[ns - 1 - s] = tmp;
    }
    snprintf(title, sizeof title, "%s 各状态案件数  Cases per state, day by day",
             wf && wf->title ? wf->title : str(chart, "workflow"));
    if (nd > 0)
        snprintf(subtitle, sizeof subtitle,
                 "%s, %s – %s (%zu days 天, each day's end; engine clock %s)",
                 str(chart, "workflow"), dayv[0], dayv[nd - 1], nd,
                 str(json_object_get(r, "clock"), "mode"));
    else
        snprintf(subtitle, sizeof subtitle, "%s", str(chart, "workflow"));
    c = (cf_chart){.title = title,
                   .subtitle = subtitle,
                   .x_title = "日期 Day (simulated 模拟)",
                   .y_title = "案件数 Cases",
                   .days = dayv,
                   .ndays = nd,
                   .series = series,
                   .nseries = ns};
    png_path(path, png, sizeof png);
    if (cf_chart_write(&c, path, png, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow report: %s\n", err);
        goto out;
    }
    fprintf(stderr, "caseflow report: wrote %s and %s\n", path, png);
    rc = 0;
out:
    for (size_t s = 0; label && s < ns; s++)
        free(label[s]);
    free(label);
    free(series);
    free(values);
    free(dayv);
    return rc;
}

/* ---- the monthly ledger as Excel (#13) ---- */

/* Writes the ledger of o->ledger to o->out (default ledger-MONTH.xlsx) and says where. */
static int write_ledger(PGconn *db, const cf_registry *l, const opts *o)
{
    char path[64], err[1024], *full;
    size_t cases = 0;
    const char *file = o->out;

    if (!file) {
        snprintf(path, sizeof path, "ledger-%s.xlsx", o->ledger);
        file = path;
    }
    if (cf_ledger_write(db, l, o->ledger, o->court, o->home, file, &cases, err, sizeof err) != 0) {
        fprintf(stderr, "caseflow report: --ledger %s: %s\n", o->ledger, err);
        return 1;
    }
    full = realpath(file, NULL);
    printf("归档台账 ledger %s: %zu case%s -> %s\n", o->ledger, cases, cases == 1 ? "" : "s",
           full ? full : file);
    free(full);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- the command ---- */

static int usage(FILE *out, int rc)
{
    fprintf(out,
            "usage: caseflow report [--json] [--svg FILE] [--since DATE] [--until DATE]\n"
            "                       [--ledger-rows N] [--court CODE] [--config FILE]\n"
            "       caseflow report --ledger MONTH [--out FILE] [--court CODE]\n\n"
            "The command center's work, from the database (CASEFLOW_PG): cases per workflow,\n"
            "state and closing method; tasks per post (done, open, overdue at the engine's\n"
            "clock, failed, cancelled); batches per office, route and ledger with the weekdays\n"
            "they went out; reminders fired; documents made; the archive ledger of each month;\n"
            "the slowest stages; dead letters and duplicates.\n\n"
            "  --json          one JSON object instead of tables (docs/report.md)\n"
            "  --svg FILE      also draw cases per state per day as a chart: FILE as SVG, and\n"
            "                  FILE.png beside it (FILE with .png for .svg)\n"
            "  --since DATE    only what happened from DATE on (YYYY-MM-DD or ISO 8601)\n"
            "  --until DATE    only what happened before DATE ends (a day counts in full)\n"
            "  --ledger-rows N show at most N cases per monthly ledger in the tables\n"
            "  --ledger MONTH  instead, write the archive ledger (归档台账) of MONTH (YYYY-MM):\n"
            "                  the cases closed in it with their volume numbers, as Excel\n"
            "  --out FILE      where --ledger writes (default ledger-MONTH.xlsx)\n"
            "  --court CODE    one court's cases alone (courts: in the configuration); the\n"
            "                  dead letters and duplicates are the installation's\n"
            "  --config FILE   the configuration (default CASEFLOW_CONFIG)\n");
    return rc;
}

int cf_cmd_report(int argc, char **argv)
{
    char err[1024], since[CF_REPORT_BOUND_BUFSZ] = "", until[CF_REPORT_BOUND_BUFSZ] = "";
    opts o = {.ledger_rows = -1};
    cf_config cfg;
    cf_registry l = {0};
    PGconn *db = NULL;
    json_t *r = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if ((strcmp(a, "--svg") == 0 || strcmp(a, "--since") == 0 ||
                    strcmp(a, "--until") == 0 || strcmp(a, "--ledger-rows") == 0 ||
                    strcmp(a, "--ledger") == 0 || strcmp(a, "--out") == 0 ||
                    strcmp(a, "--court") == 0 || strcmp(a, "--config") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(a, "--court") == 0) {
                o.court = v;
            } else if (strcmp(a, "--config") == 0) {
                /* What cf_cli_connect loads, as `caseflow serve --config` does. */
                if (setenv("CASEFLOW_CONFIG", v, 1) != 0) {
                    fprintf(stderr, "caseflow report: --config %s: %s\n", v, strerror(errno));
                    return 2;
                }
            } else if (strcmp(a, "--svg") == 0) {
                o.svg = v;
            } else if (strcmp(a, "--out") == 0) {
                o.out = v;
            } else if (strcmp(a, "--ledger") == 0) {
                if (cf_ledger_month(v, o.ledger, err, sizeof err) != 0) {
                    fprintf(stderr, "caseflow report: --ledger %s\n", err);
                    return 2;
                }
            } else if (strcmp(a, "--ledger-rows") == 0) {
                char *end;
                o.ledger_rows = strtol(v, &end, 10);
                if (*end || o.ledger_rows < 0) {
                    fprintf(stderr, "caseflow report: --ledger-rows '%s' is not a number\n", v);
                    return 2;
                }
            } else if (cf_report_bound(v, strcmp(a, "--until") == 0,
                                       strcmp(a, "--since") == 0 ? since : until, sizeof since, err,
                                       sizeof err) != 0) {
                fprintf(stderr, "caseflow report: %s %s\n", a, err);
                return 2;
            }
        } else {
            fprintf(stderr, "caseflow report: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (o.out && !*o.ledger) {
        fprintf(stderr, "caseflow report: --out is where --ledger MONTH writes: give a month\n");
        return 2;
    }
    if (!(db = cf_cli_connect(&cfg, "caseflow report")))
        goto out;
    if (o.court) {
        size_t c = 0;
        while (c < cfg.ncourts && strcmp(cfg.courts[c].code, o.court) != 0)
            c++;
        if (c == cfg.ncourts) {
            fprintf(stderr, "caseflow report: --court %s is not a court this installation serves\n",
                    o.court);
            rc = 2;
            goto out;
        }
        o.home = cfg.courts[0].code;
    }
    labels_load(&l, &cfg);
    if (*o.ledger) {
        rc = write_ledger(db, &l, &o);
        goto out;
    }
    if (cf_report_build(db, &l, *since ? since : NULL, *until ? until : NULL, o.court, o.home, &r,
                        err, sizeof err) != 0) {
        fprintf(stderr, "caseflow report: %s\n", err);
        goto out;
    }
    if (o.json) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    } else {
        print_text(r, o.ledger_rows);
    }
    if (o.svg && write_chart(r, &l, o.svg) != 0)
        goto out;
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    json_decref(r);
    cf_registry_free(&l);
    cf_cli_disconnect(db, &cfg);
    return rc;
}
