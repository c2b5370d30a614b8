-- A mail that arrives while its directory parks must not be lost: the park for email and the
-- mail receiver both take the customer's mailbox lock (private.lock_mailbox) before they look
-- for each other's row, so the second waits for the first to commit and then sees it. Here:
-- the park holds the lock for the rest of its transaction; a moderation park does not take it.
begin;
set search_path = public, extensions;
select plan(4);

select directories_sync($$[
  {"id": "dir-a", "name": "A", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true},
  {"id": "dir-b", "name": "B", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true}
]$$::jsonb) \gset
select id as job, customer_id as customer from jobs_enqueue(dev.create_paid_order('mailbox-lock@example.com', 'starter')) \gset
select lease_token as token from jobs_next('worker-1', 300) \gset

create temp view mailbox_locked as
  select exists (select 1 from pg_locks l
                  where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.granted
                    and ((l.classid::bigint << 32) | l.objid::bigint)
                        = hashtext('mailbox:' || current_setting('test.customer'))::bigint) as locked;
select set_config('test.customer', :'customer', true) \gset

select is((select locked from mailbox_locked), false, 'no mailbox lock before the park');
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-b", "attempt": 1, "outcome": "parked", "wait_kind": "moderation", "wait_seconds": 3600, "resume_phase": "confirm"}') \gset
select is((select locked from mailbox_locked), false, 'a moderation park does not take it');
select jobs_report_attempt(:'job', :'token',
  '{"directory_id": "dir-a", "attempt": 1, "outcome": "parked", "wait_kind": "email", "wait_seconds": 3600, "resume_phase": "verify_email"}') \gset
select is((select locked from mailbox_locked), true, 'a park for email holds the customer''s mailbox lock until it commits');

select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'private' and p.proname = 'lock_mailbox'
              and has_function_privilege('authenticated', p.oid, 'execute')),
  0, 'private.lock_mailbox is not executable by customers');

select * from finish();
rollback;
