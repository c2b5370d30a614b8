-- The directory list: synced from directories.json, and how each directory has fared.

-- name: directories_sync
select directories_sync(entries => %(entries)s::jsonb) as result;

-- name: directories_list_success_rates
-- The dashboard's per-directory success, under the staff user's JWT.
select * from staff_directory_success(window_seconds => %(window_seconds)s);

-- name: directories_record_canary
-- One canary run (service role): stores it, sets the first baseline, marks drift, raises the
-- recipe_drift alert once and replaces the directory where open jobs hold it queued.
select directories_record_canary(directory_id => %(directory_id)s, signature => %(signature)s::jsonb,
                                 digest => %(digest)s, failed_step => %(failed_step)s,
                                 error => %(error)s) as result;

-- name: directories_list_health
-- The staff directory health page, under the staff user's JWT (staff_directory_health checks).
select * from staff_directory_health();

-- name: directories_reverify
-- Staff re-verify a directory (staff JWT): the latest canary signature becomes the baseline,
-- the drift is cleared; audited with the staff identity.
select staff_directory_reverify(directory_id => %(directory_id)s) as result;

-- name: directories_set_enabled
-- Staff switch a directory on or off (staff JWT); audited.
select staff_directory_set_enabled(directory_id => %(directory_id)s, enabled => %(enabled)s) as result;

-- name: directories_get_detail
-- The staff detail page: the directory (both recipes) and its latest canary runs (staff JWT).
select staff_directory_detail(directory_id => %(directory_id)s, canary_runs => %(canary_runs)s) as detail;

-- name: directories_get_export
-- One directory as a row object, for `dbolt directories export` (service role).
select to_jsonb(d) - 'signature' as directory from public.directories d where d.id = %(directory_id)s;
