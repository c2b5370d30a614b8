"""`make deploy` / `make rollback`: ship this checkout to Supabase and Kubernetes.

Kept out of the wheel on purpose: it is an operator's tool run from a checkout (it reads
supabase/migrations, deploy/k8s and the git commit), never part of a running service.
`python -m deploy <target> [--yes]`, `python -m deploy rollback [--yes]`; see __main__.py.
"""
