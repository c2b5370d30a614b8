-- The directory list: synced from directories.json, and how each directory has fared.

-- name: directories_sync
select directories_sync(entries => %(entries)s::jsonb) as result;

-- name: directories_list_success_rates
-- The dashboard's per-directory success, under the staff user's JWT.
select * from staff_directory_success(window_seconds => %(window_seconds)s);
