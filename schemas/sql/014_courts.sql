-- Several courts in one installation (#16): each account belongs to a court, and a case's court
-- is told by its key.
--
-- caseflow_court(key, filed) is core/caseno.c's cf_caseno_court in SQL: the court code of a
-- modern case number ((2026)豫0381执7号 -> 豫0381), else the court its filing named
-- (case.filed's data.court), else NULL (the installation's home court, which only the
-- configuration knows: the caller passes it).
create function caseflow_court(key text, filed text) returns text
    language sql immutable parallel safe
    as $$ select coalesce(substring(key from '^\(\d{4}\)(\D\d{4})\D'), nullif(filed, '')) $$;

-- The court whose cases the account sees and works (NULL: the home court, the first of the
-- configuration's `courts:`, so that the accounts of a one-court installation stay as they are).
alter table accounts add column court text;
