-- caseflow's database, version 1: the truth about every case.
--
-- cases        the current state of each case (what the transition function returns)
-- events       the append-only, hash-chained log of every event applied to a case
-- timers       durable timers; a due one becomes a timer.fired event through the outbox
-- tasks        work for workers and staff queues, with post, status and due date
-- outbox       messages to publish to Kafka, written in the same transaction as their cause
-- consumer_offsets  where the engine resumes in each partition, fenced by a generation
-- dead_letters what was rejected and why (the message itself goes to caseflow.dlq)
-- engine_clock the engine's clock: the real one, or a simulated one moved by events

create table cases (
    case_no     text primary key,
    workflow    text not null,
    version     integer not null,
    state       text not null,
    seq         bigint not null,
    body        jsonb not null,          -- the full state object of core/machine.h
    team        text,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    head_hash   text not null            -- SHA-256 (hex) of the case's last event
);
create index cases_state on cases (workflow, state);

create table events (
    case_no       text not null,
    seq           bigint not null,
    event_id      text not null,
    type          text not null,
    source        text not null,
    event_time    timestamptz not null,
    applied_at    timestamptz not null,  -- the engine's clock when it was applied: replay uses it
    body          jsonb not null,        -- the envelope as received
    state_before  text not null,         -- '' when the event created the case
    state_after   text not null,
    actions       jsonb not null,
    prev_hash     text not null,         -- SHA-256 (hex) of the previous event, or 64 zeros
    hash          text not null,         -- SHA-256 (hex) chaining this event to prev_hash
    primary key (case_no, seq),
    constraint events_event_id unique (event_id)
);

-- The log is append-only: the database itself refuses to change or remove an event.
create function cf_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'caseflow: the event log is append-only (% refused on events)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger events_no_update before update or delete on events
    for each row execute function cf_events_append_only();
create trigger events_no_truncate before truncate on events
    for each statement execute function cf_events_append_only();

create table timers (
    case_no  text not null,
    name     text not null,
    due_at   timestamptz not null,
    primary key (case_no, name)
);
create index timers_due on timers (due_at);

create table tasks (
    task_id      text primary key,
    case_no      text not null,
    activity     text not null,
    kind         text not null,
    post         text,
    worker       boolean not null,
    status       text not null check (status in
                     ('open', 'claimed', 'done', 'failed', 'returned', 'cancelled')),
    title        text,
    params       jsonb not null default '{}',
    due_at       timestamptz,
    batch_group  text,                   -- batched worker kinds: the group key
    dispatched_at timestamptz,           -- when it went to its worker (alone or in a batch)
    claimed_by   text,
    result       jsonb,
    created_at   timestamptz not null,
    updated_at   timestamptz not null
);
create index tasks_queue on tasks (post, status, due_at);
create index tasks_case on tasks (case_no);
create index tasks_batch on tasks (kind, dispatched_at) where batch_group is not null;

create table batch_schedule (
    kind     text primary key,
    next_at  timestamptz not null
);

create table outbox (
    id       bigserial primary key,
    topic    text not null,
    key      text,
    msg_id   text not null,              -- stable id consumers deduplicate by
    payload  bytea not null,
    created_at timestamptz not null default now()
);

create table consumer_offsets (
    group_id    text not null,
    topic       text not null,
    partition   integer not null,
    next_offset bigint not null,
    generation  bigint not null,
    owner       text,
    primary key (group_id, topic, partition)
);

create table dead_letters (
    id          bigserial primary key,
    event_id    text,
    case_no     text,
    reason      text not null,
    topic       text not null,
    partition   integer not null,
    "offset"    bigint not null,
    size        integer not null,
    at          timestamptz not null default now()
);

create table duplicates (
    event_id    text primary key,
    seen        bigint not null default 1,
    last_at     timestamptz not null default now()
);

create table engine_clock (
    id    integer primary key check (id = 1),
    mode  text not null check (mode in ('real', 'simulated')),
    now   timestamptz
);
