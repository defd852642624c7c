/*
 * Service (集约送达) and valuation and auction (网拍) on the real stack, with the simulated clock
 * and the outside systems played over HTTP by tests/integration/outside_fake.py, as the service
 * and auction workers reach them in production (worker.adapter: http).
 *
 * Service: each party's documents are an item of their own on the route of the party's address,
 * and each route is one batch, one trip; the applicant receives the risk notice; a respondent who
 * cannot be reached is served by announcement and the handling limit moves by the 30 days; an
 * answer without an outcome becomes an incident of the intake post, never a guess.
 *
 * Auction: a case's property is priced, the first round (70 %) finds no bid, the second at 80 %
 * of the first sells and raises proceeds.received, recorded on the case; another case's second
 * round fails too and the property goes to the applicant in payment (以物抵债).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/kit.h"

enum { WAIT = 120 };

/* The fake outside systems: started once per test, killed at its end. */
static pid_t fake;
static char fake_url[128], fake_log[700];

static void fake_start(kit *k)
{
    char script[1024], portfile[700];
    FILE *f;
    int port = 0;

    snprintf(script, sizeof script, "%s/tests/integration/outside_fake.py", k->src);
    snprintf(portfile, sizeof portfile, "%s/outside.port", k->logdir);
    snprintf(fake_log, sizeof fake_log, "%s/outside.log", k->logdir);
    unlink(portfile);
    fake = fork();
    assert_true(fake >= 0);
    if (fake == 0) {
        execlp("python3", "python3", script, portfile, fake_log, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && port == 0; i++) {
        if ((f = fopen(portfile, "r"))) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            kit_sleep_ms(100);
    }
    assert_true(port > 0);
    snprintf(fake_url, sizeof fake_url, "CASEFLOW_WORKER_URL=http://127.0.0.1:%d", port);
}

static int teardown(void **state)
{
    (void)state;
    if (fake > 0) {
        kill(fake, SIGTERM);
        waitpid(fake, NULL, 0);
        fake = 0;
    }
    return 0;
}

/* How many lines of the fake's log hold all of `a`, `b` (either may be NULL). */
static int fake_requests(const char *a, const char *b)
{
    FILE *f = fopen(fake_log, "r");
    char line[8192];
    int n = 0;

    while (f && fgets(line, sizeof line, f))
        n += (!a || strstr(line, a)) && (!b || strstr(line, b));
    if (f)
        fclose(f);
    return n;
}

/* Files case `seq` on Monday 2026-03-02 with its parties at these addresses. */
static void file_case(kit *k, int seq, const char *applicant_at, const char *respondent_at)
{
    char no[64], id[32];
    json_t *ev, *data;

    snprintf(no, sizeof no, "(2026)豫0381执%d号", seq);
    snprintf(id, sizeof id, "filed-%d", seq);
    ev = kit_filed(no, id, "2026-03-02T08:30:00+08:00");
    data = json_object_get(ev, "data");
    json_object_set_new(json_array_get(json_object_get(data, "applicants"), 0), "address",
                        json_string(applicant_at));
    json_object_set_new(json_array_get(json_object_get(data, "respondents"), 0), "address",
                        json_string(respondent_at));
    kit_send_json(k, ev);
}

static void intake(kit *k, int seq)
{
    char no[64];
    snprintf(no, sizeof no, "(2026)豫0381执%d号", seq);
    kit_complete(k, no, "intake_check", "intake", "王五", "2026-03-02T08:40:00+08:00",
                 json_pack("{s:b}", "complete", 1));
}

/* The value at `path` of case `no`'s data (text), or NULL; free it. */
static char *case_field(kit *k, const char *no, const char *path)
{
    return kit_value(k,
                     "select body -> 'data' #>> string_to_array($2, ',') from cases where "
                     "case_no = $1",
                     2, (const char *const[]){no, path});
}

static void expect_field(kit *k, const char *no, const char *path, const char *want)
{
    char *v = kit_wait_value(k,
                             "select body -> 'data' #>> string_to_array($2, ',') from cases "
                             "where case_no = $1",
                             2, (const char *const[]){no, path}, want, WAIT);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void test_service(void **state)
{
    (void)state;
    kit k;
    pid_t engine, docs, service;
    const char *http[] = {"CASEFLOW_WORKER_ADAPTER=http", fake_url, NULL};
    const char *c701 = "(2026)豫0381执701号", *c703 = "(2026)豫0381执703号";
    char *v, *out = NULL, *err = NULL;

    kit_init(&k, "service");
    fake_start(&k);
    engine = kit_engine_start(&k, NULL);
    docs = kit_worker_start(&k, "documents", NULL);
    service = kit_worker_start(&k, "service", http);

    /* 701: the applicant in 缑氏镇 (南线), the respondent on 杜甫大道 in town (城区线); 702: both
     * in town; 703: 岳滩镇 (东线) and 邙岭镇 (北线), whose answers will lack their outcome. */
    file_case(&k, 701, "河南省洛阳市偃师区缑氏镇马屯村3组12号",
              "河南省洛阳市偃师区杜甫大道88号阳光花园3号楼1单元502室");
    file_case(&k, 702, "河南省洛阳市偃师区华夏路16号", "河南省洛阳市偃师区商城街道东寨村2组5号");
    file_case(&k, 703, "河南省洛阳市偃师区岳滩镇王窑村1组3号",
              "河南省洛阳市偃师区邙岭镇杨庄村7组9号");
    kit_flush(&k);
    for (int seq = 701; seq <= 703; seq++)
        intake(&k, seq);
    /* The notices are made: six service items wait for the 14:00 trips. */
    assert_int_equal(
        kit_wait_count(&k, "select count(*) from tasks where kind = 'service'", 6, WAIT), 6);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where kind = 'service' and "
                                   "dispatched_at is not null"),
                     0);
    kit_advance(&k, NULL, "2026-03-02T15:00:00+08:00");
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from tasks where kind = 'service' and status "
                                    "in ('done', 'failed')",
                                    6, WAIT),
                     6);

    /* One batch, one trip per route: 701's two parties went on two routes; town's trip took 701's
     * respondent and both parties of 702. */
    assert_int_equal(kit_count(&k, "select count(distinct batch_group) from tasks where kind = "
                                   "'service' and case_no = '(2026)豫0381执701号' and "
                                   "batch_group in ('南线', '城区线')"),
                     2);
    assert_int_equal(kit_count(&k, "select count(distinct batch_group) from tasks where kind = "
                                   "'service' and dispatched_at = '2026-03-02T14:00:00+08:00'"),
                     4);
    assert_int_equal(fake_requests("\"/serve\"", NULL), 4);
    assert_int_equal(fake_requests("\"route\": \"城区线\"", "执702号"), 1);
    assert_int_equal(fake_requests("\"route\": \"城区线\"", "执701号\", \"item\": \"respondent_1"),
                     1);
    assert_int_equal(fake_requests("\"route\": \"南线\"", "执701号\", \"item\": \"applicant_1"), 1);

    /* The applicants received the risk notice, and only it. */
    assert_int_equal(kit_count(&k, "select count(*) from tasks where activity = "
                                   "'service_applicant_1' and status = 'done' and result ->> "
                                   "'outcome' = 'served' and params -> 'documents' = "
                                   "'[\"风险告知书\"]'::jsonb and case_no in "
                                   "('(2026)豫0381执701号', '(2026)豫0381执702号')"),
                     2);
    assert_int_equal(kit_count(&k, "select count(*) from tasks where activity = "
                                   "'service_respondent_1' and status = 'done' and result ->> "
                                   "'outcome' = 'served' and params -> 'documents' ? '执行通知书' "
                                   "and case_no = '(2026)豫0381执702号'"),
                     1);

    /* 701's respondent cannot be reached: served by announcement from 03-02, the limit paused. */
    expect_field(&k, c701, "announced_parties", "1");
    assert_int_equal(kit_count(&k, "select count(*) from timers where case_no = "
                                   "'(2026)豫0381执701号' and name = 'announcement_served' and "
                                   "due_at = '2026-04-01T09:00:00+08:00'"),
                     1);
    v = case_field(&k, c701, "handling_deadline");
    assert_string_equal(v, "2026-09-02T23:59:00+08:00");
    free(v);

    /* 703: answers without an outcome are the intake post's incidents, one per item. */
    assert_int_equal(kit_count(&k, "select count(*) from tasks where case_no = "
                                   "'(2026)豫0381执703号' and kind = 'service' and status = "
                                   "'failed'"),
                     2);
    assert_int_equal(kit_wait_count(&k,
                                    "select count(*) from tasks where case_no = "
                                    "'(2026)豫0381执703号' and activity like 'incident_service_%' "
                                    "and post = 'intake' and status = 'open' and params ->> "
                                    "'error' like '%without an outcome%'",
                                    2, WAIT),
                     2);
    expect_field(&k, c703, "notices_served", "false");

    /* Deemed served on 04-01 (30 days): the pause from 03-02 to 04-01 moves the last day from
     * Wednesday 09-02 by 30 days to 10-02, in the National Day holiday (10-01..10-07): the next
     * working day, Thursday 10-08. */
    kit_advance(&k, NULL, "2026-04-01T10:00:00+08:00");
    expect_field(&k, c701, "handling_deadline", "2026-10-08T23:59:00+08:00");
    expect_field(&k, c701, "served_by_announcement", "true");
    expect_field(&k, c701, "notices_served", "true");

    /* Each item and its outcome is on the case: `caseflow case show` lists them. */
    assert_int_equal(kit_cli(&k, &out, &err, (const char *[]){"case", "show", c701, NULL}), 0);
    for (const char *const *want =
             (const char *const[]){"service_applicant_1", "南线", "served 直接送达",
                                   "service_respondent_1", "unreachable", "公告送达", NULL};
         *want; want++)
        if (!strstr(out, *want))
            fail_msg("caseflow case show does not say '%s':\n%s", *want, out);
    free(out);
    free(err);

    kit_engine_stop(&k, service, SIGTERM);
    kit_engine_stop(&k, docs, SIGTERM);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

