# DirectoryBolt — the face for developers and ops. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PY := .venv/bin/python
PGTAP_DB := dbolt_pgtap
# The oldest Kubernetes the manifests promise to work on (kubernetes-validate -k).
K8S_VALIDATE_VERSION := 1.30.0
# The local cluster's port (54322, as `supabase start` uses); override to run a second one.
export LOCAL_DB_PORT ?= 54322
# Deno (from npm) keeps its caches in the tree, not in $HOME; it fetches nothing, so no update check.
export DENO_DIR ?= $(CURDIR)/.local/deno
export DENO_NO_UPDATE_CHECK ?= 1

.PHONY: db-advisors staff test-deploy bench-worker help deps up demo orchestrator db db-reset db-down directories-check directories-stats directories-sync test test-sql test-py lint db-lint test-functions fmt bench-queue bench-orchestrator bench-dispatch

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

deps: ## Install apt, Python and npm dependencies (skips what is already installed)
	@devstack/install-deps.sh

up: deps ## Run the whole local stack in the foreground (Ctrl-C stops it all; logs in .local/logs/)
	@ENVIRONMENT=development $(PY) -m devstack.up

.PHONY: status
status: ## With `make up` running: print what runs where and how to sign in again
	@$(PY) -m devstack.up --status

demo: deps ## With `make up` running: buy a package for the sample business and watch it submit
	@ENVIRONMENT=development $(PY) -m devstack.demo

orchestrator: deps ## Run the orchestrator alone on 127.0.0.1:8100 (needs `make db`)
	@ENVIRONMENT=development $(PY) -m orchestrator

.PHONY: webhook portal
webhook: deps ## Run the Stripe webhook receiver alone on 127.0.0.1:8200
	@ENVIRONMENT=development $(PY) -m webhook

portal: deps ## Run the customer portal and staff dashboard alone on 127.0.0.1:8300
	@ENVIRONMENT=development $(PY) -m portal

db: deps ## Start the local Supabase-shaped Postgres on 127.0.0.1:54322 and migrate it
	@$(PY) -m devstack.localdb up

db-reset: deps ## Delete the local cluster and rebuild it from the migrations
	@$(PY) -m devstack.localdb reset

db-down: ## Stop the local cluster
	@$(PY) -m devstack.localdb down

directories-check: deps ## Check directories.json: the schema, the catalogue rules (real sites disabled until verified, https, sources in notes) and recipes against stored form signatures, naming each bad entry and field
	@$(PY) -m dbolt.directory_catalogue check

directories-stats: deps ## Count the real directories in directories.json by country and by requirement
	@$(PY) -m dbolt.directory_catalogue stats

directories-sync: deps ## Validate directories.json and sync it into the local database
	@ENVIRONMENT=development .venv/bin/dbolt directories sync

test: deps lint directories-check db-lint db-advisors test-functions test-sql test-deploy test-py test-images test-containers ## Everything CI runs: lint, SQL lint, Edge Function tests, pgTAP, pytest, then the images

test-functions: deps ## deno lint, fmt check and test for the Edge Functions
	@node_modules/.bin/deno lint supabase/functions
	@node_modules/.bin/deno fmt --check supabase/functions
	@node_modules/.bin/deno test --allow-net=127.0.0.1 --allow-env supabase/functions

