-- jobs_enqueue (through private.directory_eligible) gives a job the directories whose declared
-- countries include the business's: a directory for the US and Canada takes a US business, one
-- for Great Britain only (declared as a list or as the older single country) does not.
begin;
set search_path = public, extensions;
select plan(3);

select directories_sync($$[
  {"id": "t-us-ca", "name": "US and Canada", "homepage": "http://127.0.0.1:9/a", "tier": "starter", "priority": 1, "mode": "auto", "enabled": true, "countries": ["CA", "US"]},
  {"id": "t-gb-list", "name": "GB list", "homepage": "http://127.0.0.1:9/b", "tier": "starter", "priority": 2, "mode": "auto", "enabled": true, "countries": ["GB"]},
  {"id": "t-gb-old", "name": "GB single", "homepage": "http://127.0.0.1:9/c", "tier": "starter", "priority": 3, "mode": "auto", "enabled": true, "country": "GB"},
  {"id": "t-any", "name": "Anywhere", "homepage": "http://127.0.0.1:9/d", "tier": "starter", "priority": 4, "mode": "auto", "enabled": true}
]$$::jsonb) \gset

select dev.create_paid_order('us@example.com', 'starter') as order_us \gset
select is((select business_snapshot ->> 'country' from jobs_enqueue(:'order_us')), 'US',
  'the sample business is in the US');
select results_eq(
  format($$ select directory_id from job_directories jd join jobs j on j.id = jd.job_id
             where j.order_id = %L and directory_id like 't-%%' order by position $$, :'order_us'),
  $$ values ('t-us-ca'), ('t-any') $$,
  'a US business gets the US-and-Canada directory and the one for any country, no GB one');
select is(
  (select count(*)::int from directories d, tiers t
    where t.name = 'starter' and d.id like 't-%'
      and private.directory_eligible(d, t, '{"country": "CA", "category": "plumber"}')),
  2, 'a Canadian business is eligible for the same two');

select * from finish();
rollback;
