-- Why: an attempt report used to reach jobs_report_attempt as fifteen parameters, and each
-- field was written out again in the named query, the orchestrator, the benchmarks and the
-- tests. Now the report is one jsonb record whose keys are job_results' own columns (the wire
-- model dbolt.contracts.AttemptReport without its lease token), read against the table's row
-- type. Adding a field to the report is a column here and a field in the contract, nothing in
-- between. The lease (job_id, lease_token) stays two parameters: it is not part of the
-- attempt, it is what entitles the caller to report it.
-- Behaviour is unchanged: the same checks in the same order, the same lease and resend rules,
-- the same job_results row, directory update and audit row (and so the same broadcasts,
-- which are triggers on those tables), the same returned job_directories row.

drop function public.jobs_report_attempt(uuid, uuid, text, int, public.attempt_outcome,
  boolean, text, text, text, text, int, text, boolean, text, jsonb);

-- The attempt in a report, read and checked: a job_results row whose server-side columns
-- (id, job_id, worker_id, reported_at) are left for jobs_report_attempt to fill. Every refusal
-- is DB005 and names the field.
create function private.attempt_from_report(report jsonb) returns public.job_results
language plpgsql stable set search_path = ''
as $$
declare
  v_attempt public.job_results;
  v_field text;
begin
  perform private.check_argument(jsonb_typeof(report) = 'object', 'report must be a JSON object');
  begin
    v_attempt := jsonb_populate_record(null::public.job_results, report);
  exception when data_exception then
    -- Find the field that cannot be read as its column's type, so the refusal names it.
    for v_field in select k from jsonb_object_keys(report) k order by k loop
      begin
        perform jsonb_populate_record(null::public.job_results,
          jsonb_build_object(v_field, report -> v_field));
      exception when data_exception then
        raise exception '% is invalid: %', v_field, sqlerrm using errcode = 'DB005';
      end;
    end loop;
    raise;
  end;
  -- A key that is not a column, or is a column the server sets, is refused by name rather
  -- than silently dropped (a misspelt field would otherwise lose data).
  select k into v_field from jsonb_object_keys(report) k
   where not (to_jsonb(v_attempt) ? k) or k in ('id', 'job_id', 'worker_id', 'reported_at')
   order by k limit 1;
  perform private.check_argument(v_field is null, format('%s is not a field of a report', v_field));

  perform private.check_argument(v_attempt.directory_id is not null, 'directory_id is required');
  perform private.check_argument(v_attempt.attempt is not null, 'attempt is required');
  perform private.check_argument(v_attempt.outcome is not null, 'outcome is required');
  perform private.check_argument(
    v_attempt.outcome = 'success' or not coalesce(v_attempt.confirmed, false),
    'confirmed can only be true when outcome is success');
  perform private.check_argument(
    v_attempt.outcome not in ('transient_error', 'permanent_error')
      or btrim(coalesce(v_attempt.error_code, '')) <> '',
    'error_code is required when outcome is ' || v_attempt.outcome);
  perform private.check_argument(
    v_attempt.outcome <> 'needs_action' or btrim(coalesce(v_attempt.action_required, '')) <> '',
    'action_required is required when outcome is needs_action');
  v_attempt.confirmed := coalesce(v_attempt.confirmed, false);
  v_attempt.artifacts := coalesce(v_attempt.artifacts, '{}');
  return v_attempt;
end;
$$;

create function public.jobs_report_attempt(job_id uuid, lease_token uuid, report jsonb)
returns public.job_directories
language plpgsql security definer set search_path = ''
as $$
declare
  v_attempt public.job_results := private.attempt_from_report(jobs_report_attempt.report);
  v_job public.jobs;
  v_dir public.job_directories;
  v_from public.job_directory_status;
  v_next public.job_directory_status;
