#!/usr/bin/python3
"""The web workplace in a real browser: Debian's headless Chromium driven through chromedriver by
python3-selenium, against the `caseflow serve`, engine and workers that
tests/integration/test_web.c started on the test stack (its database and topic prefix).

The scenario of issue #11: the bureau lead and the team clerks log in; a new case arrives through
HTTP ingest and appears in the filing reviewer's inbox without a reload; the filing reviewer
(立案审查员) completes the review (#12: before the intake check), and the case appears in the intake
post's inbox without a reload; the intake clerk completes the check with the form the workflow declares (the session ends while the form is filled in, and
nothing typed is lost); the simulated clock moves on and the case's execution task appears in the
team_1 clerk's inbox without a reload; the team_1 clerk claims and completes it; the team_2 clerk
opening that task's address gets a clear "not your post" page; the wall's counts change; the
auditor replays the case and sees every link of the chain verified, and a tampered copy shown as
broken; the team_1 clerk reads the notice the workflow sent of the new case (#12), and closes the
case (执行完毕) from its page with the decision form the workflow declares.  Every step saves a screenshot; axe-core checks every page (no serious or critical
violations); the browsers' DevTools network logs show that no request left 127.0.0.1.

Environment (set by test_web.c): CF_WEB_BASE (http://127.0.0.1:PORT), CF_WEB_SHOTS (the
screenshots' folder), CF_WEB_TOKEN (an ingest token), CF_WEB_CASE and CF_WEB_COPY (the new case's
number and the tampered copy's), CASEFLOW_BIN, CASEFLOW_PG, CASEFLOW_KAFKA,
CASEFLOW_TOPIC_PREFIX and CASEFLOW_WORKFLOWS (for `caseflow feed` and psql).  Passwords are
"password-of-" and the account's name.  Exits 0 when every check passed.
"""

import json
import os
import subprocess
import sys
import time
import traceback
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["CF_WEB_BASE"].rstrip("/")
SHOTS = os.environ["CF_WEB_SHOTS"]
TOKEN = os.environ["CF_WEB_TOKEN"]
CASE = os.environ["CF_WEB_CASE"]
NEXT = "(2026)豫0381执306号"
COPY = os.environ["CF_WEB_COPY"]
HERE = os.path.dirname(os.path.abspath(__file__))
AXE = open(os.path.join(HERE, "vendor", "axe-core", "axe.min.js"), encoding="utf-8").read()

LEAD, REVIEWER, INTAKE, TEAM1, TEAM2, AUDITOR, ADMIN = "陈局", "吴十", "王芳", "李明", "赵强", "孙审", "管理员"

failures = []
shot_no = 0
drivers = {}
requests_seen = []  # (who, url) of every request a page made
console_problems = []
axe_checked = set()


def log(*args):
    print("browser:", *args, flush=True)


def check(cond, what):
    if cond:
        log("ok  ", what)
    else:
        log("FAIL", what)
        failures.append(what)
    return cond


# ---- browsers -----------------------------------------------------------------------------------

def browser(who, width=1366, height=768):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--window-size={width},{height}", "--lang=zh-CN", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps",
        "--disable-extensions", "--disable-client-side-phishing-detection",
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
        # Belt and braces: a request to anywhere but this machine goes to a dead proxy and
        # names resolve to nothing.  The check itself is the network log below.
        "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ]:
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_window_size(width, height)
    d.set_script_timeout(60)
    drivers[who] = d
    return d


def drain(who, d):
    """Moves what the browser logged into requests_seen and console_problems."""
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            requests_seen.append((who, m["params"]["request"]["url"]))
    for e in d.get_log("browser"):
        text = e.get("message", "")
        # Failed API calls (a 401 before login, a 404 on purpose) are not problems of the page.
        if e.get("level") == "SEVERE" and "Failed to load resource" not in text:
            console_problems.append((who, text))


def close(who):
    d = drivers.pop(who)
    drain(who, d)
    d.quit()


def shot(d, name):
    global shot_no
    shot_no += 1
    path = os.path.join(SHOTS, f"{shot_no:02d}-{name}.png")
    d.save_screenshot(path)
    log("screenshot", path)


