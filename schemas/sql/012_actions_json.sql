-- The event log keeps each event's actions as the engine wrote them.
--
-- Nothing queries inside events.actions: replay (core/replay.c) reads the text back and compares
-- it with what the workflow computes again, as a collection.  As jsonb, PostgreSQL parsed and
-- converted every action list on insert (about 1 KB per event, the bulk of a case.filed's log
-- row besides its body); `json` only checks that the text is JSON and keeps it as it is.
alter table events alter column actions type json using actions::text::json;