begin
  -- A resent report (the worker never saw our answer) is acknowledged, not applied twice.
  -- It is looked up under the job's lock, so the same report sent twice at once is not
  -- refused as a report on a finished directory; and, if the lease has moved on since, it
  -- is still acknowledged rather than refused.
  select j.* into v_job from public.jobs j
   where j.id = jobs_report_attempt.job_id and j.lease_token = jobs_report_attempt.lease_token
     and j.status = 'in_progress'
   for update;
  v_dir := private.previous_report(jobs_report_attempt.job_id, v_attempt.directory_id,
    v_attempt.attempt, v_attempt.outcome, v_attempt.confirmed);
  if v_dir.job_id is not null then
    return v_dir;
  end if;
  if v_job.id is null then
    perform private.raise_lease_lost(jobs_report_attempt.job_id, jobs_report_attempt.lease_token);
  end if;
  select d.* into v_dir from public.job_directories d
   where d.job_id = v_job.id and d.directory_id = v_attempt.directory_id
   for update;
  if not found then
    raise exception 'directory % is not part of job %', v_attempt.directory_id, v_job.id
      using errcode = 'DB003';
  end if;
  if v_dir.status not in ('queued', 'in_progress') then
    -- Above all: a submitted directory is never submitted (or re-queued) again.
    raise exception 'directory % of job % is % and takes no more attempts', v_dir.directory_id,
      v_job.id, v_dir.status using errcode = 'DB002';
  end if;
  v_from := v_dir.status;
  perform private.check_argument(v_attempt.attempt = v_dir.attempts + 1,
    format('attempt must be %s for directory %s (got %s)', v_dir.attempts + 1, v_dir.directory_id,
      v_attempt.attempt));

  v_next := case v_attempt.outcome
    when 'success' then
      case when v_attempt.confirmed then 'submitted' else 'needs_review' end
    when 'needs_action' then 'needs_action'
    when 'permanent_error' then 'failed'
    when 'skipped' then 'skipped'
    when 'transient_error' then
      case when v_attempt.attempt >= v_dir.max_attempts then 'failed' else 'queued' end
  end::public.job_directory_status;

  insert into public.job_results (
    job_id, directory_id, attempt, outcome, confirmed, error_code, message, listing_url,
    action_required, duration_ms, captcha_kind, captcha_solved, proxy, artifacts, worker_id
  ) values (
    v_job.id, v_dir.directory_id, v_attempt.attempt, v_attempt.outcome, v_attempt.confirmed,
    v_attempt.error_code, v_attempt.message, v_attempt.listing_url, v_attempt.action_required,
    v_attempt.duration_ms, v_attempt.captcha_kind, v_attempt.captcha_solved, v_attempt.proxy,
    v_attempt.artifacts, v_job.worker_id
  );

  update public.job_directories d
     set status = v_next,
         attempts = v_attempt.attempt,
         last_outcome = v_attempt.outcome,
         last_error_code = v_attempt.error_code,
         last_message = v_attempt.message,
         listing_url = coalesce(v_attempt.listing_url, d.listing_url),
         action_required = case when v_next = 'needs_action' then v_attempt.action_required end,
         submitted_at = case when v_next = 'submitted' then now() else d.submitted_at end
   where d.job_id = v_dir.job_id and d.directory_id = v_dir.directory_id
  returning d.* into v_dir;

  perform private.audit('worker:' || v_job.worker_id, 'directory.attempt_reported', v_job.id,
    v_dir.directory_id, v_from::text, v_next::text,
    jsonb_strip_nulls(jsonb_build_object('attempt', v_attempt.attempt,
      'outcome', v_attempt.outcome, 'error_code', v_attempt.error_code)));
  return v_dir;
end;
$$;
revoke execute on function public.jobs_report_attempt(uuid, uuid, jsonb)
  from public, anon, authenticated;
grant execute on function public.jobs_report_attempt(uuid, uuid, jsonb) to service_role;
revoke execute on function private.attempt_from_report(jsonb) from public, anon, authenticated;