def axe(d, label):
    """Runs axe-core on the page as it is now; serious and critical violations fail."""
    d.execute_script(AXE)
    found = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ("
        "{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    for v in found:
        log(f"axe {label}: {v['impact']} {v['id']}: {v['help']} {v['nodes']}")
    axe_checked.add(label)
    check(not bad, f"axe-core: no serious or critical violations on {label}")


def wait(d, cond, what, seconds=60):
    # Pages redraw while we read them: an element gone between finding and reading it is
    # "not yet", not a failure.
    try:
        return WebDriverWait(d, seconds, poll_frequency=0.25,
                             ignored_exceptions=(StaleElementReferenceException,)).until(cond)
    except TimeoutException:
        check(False, f"within {seconds} s: {what}")
        raise


def css(d, sel):
    return d.find_elements(By.CSS_SELECTOR, sel)


def click(d, sel, seconds=30):
    """Clicks the first element `sel` matches.  The inbox redraws itself whenever its queue
    changes, so an element found a moment ago may be gone: it is found again."""
    deadline = time.time() + seconds
    while True:
        try:
            css(d, sel)[0].click()
            return
        except (StaleElementReferenceException, IndexError):
            if time.time() > deadline:
                check(False, f"within {seconds} s: something to click at {sel}")
                raise
            time.sleep(0.2)


def text_of(d, sel):
    try:
        els = css(d, sel)
        return els[0].text if els else ""
    except StaleElementReferenceException:
        return ""


def open_form(d, row, first, titles, what):
    """Opens the completion form of the task in inbox row `row` and checks that it has the
    fields the workflow declares (their titles); `first` is the id of a field to wait for."""
    click(d, row + " button.primary")
    wait(d, lambda d: css(d, f"dialog.task-dialog[open] #{first}"), f"the {what} form opens")
    form_text = text_of(d, "dialog.task-dialog")
    check(all(t in form_text for t in titles), f"the {what} form has the fields the workflow declares")


def review(d, row, picture=None):
    """The filing reviewer finds the case of inbox row `row` enforceable and its parties right."""
    open_form(d, row, "f-enforceable-yes", ["执行依据已生效且具有给付内容", "执行主体信息准确"], "review")
    d.find_element(By.ID, "f-enforceable-yes").click()
    d.find_element(By.ID, "f-parties_ok-yes").click()
    click(d, "dialog.task-dialog button[type=submit]")
    wait(d, lambda d: "已办结" in text_of(d, "dialog.task-dialog .verdict"), "the review goes through", 60)
    verdict = text_of(d, "dialog.task-dialog .verdict")
    check("立案信息核查" in verdict, f"the engine's verdict names the intake check next: {verdict}")
    if picture:
        shot(d, picture)
    click(d, "dialog.task-dialog .actions button")
    wait(d, lambda d: not css(d, row), "the done review leaves the reviewer's inbox")


def login(d, name, land):
    d.get(BASE + "/login.html")
    wait(d, lambda d: css(d, "#name"), "the login form")
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "password").send_keys("password-of-" + name)
    d.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(d, lambda d: text_of(d, "header.top .who .name") == name, f"{name} is logged in")
    check(d.current_url.startswith(BASE + land), f"{name} lands on {land} ({d.current_url})")


# ---- the outside: ingest, the clock, the database -----------------------------------------------

