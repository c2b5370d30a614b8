-- The database itself.

-- name: database_ping
-- The health checks' round trip (orchestrator, webhook).
select 1 as ok;
