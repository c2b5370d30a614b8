-- Why: the staff charts page counted raw attempts on every load (issue 16, bench/scale:
-- "charts 24 h" 28x and "charts 30 d" 105x a nearly empty database at 1/100 of a year). It
-- now reads the rollups of 20261208001000 and shows the same numbers:
-- - staff_chart_series: every bucket is a whole number of hours from the same origin, so it
--   is the sum of the rollup rows for every directory together of the largest size that
--   divides it (days, quarter days or hours); jobs completed likewise. Buckets of less than an
--   hour are refused (the page offers none; each would have to count raw rows again).
-- - staff_directory_success: its window ends at now() and starts at any moment, so
--   private.directory_attempts_between counts [since, until) exactly: the raw rows of the
--   partial hour at either end, and between them the rollup rows of each size, largest in
--   the middle (a few dozen rows per directory, whatever the window).

create function private.directory_attempts_between(since timestamptz, until timestamptz)
returns table (directory_id text, attempts bigint, succeeded bigint, failed bigint, waiting bigint)
language plpgsql stable set search_path = ''
as $$
declare
  v_origin constant timestamptz := timestamptz '2000-01-01 00:00:00+00';
  -- The rollups' bucket sizes, in hours.
  v_sizes constant smallint[] := '{1, 6, 24, 168}'::smallint[];
  v_first_hour timestamptz;  -- the first whole hour from `since`
  v_last_hour timestamptz;   -- the end of the last whole hour before `until` (infinity stays)
  v_low timestamptz;
  v_high timestamptz;
  v_next_low timestamptz;
  v_next_high timestamptz;
  -- Per size, [from, to) at the low end, then at the high end.
  v_froms timestamptz[] := '{}'::timestamptz[];
  v_tos timestamptz[] := '{}'::timestamptz[];
begin
  v_first_hour := date_bin('1 hour', since, v_origin);
  if v_first_hour < since then
    v_first_hour := v_first_hour + interval '1 hour';
  end if;
  v_last_hour := case when isfinite(until) then date_bin('1 hour', until, v_origin) else until end;
  if v_first_hour >= v_last_hour then
    -- No whole hour inside: the raw rows only.
    v_first_hour := until;
    v_last_hour := until;
  end if;
  v_low := v_first_hour;
  v_high := v_last_hour;
  -- [v_low, v_high) in buckets: at each size, the ones up to the next size's boundaries at
  -- either end; what lies between those boundaries goes to the next size. Once a size takes
  -- all that is left, the larger sizes get empty ranges.
  for i in 1 .. array_length(v_sizes, 1) loop
    if i = array_length(v_sizes, 1) then
      v_next_low := v_high;
      v_next_high := v_high;
    else
      v_next_low := date_bin(make_interval(hours => v_sizes[i + 1]), v_low, v_origin);
      if v_next_low < v_low then
        v_next_low := v_next_low + make_interval(hours => v_sizes[i + 1]);
      end if;
      v_next_high := case when isfinite(v_high)
                          then date_bin(make_interval(hours => v_sizes[i + 1]), v_high, v_origin)
                          else v_high end;
      if v_next_low >= v_next_high then
        v_next_low := v_high;
        v_next_high := v_high;
      end if;
    end if;
    v_froms := v_froms || v_low || v_next_high;
    v_tos := v_tos || v_next_low || v_high;
    v_low := v_next_low;
    v_high := v_next_high;
  end loop;

  return query
  with raw as (
    select r.directory_id, r.outcome, r.confirmed, count(*) as n
      from public.job_results r
     where (r.reported_at >= since and r.reported_at < v_first_hour)
        or (r.reported_at >= v_last_hour and r.reported_at < until)
     group by r.directory_id, r.outcome, r.confirmed
  ),
  -- Once per kind of outcome, not per row: the function pins its search_path, so it is
  -- called, never inlined.
  results as materialized (
    select p.outcome, p.confirmed, private.attempt_result(p.outcome, p.confirmed) as result
      from (select distinct raw.outcome, raw.confirmed from raw) p
  )
  select x.directory_id, sum(x.attempts)::bigint, sum(x.succeeded)::bigint,
         sum(x.failed)::bigint, sum(x.waiting)::bigint
    from (
      select w.directory_id, w.n as attempts,
             case when m.result = 'succeeded' then w.n else 0 end as succeeded,
             case when m.result = 'failed' then w.n else 0 end as failed,
             case when m.result in ('waiting', 'needs_review') then w.n else 0 end as waiting
        from raw w
        join results m on m.outcome = w.outcome and m.confirmed = w.confirmed
      union all
      -- The eight ranges as eight index scans (a join to an array of them is planned as a
      -- scan of the whole table).
      select a.directory_id, a.attempts, a.result_succeeded, a.result_failed,
             a.result_waiting + a.result_needs_review
        from private.attempt_rollups a
       where a.directory_id <> ''
         and ((a.bucket_hours = 1 and a.bucket >= v_froms[1] and a.bucket < v_tos[1])
              or (a.bucket_hours = 1 and a.bucket >= v_froms[2] and a.bucket < v_tos[2])
              or (a.bucket_hours = 6 and a.bucket >= v_froms[3] and a.bucket < v_tos[3])
              or (a.bucket_hours = 6 and a.bucket >= v_froms[4] and a.bucket < v_tos[4])
              or (a.bucket_hours = 24 and a.bucket >= v_froms[5] and a.bucket < v_tos[5])
              or (a.bucket_hours = 24 and a.bucket >= v_froms[6] and a.bucket < v_tos[6])
              or (a.bucket_hours = 168 and a.bucket >= v_froms[7] and a.bucket < v_tos[7])
              or (a.bucket_hours = 168 and a.bucket >= v_froms[8] and a.bucket < v_tos[8]))
    ) x
   group by x.directory_id
  having sum(x.attempts) > 0;
