-- Volume numbers (卷号) of archived case files (#13).  The engine gives each closed case its
-- volume number when the month's ledger (台账) goes out on the 1st: the ledger's month (the month
-- the case closed in, "2026-03") and the case's place in that month, written 2026-03-0042.
-- One number per case, whatever happens after: a ledger dispatched again, a task retried, a
-- worker that reports twice all find the number already there (the primary key), and no two
-- cases of a month share one (the unique constraint).  Rows are only ever added.
create table archive_volumes (
    case_no     text primary key,
    month       text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    seq         integer not null check (seq > 0),
    volume      text not null unique,
    assigned_at timestamptz not null,
    unique (month, seq)
);

-- The monthly ledger lists a month's volumes in order.
create index archive_volumes_month on archive_volumes (month, seq);

do $$
begin
    execute format('revoke update, delete, truncate on archive_volumes from %I',
                   current_setting('caseflow.engine_role'));
end;
$$;
