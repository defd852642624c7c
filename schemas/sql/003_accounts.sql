-- caseflow's database, version 3: who may use the workplace API (`caseflow serve`).
--
-- accounts          people and service accounts, with their role and (staff) post
-- sessions          logged-in browsers: only the SHA-256 of the cookie's value is stored
-- tokens            service accounts' bearer tokens: only their SHA-256 is stored
-- login_failures    failed logins by the name typed, to slow and then lock guessing
-- task_reassignments  who moved which staff task to which post or person, and when
--
-- Passwords are Argon2id hashes in their encoded form ($argon2id$v=19$m=...,t=...,p=...$...);
-- nothing here can be turned back into a password, a cookie or a token.

create table accounts (
    id            bigserial primary key,
    -- One word without ':' or '/': it is the last part of staff:<post>:<name> in event sources.
    name          text not null unique check (name ~ '^[^[:space:]:/]{1,64}$'),
    role          text not null check (role in ('staff', 'lead', 'auditor', 'admin', 'ingest')),
    post          text,                  -- staff: the post whose queue they work
    password_hash text,                  -- NULL: cannot log in (service accounts use tokens)
    disabled_at   timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint accounts_staff_post check ((role = 'staff') = (post is not null))
);

create table sessions (
    id_hash     text primary key,        -- SHA-256 (hex) of the cookie's random value
    account_id  bigint not null references accounts (id) on delete cascade,
    csrf        text not null,           -- what state-changing requests send in X-CSRF-Token
    created_at  timestamptz not null default now(),
    last_seen   timestamptz not null default now()
);
create index sessions_account on sessions (account_id);

create table tokens (
    id            bigserial primary key,
    account_id    bigint not null references accounts (id) on delete cascade,
    token_hash    text not null unique,  -- SHA-256 (hex) of the token
    prefix        text not null,         -- its first characters, to tell tokens apart in lists
    scope         text not null check (scope in ('ingest')),
    created_at    timestamptz not null default now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
create index tokens_account on tokens (account_id);

create table login_failures (
    name  text not null,                 -- as typed, whether an account has it or not
    at    timestamptz not null default now()
);
create index login_failures_name on login_failures (name, at);

create table task_reassignments (
    id            bigserial primary key,
    task_id       text not null,
    from_post     text,
    to_post       text,
    from_account  text,
    to_account    text,
    by_account    text not null,
    at            timestamptz not null
);
create index task_reassignments_task on task_reassignments (task_id);

-- The application role reads and writes these tables; the owner role that runs migrations owns
-- them.  002 defines the roles (#15); until it is merged this grants to a role named
-- caseflow_app when one exists, and the integrator aligns the name with 002's.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'caseflow_app') then
        grant select, insert, update, delete on accounts, sessions, tokens, login_failures
            to caseflow_app;
        grant select, insert on task_reassignments to caseflow_app;
        grant usage, select on sequence accounts_id_seq, tokens_id_seq,
            task_reassignments_id_seq to caseflow_app;
    end if;
end;
$$;
