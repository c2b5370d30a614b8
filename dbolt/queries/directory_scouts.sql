-- Scouts staff ask for from the dashboard (migration 20261213000100): queued by staff, taken
-- and finished by a worker through the orchestrator.

-- name: directory_scouts_request
-- Staff queue a scout of a URL (staff JWT); audited.
select staff_directory_scout_request(url => %(url)s) as scout_id;

-- name: directory_scouts_list
-- The latest scouts, without their reports (staff JWT).
select * from staff_directory_scouts(max_rows => %(max_rows)s);

-- name: directory_scouts_get
-- One scout with its report (staff JWT).
select staff_directory_scout(scout_id => %(scout_id)s) as scout;

-- name: directory_scouts_save
-- Staff save a done scout's draft as a disabled catalogue entry (staff JWT); audited.
select staff_directory_scout_save(scout_id => %(scout_id)s, directory_id => %(directory_id)s,
                                  name => %(directory_name)s, tier => %(tier)s, country => %(country)s) as result;

-- name: directory_scouts_next
-- The oldest waiting scout, leased to this worker (service role; the orchestrator).
select * from directory_scouts_next(worker_id => %(worker_id)s, lease_seconds => %(lease_seconds)s);

-- name: directory_scouts_finish
-- What the worker found, under its lease (service role; the orchestrator).
select directory_scouts_finish(scout_id => %(scout_id)s, lease_token => %(lease_token)s,
                               status => %(status)s, result => %(result)s::jsonb,
                               screenshots => %(screenshots)s, reason => %(reason)s) as result;
