-- Each engine's health, for operators (`caseflow stats`) and the server's /metrics: how many
-- commits failed in a row now and in all, and how many events the database refused and the
-- engine dead-lettered after finding them by applying a refused batch one event at a time.
create table engine_status (
    owner            text primary key,     -- host:pid of the engine process
    failing          integer not null,     -- commits failed in a row (0: healthy)
    commit_failures  bigint not null,      -- since the process started
    isolated         bigint not null,      -- events the database refused, dead-lettered
    last_failure     text,
    last_failure_at  timestamptz,
    updated_at       timestamptz not null
);