/* Brings cases 801 and 802 to execution and hands their property to the auction clerk. */
static void to_auction(kit *k)
{
    file_case(k, 801, "河南省洛阳市偃师区华夏路16号", "河南省洛阳市偃师区商城街道东寨村2组5号");
    file_case(k, 802, "河南省洛阳市偃师区华夏路18号", "河南省洛阳市偃师区商城街道东寨村2组6号");
    kit_flush(k);
    intake(k, 801);
    intake(k, 802);
    assert_int_equal(
        kit_wait_count(k, "select count(*) from tasks where kind = 'service'", 4, WAIT), 4);
    kit_advance(k, NULL, "2026-03-03T10:00:00+08:00");
    assert_int_equal(kit_wait_count(k,
                                    "select count(*) from cases where state = 'execution' and "
                                    "case_no in ('(2026)豫0381执801号', '(2026)豫0381执802号')",
                                    2, WAIT),
                     2);
    /* (801 - 1) mod 6 = 2: team_3; 802: team_4. */
    kit_complete(
        k, "(2026)豫0381执801号", "execution_plan", "team_3", "赵六", "2026-03-03T10:00:00+08:00",
        json_pack("{s:b, s:s, s:s, s:[s]}", "auction", 1, "price_method", "网络询价", "asset_kind",
                  "real_estate", "assets", "偃师区商城街道某小区3号楼502室"));
    kit_complete(k, "(2026)豫0381执802号", "execution_plan", "team_4", "钱七",
                 "2026-03-03T10:00:00+08:00",
                 json_pack("{s:b, s:s, s:s, s:[s]}", "auction", 1, "price_method", "委托评估",
                           "asset_kind", "movable", "assets", "解放J6P货车一辆"));
}

