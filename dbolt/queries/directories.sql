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
-- Staff re-verify a directory (staff JWT): the latest canary signature, as of the run the page
-- showed (seen_canary_at; refused if a later one came in), becomes the baseline, the drift is
-- cleared; audited with the staff identity.
select staff_directory_reverify(directory_id => %(directory_id)s,
                                seen_canary_at => %(seen_canary_at)s) as result;

-- name: directories_set_enabled
-- Staff switch a directory on or off (staff JWT); audited.
select staff_directory_set_enabled(directory_id => %(directory_id)s, enabled => %(enabled)s) as result;

-- name: directories_list_for_canary
-- The directories the canary dry runs (orchestrator, for workers): in use as far as the
-- catalogue and staff go, with a recipe or the generic filler; drifted ones too (staff see
-- how they fare until re-verified).
select d.id as directory_id, d.name, d.mode, d.homepage, d.submit_url, d.recipe,
       d.category_map, d.signature_digest as baseline_digest, d.drifted_at is not null as drifted
  from directories d
 where d.enabled and d.staff_disabled_at is null
   and (d.recipe is not null or d.mode = 'auto')
 order by d.id;

-- name: directories_get_detail
-- The staff detail page: the directory (both recipes) and its latest canary runs (staff JWT).
select staff_directory_detail(directory_id => %(directory_id)s, canary_runs => %(canary_runs)s) as detail;

-- name: directories_get_export
-- One directory as a row object, for `dbolt directories export` (service role).
select to_jsonb(d) - 'signature' as directory from public.directories d where d.id = %(directory_id)s;
