-- Notices and batch schedules per court (#16).
--
-- A notice is its court's: the engine writes the court of the case it is about (a refusal, a
-- workflow's notify) or whose tasks it lists (a court's weekly overdue list).  NULL: the home
-- court, the first of the configuration's `courts:` (as accounts.court), which is also what every
-- notice of a one-court installation is.  Staff, leads and auditors of a court see their court's
-- notices only.  The notices written before this migration get the court of their case where
-- its number names one; an overdue list has no case and stays the home court's.
alter table notices add column court text;
update notices n set court = caseflow_court(n.case_no, c.body -> 'data' ->> 'court')
    from cases c where c.case_no = n.case_no;
create index notices_court_post on notices (court, post, created_at desc);

-- Each court's batched kinds follow their court's calendar: one schedule row per kind and court.
-- '' is the home court's (and the only one of a one-court installation): the rows there before
-- stay its own.
alter table batch_schedule add column court text not null default '';
alter table batch_schedule drop constraint batch_schedule_pkey;
alter table batch_schedule add primary key (kind, court);