static void announce_both(kit *k, const char *time)
{
    kit_complete(k, "(2026)豫0381执801号", "auction_announcement", "auction_clerk", "孙八", time,
                 json_pack("{s:s}", "platform", "人民法院诉讼资产网"));
    kit_complete(k, "(2026)豫0381执802号", "auction_announcement", "auction_clerk", "孙八", time,
                 json_pack("{s:s}", "platform", "人民法院诉讼资产网"));
}

static void test_auction(void **state)
{
    (void)state;
    kit k;
    pid_t engine, docs, service, nq, sc, auction;
    const char *http[] = {"CASEFLOW_WORKER_ADAPTER=http", fake_url, NULL};
    const char *c801 = "(2026)豫0381执801号", *c802 = "(2026)豫0381执802号";

    kit_init(&k, "auction");
    fake_start(&k);
    engine = kit_engine_start(&k, NULL);
    docs = kit_worker_start(&k, "documents", NULL);
    service = kit_worker_start(&k, "service", http);
    nq = kit_worker_start(&k, "network_query", NULL);
    sc = kit_worker_start(&k, "six_checks", NULL);
    auction = kit_worker_start(&k, "auction", http);
    to_auction(&k);

    /* Priced at 1,000,000 each; the price is sent to the parties on 03-03 (Tuesday): five days to
     * object, to Sunday 03-08, moved to Monday 03-09 at the end of the day. */
    expect_field(&k, c801, "reference_price", "1000000");
    expect_field(&k, c802, "reference_price", "1000000");
    kit_complete(&k, c801, "price_notice", "auction_clerk", "孙八", "2026-03-03T11:00:00+08:00",
                 json_pack("{s:s}", "served_on", "2026-03-03"));
    kit_complete(&k, c802, "price_notice", "auction_clerk", "孙八", "2026-03-03T11:00:00+08:00",
                 json_pack("{s:s}", "served_on", "2026-03-03"));
    expect_field(&k, c801, "price_objection_until", "2026-03-09T23:59:00+08:00");

    /* The first round at 70 %, announced on 03-10: real estate 30 days ahead (04-09), the lorry
     * 15 days (03-25). */
    kit_advance(&k, NULL, "2026-03-10T09:00:00+08:00");
    expect_field(&k, c801, "auction_reserve", "700000");
    announce_both(&k, "2026-03-10T09:30:00+08:00");
    expect_field(&k, c801, "auction_starts", "2026-04-09T10:00:00+08:00");
    expect_field(&k, c802, "auction_starts", "2026-03-25T10:00:00+08:00");

    /* No bid for either: the second round at 80 % of the first (560,000). */
    kit_advance(&k, NULL, "2026-04-10T11:00:00+08:00");
    expect_field(&k, c801, "auction_round", "2");
    expect_field(&k, c802, "auction_round", "2");
    expect_field(&k, c801, "auction_reserve", "560000");
    announce_both(&k, "2026-04-10T11:30:00+08:00");
    /* Second rounds: real estate 15 days ahead (04-25), movables 7 (04-17). */
    expect_field(&k, c801, "auction_starts", "2026-04-25T10:00:00+08:00");
    expect_field(&k, c802, "auction_starts", "2026-04-17T10:00:00+08:00");

    /* 801 sells at 600,000; 802 finds no bid again. */
    kit_advance(&k, NULL, "2026-04-27T09:00:00+08:00");
    expect_field(&k, c801, "auction_outcome", "sold");
    expect_field(&k, c801, "proceeds", "600000");
    expect_field(&k, c801, "proceeds_source", "auction");
    assert_int_equal(kit_count(&k, "select count(*) from tasks where case_no = "
                                   "'(2026)豫0381执801号' and kind = 'auction' and params ->> "
                                   "'step' = 'result' and (params ->> 'round')::int = 2 and "
                                   "(params ->> 'reserve')::numeric <= 0.8 * 700000 and result "
                                   "->> 'outcome' = 'sold'"),
                     1);
    assert_int_equal(kit_count(&k,
                               "select count(*) from events where type = 'proceeds.received' "
                               "and case_no = '(2026)豫0381执801号' and event_id like "
                               "'%:proceeds.received' and (body -> 'data' ->> 'amount')::numeric "
                               "= 600000 and body -> 'data' ->> 'source' = 'auction'"),
                     1);
    assert_int_equal(fake_requests("\"/auction\"", "执801号"), 2);

    /* 802: the applicant takes the lorry in payment at the second reserve. */
    kit_complete(&k, c802, "auction_disposal", "auction_clerk", "孙八", "2026-04-27T10:00:00+08:00",
                 json_pack("{s:s}", "disposal", "in_payment"));
    expect_field(&k, c802, "auction_outcome", "以物抵债");
    expect_field(&k, c802, "debt_offset", "560000");
    assert_int_equal(kit_count(&k, "select count(*) from events where type = 'proceeds.received' "
                                   "and case_no = '(2026)豫0381执802号'"),
                     0);
    assert_int_equal(kit_count(&k, "select count(*) from dead_letters"), 0);

    kit_engine_stop(&k, auction, SIGTERM);
    kit_engine_stop(&k, sc, SIGTERM);
    kit_engine_stop(&k, nq, SIGTERM);
    kit_engine_stop(&k, service, SIGTERM);
    kit_engine_stop(&k, docs, SIGTERM);
    kit_engine_stop(&k, engine, SIGTERM);
    kit_done(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_service, teardown),
        cmocka_unit_test_teardown(test_auction, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