test-sql: deps ## pgTAP tests (supabase/tests) with pg_prove against a fresh database
	@$(PY) -m devstack.localdb fresh $(PGTAP_DB) >/dev/null
	@pg_prove --failures --timer -h 127.0.0.1 -p $(LOCAL_DB_PORT) -U postgres -d $(PGTAP_DB) supabase/tests/*.sql

test-deploy: deps ## promtool over deploy/prometheus; deploy/k8s overlays rendered, kubernetes-validate --strict, the ScaledObject against our schema, tests/unit/test_k8s_manifests.py
	@promtool check rules deploy/prometheus/alerts.yml
	@cd deploy/prometheus && promtool test rules alerts_test.yml && promtool check config prometheus.yml
	@rm -rf .local/k8s && $(PY) -m tests.support.k8s_render .local/k8s
	@.venv/bin/kubernetes-validate --strict --quiet -k $(K8S_VALIDATE_VERSION) .local/k8s/*.yaml
	@.venv/bin/check-jsonschema --schemafile deploy/k8s/schemas/keda-scaledobject.schema.json .local/k8s/*.scaledobject.json
	@$(PY) -m pytest -q tests/unit/test_k8s_manifests.py

staff: deps ## Create or promote a staff user: make staff EMAIL=you@example.com (Auth admin API if SUPABASE_SERVICE_ROLE_KEY is set, else the local stand-in's database)
	@test -n "$(EMAIL)" || { echo "EMAIL is required: make staff EMAIL=you@example.com" >&2; exit 2; }
	@if [ -n "$$SUPABASE_SERVICE_ROLE_KEY" ]; then ENVIRONMENT=$${ENVIRONMENT:-development} .venv/bin/dbolt staff "$(EMAIL)"; \
	else $(PY) -m devstack.supabase_api.accounts staff "$(EMAIL)" && \
	  echo "Sign in at $${PORTAL_URL:-http://127.0.0.1:8300}/sign-in with $(EMAIL), then open /staff"; fi

# Two pytest processes (pytest-xdist), a test file each at a time: most e2e time is spent
# waiting on servers and Chromium, so two overlap well even on two cores. Files, not single
# tests, are the unit handed out, because a module's stack or browser is built once per process.
PYTEST_WORKERS ?= 2
test-py: deps ## pytest: every tier (unit, integration, e2e, devstack) but the image and testcontainers tests, PYTEST_WORKERS (2) processes
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# One tier each (tests/<tier>/, marked by tests/conftest.py). pytest exits 5 when it collects
# nothing, which fails the target like any other failure: an emptied or mistyped tier is loud.
.PHONY: test-unit test-integration test-e2e test-devstack
test-unit: deps ## pytest tests/unit: pure code, no database, no servers (seconds)
	@$(PY) -m pytest tests/unit

test-integration: deps ## pytest tests/integration: real Postgres, the services in-process with the stand-ins
	@$(PY) -m pytest tests/integration

test-e2e: deps ## pytest tests/e2e: services as real processes, real Chromium (images excluded: make test-images)
	@$(PY) -m pytest tests/e2e

test-devstack: deps ## pytest tests/devstack: the local stand-ins (Stripe, Auth, Realtime, proxies, 2Captcha, mail, sandbox)
	@$(PY) -m pytest tests/devstack

.PHONY: images test-images
images: deps ## Build localhost/directorybolt/{services,worker}:<commit> with podman (wheelhouse from the host) and print their sizes
	@deploy/images/build.sh

# pytest exits 5 when nothing is collected, which fails this target like any other failure.
test-images: images ## Build the images, then the tests that run them (pytest -m images: read-only, non-root, Chromium, SIGTERM)
	@$(PY) -m pytest -m images tests/

lint: deps ## ruff (lint + format check) and mypy --strict
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy

db-lint: deps ## plpgsql_check over our SQL functions (supabase db lint), warnings fail
	@$(PY) -m devstack.localdb fresh dbolt_lint >/dev/null
	@node_modules/.bin/supabase db lint --db-url "postgresql://postgres:postgres@127.0.0.1:$(LOCAL_DB_PORT)/dbolt_lint?sslmode=disable" \
		--schema public,private,dev --level warning --fail-on warning

db-advisors: deps ## Supabase's own linter (splinter: security + performance), as a hosted project's dashboard shows it; warnings fail
	@$(PY) -m devstack.localdb fresh dbolt_advisors >/dev/null
	@node_modules/.bin/supabase db advisors --db-url "postgresql://postgres:postgres@127.0.0.1:$(LOCAL_DB_PORT)/dbolt_advisors?sslmode=disable" \
		--type all --level warn --fail-on warn

fmt: deps ## Apply ruff's formatting and safe fixes
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

bench-queue: deps ## Queue benchmark: our SQL functions vs bare SKIP LOCKED vs procrastinate
	@$(PY) -m bench.queue

bench-orchestrator: deps ## Orchestrator benchmark: HTTP vs direct SQL at 64 and 256 workers, p50/p99, CPU, RSS (ARGS="--baseline ../main-worktree")
	@$(PY) -m bench.orchestrator $(ARGS)

.PHONY: bench-scale
bench-scale: deps ## Scale benchmark: a year of traffic (1/100 by default; SCALE=10 for 1/10) vs a nearly empty database, call by call
	@$(PY) -m bench.scale --scale $(or $(SCALE),100)

.PHONY: bench-webhook
bench-webhook: deps ## Webhook benchmark: signed Stripe events over HTTP vs stripe_events_apply directly, at 1/8/32, replays, RSS
	@$(PY) -m bench.webhook

bench-worker: deps ## Worker benchmark: submissions/min at 1, 2, 4 contexts vs a bare Playwright loop, with memory
	@$(PY) -m bench.worker

bench-dispatch: deps ## Dispatch latency: form saved to first attempt, Realtime wake-ups vs polling, p50/p99 over 50 jobs
	@$(PY) -m bench.dispatch

.PHONY: deploy rollback
# YES=1 answers the plan's prompt (so does CI=true); ONLY=db (TARGET=supabase) pushes migrations only.
DEPLOY_FLAGS = $(if $(filter 1 true yes,$(YES)),--yes) $(if $(ONLY),--only $(ONLY))
deploy: deps ## Deploy this commit: make deploy TARGET=supabase|k8s|local [YES=1] [ONLY=db]; prints the plan first
	@$(PY) -m deploy "$(TARGET)" $(DEPLOY_FLAGS)

.PHONY: rehearsal-down
rehearsal-down: deps ## Stop the TARGET=local rehearsal's pods (each with its grace period) and remove them
	@$(PY) -m deploy.rehearsal down

rollback: deps ## Every Deployment back to its previous image tag (KUBE_CONTEXT; database untouched) [YES=1]
	@$(PY) -m deploy rollback $(DEPLOY_FLAGS)

# The SQL contract tests: pgTAP (tests/containers/test_pgtap.py) and the queue/SQL-gateway tests.
CONTAINER_SQL_TESTS := tests/containers tests/integration/test_queue_concurrency.py \
	tests/integration/test_queue_leases.py tests/integration/test_queue_reports.py \
	tests/integration/test_sql_gateway.py

.PHONY: test-containers
test-containers: deps ## The SQL contract tests (pgTAP + queue/gateway) against the database image, run by testcontainers on podman
	@image=$$(deploy/images/db/build.sh) && \
	  CONTAINERS_CONF=$${CONTAINERS_CONF:-$(CURDIR)/deploy/images/containers.conf} DBOLT_DB_IMAGE=$$image \
	  $(PY) -m pytest -p tests.containers.plugin -m 'not images' $(CONTAINER_SQL_TESTS)
