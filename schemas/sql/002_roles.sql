-- caseflow's database, version 2: the engine's role may append to the event log, never change it.
--
-- Two roles, created by the database administrator before the first `caseflow db migrate`:
--   the owner   (postgres_owner, CASEFLOW_PG_OWNER) runs the migrations and owns every table;
--               only it can switch off the log's triggers, and only the chain's anchor outside
--               the database (caseflow replay --anchor) can tell what it did;
--   the engine  (postgres, CASEFLOW_PG) is what the engine, the workers and the CLI connect as:
--               it reads and writes the working tables, but may only INSERT into and SELECT
--               from the event log and the dead letters (no UPDATE, DELETE or TRUNCATE), owns
--               nothing and cannot ALTER a table.
-- `caseflow db migrate` connects as the owner and names the engine's role (the user of the
-- `postgres` connection string) in the setting caseflow.engine_role, which every migration can
-- read.  Several databases on one server may share the two roles: grants are per database.
--
-- A later migration's tables are covered by the default privileges below (SELECT, INSERT,
-- UPDATE, DELETE for the engine); a table that must be append-only revokes UPDATE and DELETE
-- as this one does for events:
--     execute format('revoke update, delete on my_log from %I',
--                    current_setting('caseflow.engine_role'));
do $$
declare
    engine text := current_setting('caseflow.engine_role', true);
begin
    if engine is null or engine = '' then
        raise exception 'caseflow: no engine role given: run this migration with `caseflow db migrate`, which names the role of the postgres connection string in caseflow.engine_role';
    end if;
    if engine = current_user then
        raise exception 'caseflow: the engine''s role (%) is the role that runs the migrations: give the engine its own role (postgres) and migrate as the owner (postgres_owner), so that the engine cannot rewrite the event log', engine;
    end if;
    if not exists (select from pg_roles where rolname = engine) then
        raise exception 'caseflow: the engine''s role % does not exist: create it first (create role % login password ...)', engine, engine;
    end if;

    execute format('grant usage on schema public to %I', engine);
    execute format('grant select, insert, update, delete on all tables in schema public to %I',
                   engine);
    -- The audit trail: appended to, read, never changed.
    execute format('revoke update, delete, truncate on events, dead_letters from %I', engine);
    -- The schema's version: read at the engine's start, written only by migrations.
    execute format('revoke insert, update, delete, truncate on cf_schema_migrations from %I',
                   engine);
    execute format('grant usage, select on all sequences in schema public to %I', engine);

    -- Tables and sequences that later migrations create (as this role) get the same grants.
    execute format('alter default privileges in schema public '
                   'grant select, insert, update, delete on tables to %I', engine);
    execute format('alter default privileges in schema public '
                   'grant usage, select on sequences to %I', engine);
end;
$$;

-- Nobody but the owner creates objects in the schema (PostgreSQL 15 already has it so; older
-- servers let every role create tables in public).  Only the schema's owner can revoke this; for
-- anyone else it is a warning, not an error.
revoke create on schema public from public;
