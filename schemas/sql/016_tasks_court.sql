-- A task's court as a column (#14, #16): a post's queue of one court straight from an index.
--
-- Since the courts (014), a member of staff's queue held their court's tasks alone, told per
-- open task by a probe of its case and caseflow_court's regular expression: with 2,000 to 3,000
-- open tasks on a post the queue's count took 75-100 ms against 4 ms without the filter, and a
-- page's p99 was 67-113 ms (docs/performance.md, "Issue #14, the database side").
--
-- tasks.court is the court of the task's case as caseflow_court tells it (core/caseno.c's
-- cf_caseno_court): the court code of its number, else the court its filing named, else NULL:
-- the home court, the first of the configuration's `courts:`, as for accounts.court and
-- notices.court.  The engine writes it with each task it makes; the tasks made before get it here.
alter table tasks add column court text;
update tasks t set court = x.court
    from (select k.task_id, caseflow_court(k.case_no, c.body -> 'data' ->> 'court') as court
          from tasks k left join cases c on c.case_no = k.case_no) x
    where x.task_id = t.task_id and x.court is not null;

-- A court's post's queue in queue order, as tasks_staff_queue (006) is a post's: the list's page
-- and counts of a court other than the home court read that court's entries alone
-- (engine/cases.h, CF_TASK_COURT_SQL).
create index tasks_court_queue on tasks (court, post, due_at, created_at, case_no, task_id)
    include (status)
    where not worker and status in ('open', 'claimed');
-- The home court's are its code's and NULL's: two ranges of tasks_court_queue come out of queue
-- order and without the status (a bitmap scan of the tasks' rows and a sort).  The post's queue
-- index with the court alongside serves them instead, in order, the court checked on its entries.
create index tasks_staff_queue_court on tasks (post, due_at, created_at, case_no, task_id)
    include (status, court)
    where not worker and status in ('open', 'claimed');
drop index tasks_staff_queue;
-- 001's tasks_queue (post, status, due_at) took a post's queue from the planner whenever its
-- statistics were behind (a morning's filings after the last ANALYZE: estimated a row or two):
-- read through it, the 2,000 open tasks were fetched and sorted (9-32 ms a page against 0.1-0.3
-- through tasks_staff_queue_court, in order).  What else looked tasks up by post (does a post
-- reach a case) needs the post alone.
create index tasks_post on tasks (post);
drop index tasks_queue;

-- The open staff tasks are few among all tasks and gather on a few posts: estimated as if post,
-- worker and status were independent, a post's queue of 6,000 looked like 41 rows, and the
-- planner sorted all of them rather than read 50 in index order (23-46 ms against 1-3 ms).
create statistics tasks_queue_mcv (mcv) on post, worker, status from tasks;
