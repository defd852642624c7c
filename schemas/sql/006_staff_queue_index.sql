-- A post's queue straight from an index (#10): the open and claimed staff tasks of a post in the
-- order the queue shows them (due first, then made first), with their status alongside, so that
-- listing a page and counting the queue read only the queue's own entries.  With 100,000 tasks
-- stored the two queries of a list took 4 to 7 ms each through tasks_queue (a bitmap scan over
-- every task the post ever had, then a sort); through this index well under 1 ms (bench/run api).
create index tasks_staff_queue on tasks (post, due_at, created_at, case_no, task_id)
    include (status)
    where not worker and status in ('open', 'claimed');
