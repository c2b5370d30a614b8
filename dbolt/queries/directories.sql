-- name: directories_sync
select directories_sync(entries => %(entries)s::jsonb) as result;