end;
$$;
revoke execute on function private.directory_attempts_between(timestamptz, timestamptz)
  from public, anon, authenticated, service_role;

-- From the latest body (20261129002100): the same buckets and columns, summed from the
-- rollups; bucket_seconds must be whole hours.
create or replace function public.staff_chart_series(window_seconds int, bucket_seconds int)
returns table (
  bucket_start timestamptz,
  jobs_completed bigint,
  attempts bigint,
  attempts_success bigint,
  attempts_needs_action bigint,
  attempts_transient_error bigint,
  attempts_permanent_error bigint,
  attempts_skipped bigint,
  retries bigint,
  captchas_solved bigint,
  captchas_failed bigint,
  proxy_failures bigint
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_bucket interval;
  v_first timestamptz;
  v_last timestamptz;
  v_rows smallint;
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(window_seconds between 3600 and 7776000, false),
    'window_seconds must be between 3600 (1 hour) and 7776000 (90 days)');
  perform private.check_argument(coalesce(bucket_seconds between 60 and 86400, false),
    'bucket_seconds must be between 60 and 86400');
  perform private.check_argument(window_seconds / bucket_seconds <= 1000,
    'window_seconds / bucket_seconds must be at most 1000 buckets');
  perform private.check_argument(bucket_seconds % 3600 = 0,
    'bucket_seconds must be a whole number of hours (3600, 7200, ... 86400)');
  v_bucket := make_interval(secs => bucket_seconds);
  v_first := date_bin(v_bucket, now() - make_interval(secs => window_seconds), timestamptz '2000-01-01 00:00:00+00');
  v_last := date_bin(v_bucket, now(), timestamptz '2000-01-01 00:00:00+00');
  -- The rollup rows of the largest size that divides a bucket: days, quarter days or hours.
  v_rows := case when bucket_seconds % 86400 = 0 then 24
                 when bucket_seconds % 21600 = 0 then 6
                 else 1 end;
  return query
  with buckets as (
    select g.b from generate_series(v_first, v_last, v_bucket) as g(b)
  ),
  attempts as (
    select date_bin(v_bucket, a.bucket, timestamptz '2000-01-01 00:00:00+00') as b,
           sum(a.attempts) as n,
           sum(a.outcome_success) as success,
           sum(a.outcome_needs_action) as needs_action,
           sum(a.outcome_transient_error) as transient_error,
           sum(a.outcome_permanent_error) as permanent_error,
           sum(a.outcome_skipped) as skipped,
           sum(a.retries) as retries,
           sum(a.captchas_solved) as captchas_solved,
           sum(a.captchas_failed) as captchas_failed,
           sum(a.proxy_failures) as proxy_failures
      from private.attempt_rollups a
     where a.bucket_hours = v_rows and a.bucket >= v_first and a.directory_id = ''
     group by 1
  ),
  completions as (
    select date_bin(v_bucket, c.bucket, timestamptz '2000-01-01 00:00:00+00') as b,
           sum(c.jobs_completed) as n
      from private.job_completion_rollups c
     where c.bucket_hours = v_rows and c.bucket >= v_first
     group by 1
  )
  select bk.b, coalesce(c.n, 0)::bigint, coalesce(a.n, 0)::bigint, coalesce(a.success, 0)::bigint,
         coalesce(a.needs_action, 0)::bigint, coalesce(a.transient_error, 0)::bigint,
         coalesce(a.permanent_error, 0)::bigint, coalesce(a.skipped, 0)::bigint,
         coalesce(a.retries, 0)::bigint, coalesce(a.captchas_solved, 0)::bigint,
         coalesce(a.captchas_failed, 0)::bigint, coalesce(a.proxy_failures, 0)::bigint
    from buckets bk
    left join attempts a on a.b = bk.b
    left join completions c on c.b = bk.b
   order by bk.b;
end;
$$;

-- From the latest body (20261207000100): the same rows, from directory_attempts_between.
create or replace function public.staff_directory_success(window_seconds int)
returns table (
  directory_id text,
  name text,
  attempts bigint,
  finished bigint,
  successes bigint,
  failures bigint,
  waiting bigint,
  success_rate numeric,
  baseline_attempts bigint,
  baseline_finished bigint,
  baseline_success_rate numeric
)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_since timestamptz;
begin
  perform private.require_staff();
  perform private.check_argument(coalesce(window_seconds between 3600 and 7776000, false),
    'window_seconds must be between 3600 (1 hour) and 7776000 (90 days)');
  v_since := now() - make_interval(secs => window_seconds);
  return query
  with recent as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done,
           t.succeeded as ok, t.failed as bad, t.waiting as waits
      from private.directory_attempts_between(v_since, 'infinity') t
  ),
  baseline as (
    select t.directory_id as id, t.attempts as n, t.succeeded + t.failed as done,
           t.succeeded as ok
      from private.directory_attempts_between(v_since - interval '7 days', v_since) t
     where t.directory_id in (select recent.id from recent)
  )
  select rc.id, d.name, rc.n, rc.done, rc.ok, rc.bad, rc.waits,
         round(rc.ok::numeric / nullif(rc.done, 0), 4),
         coalesce(bl.n, 0), coalesce(bl.done, 0), round(bl.ok::numeric / nullif(bl.done, 0), 4)
    from recent rc
    join public.directories d on d.id = rc.id
    left join baseline bl on bl.id = rc.id
   order by round(rc.ok::numeric / nullif(rc.done, 0), 4) nulls last, rc.n desc, rc.id;
end;
$$;