def ingest(events):
    req = urllib.request.Request(BASE + "/api/v1/events", data=json.dumps(events).encode(),
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.load(r)
    check(body.get("accepted") == len(events), f"ingest accepted {len(events)} event(s): {body}")


def filed(case_no, event_id, when):
    return {"id": event_id, "type": "case.filed", "case": case_no, "time": when, "source": "filing",
            "data": {"court": "豫0381", "case_type": "执", "filed_at": when, "cause": "买卖合同纠纷",
                     "basis": {"document_no": "(2025)豫0381民初2231号", "court_name": "偃师区人民法院",
                               "effective_date": "2025-12-20"},
                     "applicants": [{"kind": "person", "name": "周建国", "id_number": "410381197803150017"}],
                     "respondents": [{"kind": "company", "name": "洛阳恒达建材有限公司",
                                      "id_number": "91410381MA44XXXX1K", "address": "偃师区工业园区纬二路8号"}],
                     "amount": 186000, "claim_kind": "money"}}


def clock_to(when, event_id):
    """Moves the engine's simulated clock (a control event: only Kafka takes it, not ingest)."""
    line = json.dumps({"id": event_id, "type": "clock.advance", "case": "-", "time": when,
                       "source": "filing", "data": {"to": when}})
    r = subprocess.run([os.environ["CASEFLOW_BIN"], "feed", "-"], input=line + "\n", text=True,
                       capture_output=True, timeout=60)
    check(r.returncode == 0, f"the clock moves to {when} ({r.stderr.strip()})")


def psql(sql):
    r = subprocess.run(["psql", "-qAtX", os.environ["CASEFLOW_PG"], "-c", sql], text=True,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr}")
    return r.stdout.strip()


def wait_task(activity, seconds):
    """Waits until the workers have done the scenario case's task `activity`."""
    sql = (f"select status from tasks where case_no = '{CASE}' and activity = '{activity}' "
           "order by created_at desc limit 1")
    deadline = time.time() + seconds
    status = ""
    while time.time() < deadline:
        status = psql(sql)
        if status == "done":
            break
        time.sleep(0.5)
    check(status == "done", f"the workers have done {activity} ({status or 'not there'})")


# ---- the scenario -------------------------------------------------------------------------------

def scenario():
    lead = browser(LEAD, 1920, 1080)
    reviewer = browser(REVIEWER)
    intake = browser(INTAKE)
    team1 = browser(TEAM1)
    team2 = browser(TEAM2)

    # The login page itself, before anyone logs in.
    intake.get(BASE + "/")
    wait(intake, lambda d: "/login.html" in d.current_url, "an anonymous visit goes to the login page")
    shot(intake, "login")
    axe(intake, "login")

    login(lead, LEAD, "/wall.html")
    login(reviewer, REVIEWER, "/")
    login(intake, INTAKE, "/")
    login(team1, TEAM1, "/")
    login(team2, TEAM2, "/")
    check(text_of(reviewer, "header.top .who .post") == "立案审查员", "the filing reviewer's post is in the header")
    check(text_of(intake, "header.top .who .post") == "集约启动岗", "the intake clerk's post is in the header")
    check(text_of(team1, "header.top .who .post") == "执行一团队", "the team_1 clerk's post is in the header")

    wait(lead, lambda d: css(d, "#tile-open .value"), "the wall shows its counts")
    shot(lead, "wall-before")
    axe(lead, "wall")
    open_before = int(text_of(lead, "#tile-open .value"))

    wait(intake, lambda d: "live on" in (css(d, "#live")[0].get_attribute("class") or ""),
         "the intake inbox follows its post's event stream")
    shot(intake, "inbox-intake-before")
    axe(intake, "inbox")
    wait(team1, lambda d: css(d, "#live.on"), "the team_1 inbox follows its stream")
    wait(reviewer, lambda d: css(d, "#live.on"), "the filing reviewer's inbox follows its stream")

    # A new case comes in from the filing system, over HTTP.  The pages must not reload.
    reviewer.execute_script("window.cfMark = 'same page'")
    intake.execute_script("window.cfMark = 'same page'")
    ingest([filed(CASE, "web-filed-1", "2026-03-02T09:10:00+08:00")])
    row = f'tr[data-case="{CASE}"]'
    wait(reviewer, lambda d: css(d, row), "the new case appears in the filing reviewer's inbox", 60)
    check(reviewer.execute_script("return window.cfMark") == "same page",
          "the new case came to the reviewer without a reload")
    shot(reviewer, "inbox-review-new-case")

    # The filing review comes first (#12): enforceable, the parties right; then the intake check.
    review(reviewer, row, "review-verdict")

    wait(intake, lambda d: css(d, row), "the reviewed case appears in the intake inbox", 60)
    check(intake.execute_script("return window.cfMark") == "same page",
          "the new case came without a reload")
    check("新" in text_of(intake, row), "the new row is marked new")
    shot(intake, "inbox-intake-new-case")

    # The intake check, with the form of the workflow.  First nothing: refused before sending.
    open_form(intake, row, "f-complete-yes", ["立案信息完整准确", "特殊案件"], "completion")
    click(intake, "dialog.task-dialog button[type=submit]")
    wait(intake, lambda d: "请填写" in text_of(d, "#f-complete-problem"), "a missing answer is refused before sending")
    shot(intake, "complete-form-refused")
    axe(intake, "completion form")
    intake.find_element(By.ID, "f-complete-no").click()
    wait(intake, lambda d: text_of(d, "#f-complete-problem") == "", "an answer clears its refusal")
    click(intake, "dialog.task-dialog button[type=submit]")
    wait(intake, lambda d: "请填写" in text_of(d, "#f-problems-problem"), "'no' needs what is to be corrected")
    intake.find_element(By.ID, "f-complete-yes").click()
    intake.find_element(By.ID, "f-problems").send_keys("材料齐全，核对无误")

    # The session ends while the clerk fills in the form: a login over the page, nothing lost.
    psql(f"delete from sessions where account_id = (select id from accounts where name = '{INTAKE}')")
    click(intake, "dialog.task-dialog button[type=submit]")
    wait(intake, lambda d: css(d, "dialog.relogin[open]"), "an ended session asks for the password again")
    shot(intake, "session-ended")
    axe(intake, "login dialog")
    intake.find_element(By.ID, "relogin-password").send_keys("password-of-" + INTAKE)
    click(intake, "dialog.relogin button[type=submit]")
    wait(intake, lambda d: "已办结" in text_of(d, "dialog.task-dialog .verdict"),
         "after logging in again the completion goes through with what was typed", 60)
    verdict = text_of(intake, "dialog.task-dialog .verdict")
    check("文书制作与集约送达" in verdict, f"the engine's verdict names the next state: {verdict}")
    shot(intake, "complete-verdict")
    click(intake, "dialog.task-dialog .actions button")
    wait(intake, lambda d: not css(d, row), "the done task leaves the inbox")

    # The wall sees the case move (it refreshes by itself every 10 s).
    wait(lead, lambda d: any("文书制作与集约送达" in r.text for r in css(d, "#state-table tbody tr")),
         "the wall shows the case in 文书制作与集约送达", 40)
    check(int(text_of(lead, "#tile-open .value")) == open_before + 1, "the wall counts one more open case")
    shot(lead, "wall-after-intake")

    # The clock moves on: the notices are served at 14:00, the registry trip is on Wednesday;
    # then the case waits for its handler, team_1 (sequence 301).
    # The clock moves on only after the work it is waiting for, as the day would have it.
    wait_task("notices", 120)
    clock_to("2026-03-02T16:00:00+08:00", "web-clock-1")
    wait_task("service_respondent_1", 120)
    clock_to("2026-03-04T12:00:00+08:00", "web-clock-2")
    team1.execute_script("window.cfMark = 'same page'")
    wait(team1, lambda d: css(d, row), "the case's execution task appears in the team_1 inbox", 180)
    check(team1.execute_script("return window.cfMark") == "same page", "it came without a reload")
    shot(team1, "inbox-team1-new-task")
    task_link = css(team1, row + " td a[href^='/task.html']")[0].get_attribute("href")

    # team_1 claims, then completes.
    click(team1, row + " button[aria-label^='领取']")
    wait(team1, lambda d: "本人" in text_of(d, row), "the claim shows in place")
    click(team1, row + " button.primary")
    wait(team1, lambda d: css(d, "dialog.task-dialog[open] #f-auction-no"), "the execution form opens")
    team1.find_element(By.ID, "f-auction-no").click()
    team1.find_element(By.ID, "f-note").send_keys("冻结被执行人银行存款，查封车辆一辆")
    shot(team1, "complete-execution-form")
    click(team1, "dialog.task-dialog button[type=submit]")
    wait(team1, lambda d: "已办结" in text_of(d, "dialog.task-dialog .verdict"), "the engine applies team_1's result", 60)
    shot(team1, "complete-execution-verdict")
    click(team1, "dialog.task-dialog .actions button")

    # The workflow told team_1 of its new case (notify): a notice above the inbox, marked read
    # in the clerk's name (#12).
    notice = "#notice-list li[data-notice]"
    wait(team1, lambda d: any("新收执行案件" in n.text and CASE in n.text for n in css(d, notice)),
         "team_1's notices show the new case", 60)
    shot(team1, "inbox-team1-notice")
    axe(team1, "inbox with notices")
    click(team1, notice + " button[aria-label^='标为已读']")
    wait(team1, lambda d: not any("新收执行案件" in n.text and CASE in n.text for n in css(d, notice)),
         "a notice read leaves the list")
    reader = psql("select read_by from notices where post = 'team_1' and case_no = '" + CASE +
                  "' and read_at is not null")
    check(reader == TEAM1, f"the notice records its reader: {reader!r}")

    # Meanwhile at intake: Wednesday now, so Monday's checks are overdue (red), and a case filed
    # today is due today (highlighted) and new.
    ingest([filed(NEXT, "web-filed-2", "2026-03-04T10:05:00+08:00")])
    wait(reviewer, lambda d: css(d, f'tr[data-case="{NEXT}"]'), "the next case comes to the reviewer", 60)
    review(reviewer, f'tr[data-case="{NEXT}"]')
    close(REVIEWER)
    wait(intake, lambda d: css(d, f'tr[data-case="{NEXT}"]'), "the next case appears at intake", 60)
    wait(intake, lambda d: css(d, "tr.overdue") and css(d, "tr.today"),
         "the intake inbox marks the overdue and the due today", 30)
    check(css(intake, "tr.overdue td.due .badge.overdue"), "overdue tasks say so in red")
    # Tall enough for every row (the picture in the README).
    intake.set_window_size(1366, 900)
    shot(intake, "inbox-intake-overdue-and-today")
    intake.set_window_size(1366, 768)
    # The batch work of a post: two of the overdue checks claimed together.
    for no in ("(2026)豫0381执303号", "(2026)豫0381执304号"):
        click(intake, f'tr[data-case="{no}"] input.pick')
    check("（2）" in text_of(intake, "#bulk"), "the bulk claim counts the tasks ticked")
    click(intake, "#bulk")
    wait(intake, lambda d: "已领取 2 项" in text_of(d, "#status"), "two tasks claimed at once")
    wait(intake, lambda d: all("本人" in text_of(d, f'tr[data-case="{no}"]')
                               for no in ("(2026)豫0381执303号", "(2026)豫0381执304号")),
         "both show as claimed by the clerk")

    # team_2 opens that task's address: not theirs.
    team2.get(task_link)
    wait(team2, lambda d: css(d, ".refusal h1"), "team_2 sees a page for the task")
    page = text_of(team2, ".refusal")
    check("不是您岗位的任务" in text_of(team2, ".refusal h1") and "执行二团队" in page,
          f"team_2 is told plainly it is not their post's task: {page}")
    shot(team2, "not-your-post")
    axe(team2, "not your post")

    # The wall again: the case is in execution now.
    wait(lead, lambda d: any("执行实施" in r.text for r in css(d, "#state-table tbody tr")),
         "the wall shows the case in 执行实施", 40)
    shot(lead, "wall-after-execution")

    # The case page, as the lead sees it: the lifecycle, the documents.
    lead.get(BASE + "/case.html?no=" + urllib.parse.quote(CASE))
    wait(lead, lambda d: css(d, "svg.lifecycle .node.current"), "the case page draws the lifecycle")
    check("执行实施" in text_of(lead, "svg.lifecycle .node.current"), "the current state is marked")
    wait(lead, lambda d: css(d, "#docs + ul a"), "the documents are listed")
    pdf = lead.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(document.querySelector('#docs + ul a').href).then(r => r.arrayBuffer().then(b => "
        "done([r.status, r.headers.get('Content-Type'), new TextDecoder().decode(b.slice(0, 5))])))"
        ".catch(e => done([0, String(e), '']));")
    check(pdf[0] == 200 and pdf[1] == "application/pdf" and pdf[2] == "%PDF-", f"a document downloads as PDF: {pdf}")
    shot(lead, "case-page")
    axe(lead, "case page")
    lead.get(BASE + "/case.html")
    wait(lead, lambda d: css(d, "#results table"), "the case search lists cases")
    axe(lead, "case search")

    # The team_1 inbox, the task page, as the clerk sees them now.
    team1.get(task_link)
    wait(team1, lambda d: css(d, "#facts"), "the clerk's own task page opens")
    axe(team1, "task page")
    team1.get(BASE + "/")
    wait(team1, lambda d: css(d, "#counts b"), "the team_1 inbox")
    shot(team1, "inbox-team1-after")

    # The team_1 clerk closes the case from its page (决定 → 结案, 执行完毕): the decisions their
    # post may make are listed, the form is the one the workflow declares, and the event is in
    # the clerk's name.
    team1.get(BASE + "/case.html?no=" + urllib.parse.quote(CASE))
    wait(team1, lambda d: css(d, "#dc + .decisions button[data-decision=close]"),
         "the case page lists team_1's decisions")
    offered = [b.get_attribute("data-decision") for b in css(team1, "#dc + .decisions button")]
    check("suspend" not in offered and "payout_confirmed" not in offered,
          f"only the decisions of the clerk's post are offered: {offered}")
    team1.execute_script("document.getElementById('dc').scrollIntoView({block: 'center'})")
    shot(team1, "case-decisions")
    axe(team1, "case page (staff, decisions)")
    click(team1, "#dc + .decisions button[data-decision=close]")
    wait(team1, lambda d: css(d, "dialog.task-dialog[open] #f-close_method"), "the closing form opens")
    click(team1, "dialog.task-dialog button[type=submit]")
    wait(team1, lambda d: "请填写" in text_of(d, "#f-close_method-problem"),
         "a closing without its method is refused before sending")
    Select(team1.find_element(By.ID, "f-close_method")).select_by_visible_text("执行完毕")
    wait(team1, lambda d: text_of(d, "#f-close_method-problem") == "",
         "the refusal's message goes once a method is chosen")
    shot(team1, "decision-close-form")
    axe(team1, "decision form")
    click(team1, "dialog.task-dialog button[type=submit]")
    wait(team1, lambda d: "已作出决定" in text_of(d, "dialog.task-dialog .verdict"),
         "the engine applies the closing", 60)
    verdict = text_of(team1, "dialog.task-dialog .verdict")
    check("已结案" in verdict, f"the verdict says the case is closed: {verdict}")
    shot(team1, "decision-close-verdict")
    click(team1, "dialog.task-dialog .actions button")
    wait(team1, lambda d: "已结案" in text_of(d, ".case-head .state"), "the case page shows it closed")
    wait(team1, lambda d: "不能对本案作出决定" in text_of(d, "#dc + p"), "no decision is left to make")
    source = psql("select source || ' ' || (body -> 'data' ->> 'close_method') from events where case_no = '"
                  + CASE + "' and type = 'case.decided'")
    check(source == "staff:team_1:" + TEAM1 + " 执行完毕", f"the closing is in the clerk's name: {source}")
    team1.execute_script("window.scrollTo(0, 0)")
    shot(team1, "case-closed")

    close(INTAKE)
    close(TEAM2)

    # The auditor replays the case: every link verified.  Then the tampered copy.
    auditor = browser(AUDITOR)
    login(auditor, AUDITOR, "/replay.html")
    auditor.get(BASE + "/replay.html?case=" + urllib.parse.quote(CASE))
    wait(auditor, lambda d: css(d, "#events tbody tr"), "the replay lists the case's events")
    rows = css(auditor, "#events tbody tr")
    links = [r.find_elements(By.CSS_SELECTOR, "td")[5].text for r in rows]
    check(len(rows) >= 5 and all("已验证" in t for t in links), f"every link of the chain is verified ({len(rows)} events)")
    check("验证通过" in text_of(auditor, "#vh"), "the replay verifies the case")
    shot(auditor, "replay-verified")
    axe(auditor, "replay")
    auditor.get(BASE + "/replay.html?case=" + urllib.parse.quote(COPY))
    wait(auditor, lambda d: css(d, "#events tbody tr"), "the replay lists the copy's events")
    broken = css(auditor, "#events tbody tr.broken")
    check(len(broken) == 1 and broken[0].get_attribute("data-seq") == "1",
          "the tampered event of the copy is shown as broken")
    check("验证未通过" in text_of(auditor, "#vh"), "the copy does not verify")
    auditor.execute_script("document.querySelector('#events tr.broken').scrollIntoView({block: 'center'})")
    shot(auditor, "replay-tampered")
    axe(auditor, "replay of a tampered case")
    auditor.get(BASE + "/case.html?no=" + urllib.parse.quote(CASE))
    wait(auditor, lambda d: css(d, "svg.lifecycle"), "the auditor's case page")
    check("周*" in text_of(auditor, "main") and "周建国" not in text_of(auditor, "main"),
          "the auditor sees the parties masked")
    axe(auditor, "case page (auditor)")

    # The administrator's accounts.
    admin = browser(ADMIN)
    login(admin, ADMIN, "/accounts.html")
    wait(admin, lambda d: css(d, "#account-table"), "the accounts are listed")
    admin.find_element(By.ID, "a-name").send_keys("钱多")
    click(admin, "#add button[type=submit]")
    wait(admin, lambda d: css(d, 'tr[data-account="钱多"]'), "an added account is listed")
    shot(admin, "accounts")
    axe(admin, "accounts")
    admin.get(BASE + "/nowhere.html")
    wait(admin, lambda d: css(d, ".refusal"), "a missing page has a readable 404")
    axe(admin, "404")

    # The wall at the clerk's screen size too.
    lead.set_window_size(1366, 768)
    lead.get(BASE + "/wall.html")
    wait(lead, lambda d: css(d, "#state-table"), "the wall at 1366×768")
    shot(lead, "wall-1366")
    lead.get(BASE + "/?post=team_1")
    wait(lead, lambda d: css(d, "#counts b"), "the lead's view of a post's inbox")
    axe(lead, "inbox (lead)")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    for old in os.listdir(SHOTS):  # the pictures of an earlier run would mislead
        if old.endswith(".png"):
            os.remove(os.path.join(SHOTS, old))
    code = 0
    try:
        scenario()
    except Exception:
        traceback.print_exc()
        failures.append("the scenario stopped: " + traceback.format_exc().splitlines()[-1])
        for who, d in drivers.items():
            try:
                d.save_screenshot(os.path.join(SHOTS, f"failed-{who}.png"))
            except Exception:
                pass
    for who, d in list(drivers.items()):
        try:
            drain(who, d)
        except Exception:
            pass
    # No request left this machine.
    port = urllib.parse.urlsplit(BASE).port
    outside = [(w, u) for w, u in requests_seen
               if not (u.startswith(f"http://127.0.0.1:{port}/") or u.startswith("data:")
                       or u.startswith("blob:") or u.startswith("about:"))]
    check(len(requests_seen) > 50, f"the network logs were read ({len(requests_seen)} requests)")
    check(not outside, f"no request left 127.0.0.1: {outside[:5]}")
    check(not console_problems, f"no errors in the browsers' consoles (CSP included): {console_problems[:5]}")
    for d in drivers.values():
        try:
            d.quit()
        except Exception:
            pass
    log(f"axe-core checked {len(axe_checked)} pages: {', '.join(sorted(axe_checked))}")
    if failures:
        log(f"{len(failures)} check(s) failed:")
        for f in failures:
            log("  -", f)
        code = 1
    else:
        log("every check passed")
    return code


if __name__ == "__main__":
    sys.exit(main())
