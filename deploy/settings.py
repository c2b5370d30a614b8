"""Every setting a target needs, checked before anything runs, reported in one error.

An operator who fixes one missing variable per attempt learns the list the slow way; a
deploy that fails halfway through because the last step lacked a token leaves the database
migrated and the functions stale. So each target lists what it needs, and all problems are
reported together (exit 2) before any plan is printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dbolt.words import count_of

# The `supabase` target's settings (the `k8s` target needs them too: it runs that step first).
SUPABASE_DB_URL = "SUPABASE_DB_URL"
SUPABASE_PROJECT_REF = "SUPABASE_PROJECT_REF"
# Read by the supabase CLI itself for `config push`, `secrets set` and `functions deploy`.
SUPABASE_ACCESS_TOKEN = "SUPABASE_ACCESS_TOKEN"  # noqa: S105 (a variable's name, not a value)
FUNCTIONS_ENV_FILE = "FUNCTIONS_ENV_FILE"
# The portal's public URL: config.toml's auth.site_url is env(PORTAL_URL).
PORTAL_URL = "PORTAL_URL"

IMAGE_REGISTRY = "IMAGE_REGISTRY"
K8S_OVERLAY = "K8S_OVERLAY"
KUBE_CONTEXT = "KUBE_CONTEXT"

SUPABASE_SETTINGS = (
    SUPABASE_DB_URL,
    SUPABASE_PROJECT_REF,
    SUPABASE_ACCESS_TOKEN,
    FUNCTIONS_ENV_FILE,
    PORTAL_URL,
)
# Enough to push migrations and nothing else (`--only db`).
DB_ONLY_SETTINGS = (SUPABASE_DB_URL,)
K8S_SETTINGS = (*SUPABASE_SETTINGS, IMAGE_REGISTRY, K8S_OVERLAY, KUBE_CONTEXT)
ROLLBACK_SETTINGS = (KUBE_CONTEXT,)

# Values never printed, whatever prints them (the plan, captured command output).
SECRET_NAMES = (SUPABASE_DB_URL, SUPABASE_ACCESS_TOKEN)

OVERLAYS = ("staging", "production")
# `supabase --project-ref` treats exactly 20 lowercase letters as a project ref.
_PROJECT_REF = re.compile(r"^[a-z]{20}$")


class SettingsError(Exception):
    """One or more settings are missing or wrong; `problems` names each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"cannot deploy, {count_of(len(self.problems), 'problem')}:\n{listed}")


def missing(env: Mapping[str, str], names: Sequence[str]) -> list[str]:
    return [f"{name} is not set" for name in names if not env.get(name, "").strip()]


def project_ref_problems(env: Mapping[str, str]) -> list[str]:
    ref = env.get(SUPABASE_PROJECT_REF, "").strip()
    if ref and not _PROJECT_REF.match(ref):
        return [f"{SUPABASE_PROJECT_REF} must be 20 lowercase letters (the project's ref)"]
    return []


def portal_url_problems(env: Mapping[str, str]) -> list[str]:
    url = env.get(PORTAL_URL, "").strip()
    if url and not re.match(r"^https?://[^/\s]+$", url.rstrip("/")):
        return [f"{PORTAL_URL} must be the portal's base URL, e.g. https://app.example.com"]
    return []
