"""TARGET=supabase: migrations, Auth config, function secrets and the checkout function.

Order matters: the schema first (services of the new release expect it), then Auth's
settings, then the function's secrets, then the function that reads them.

`--only db` pushes migrations and nothing else — what a database with no hosted project
behind it (the local cluster, a rehearsal) can take; the plan lists the skipped steps.

Never `--include-seed`: supabase/seed.sql is dev/test fixtures (the `dev` schema, a fake
paid order); a hosted project must not get them.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from deploy import function_secrets, repo, settings
from deploy.plan import EnvRef, Plan, Step, redact

# What the pinned CLI (2.117) prints when every local migration is already applied. It says
# "Local" when the URL's port is config.toml's local db port (54322, as on this machine's
# cluster), "Remote" otherwise.
UP_TO_DATE = re.compile(r"\b(Remote|Local) database is up to date\.")


def check(env: Mapping[str, str], cwd: Path, only_db: bool) -> list[str]:
    if only_db:
        return settings.missing(env, settings.DB_ONLY_SETTINGS)
    found = settings.missing(env, settings.SUPABASE_SETTINGS)
    found += settings.project_ref_problems(env)
    found += settings.portal_url_problems(env)
    env_file = env.get(settings.FUNCTIONS_ENV_FILE, "").strip()
    if env_file:
        found += function_secrets.problems(
            settings.FUNCTIONS_ENV_FILE, cwd / env_file, env.get(settings.PORTAL_URL, "")
        )
    return found


def _db_push(cli: str, *extra: str) -> tuple[str | EnvRef, ...]:
    return (cli, "db", "push", "--db-url", EnvRef(settings.SUPABASE_DB_URL), *extra)


def dry_run(env: Mapping[str, str], cwd: Path) -> str:
    """`supabase db push --dry-run`: which migrations the database lacks (changes nothing)."""
    cli = repo.supabase_cli(cwd)
    argv = [cli, "db", "push", "--db-url", env[settings.SUPABASE_DB_URL], "--dry-run"]
    result = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    output = redact(result.stdout + result.stderr, env, settings.SECRET_NAMES)
    if result.returncode != 0:
        raise RuntimeError(f"supabase db push --dry-run failed:\n{output}")
    return output


def steps(env: Mapping[str, str], cwd: Path, plan: Plan, only_db: bool) -> None:
    """Add this target's steps to `plan`, after showing the migration dry run."""
    cli = repo.supabase_cli(cwd)
    preview = dry_run(env, cwd)
    print("\n== supabase db push --dry-run (read-only):")
    print(preview.rstrip())
    if UP_TO_DATE.search(preview):
        plan.skipped.append(("supabase db push", "nothing to push: every migration is applied"))
    else:
        plan.steps.append(
            Step("apply the pending migrations (no seed: dev fixtures)", _db_push(cli, "--yes"))
        )
    if only_db:
        reason = "--only db: migrations only (no hosted project behind this database)"
        for what in ("supabase config push", "supabase secrets set", "supabase functions deploy"):
            plan.skipped.append((what, reason))
        return
    ref = env[settings.SUPABASE_PROJECT_REF].strip()
    portal = env[settings.PORTAL_URL].strip().rstrip("/")
    plan.steps += [
        Step(
            "push supabase/config.toml (Auth URLs, email OTP, Data API) to the project",
            (cli, "config", "push", "--project-ref", ref, "--yes"),
            reads_env=(settings.SUPABASE_ACCESS_TOKEN, settings.PORTAL_URL),
            # env() cannot append a path, so the redirect glob is derived here.
            extra_env={"PORTAL_AUTH_REDIRECT_URLS": f"{portal}/auth/**"},
        ),
        Step(
            "set the checkout function's secrets (values from the file, never printed)",
            (
                cli,
                "secrets",
                "set",
                "--env-file",
                env[settings.FUNCTIONS_ENV_FILE].strip(),
                "--project-ref",
                ref,
            ),
            reads_env=(settings.SUPABASE_ACCESS_TOKEN,),
        ),
        Step(
            "deploy the checkout Edge Function (verify_jwt from config.toml; bundled by the API)",
            (cli, "functions", "deploy", "checkout", "--project-ref", ref, "--use-api"),
            reads_env=(settings.SUPABASE_ACCESS_TOKEN,),
        ),
    ]
