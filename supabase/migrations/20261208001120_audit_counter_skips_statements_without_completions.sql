-- Why: every insert into audit_log (eight statements per queue cycle: claim, five reports,
-- completion) called private.metrics_counters_add with the number of 'job.completed' rows it
-- held, which is 0 for all but one of them; the call still switched to the function's owner
-- and search_path and ran its insert's plan to find nothing to add (pg_stat_user_functions
-- of one cycle, issue 16). The count is now checked first. Same counter, same value.
-- Body from its latest definition (20261208000100).
create or replace function private.audit_log_count_inserted() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  v_completed bigint;
begin
  select count(*) into v_completed from new_rows a where a.action = 'job.completed';
  if v_completed <> 0 then
    perform private.metrics_counters_add(jsonb_build_object('jobs_completed', v_completed));
  end if;
  return null;
end;
$$;
