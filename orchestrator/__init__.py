"""The orchestrator: the only door to the queue (jobs-next, worker reports, staff API,
/metrics, /healthz). Built on the SQL functions in supabase/migrations via dbolt.sql."""
