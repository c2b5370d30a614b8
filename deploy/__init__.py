"""Ops tooling: `make deploy` (supabase, k8s, local) and `make rollback`."""
