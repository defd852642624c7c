-- Notices (#12): a message addressed to a post, not a task of a case.  Staff of the post see them
-- in the workplace and through GET /api/v1/notices (the bureau lead's role sees all of them),
-- and mark them read: who did and when (by the engine's clock) is kept on the row.
--
-- The engine writes three kinds, each once, whatever is replayed or restarted (`key`):
--   refusal   a staff member's event the workflow refused (a decision the sender's post may not
--             make): to the sender's post, in the same transaction as the dead letter;
--             key refusal:<event id>
--   workflow  a `notify` action of a workflow with a post: in the same transaction as the
--             event that took it; key notify:<case>:<seq>:<the action's place>
--   overdue   the week's list of overdue staff tasks, to each post and the bureau lead, written
--             by the engine's ticker once per week (notice_weeks); key
--             overdue:<week's first day>:<post>
create table notices (
    id          bigserial primary key,
    key         text not null unique,
    post        text not null,
    kind        text not null check (kind in ('refusal', 'workflow', 'overdue')),
    case_no     text,
    title       text not null,
    body        jsonb not null default '{}',
    created_at  timestamptz not null,    -- the engine's clock
    read_at     timestamptz,             -- the engine's clock when it was marked read
    read_by     text                     -- the account that marked it read
);
create index notices_post on notices (post, created_at desc);

-- The weeks whose overdue lists went out: the row and the lists commit together, so a list is
-- made once per week by whichever engine comes first, and again by none after a restart.
create table notice_weeks (
    list  text not null,
    week  date not null,
    at    timestamptz not null,
    primary key (list, week)
);

do $$
begin
    -- A notice is never removed or reworded by the engine; it is only marked read.
    execute format('revoke delete, truncate on notices, notice_weeks from %I',
                   current_setting('caseflow.engine_role'));
    execute format('revoke update on notice_weeks from %I',
                   current_setting('caseflow.engine_role'));
end;
$$;
