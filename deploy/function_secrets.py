"""The checkout Edge Function's secrets: which must be in FUNCTIONS_ENV_FILE, read safely.

`supabase secrets set --env-file` uploads whatever the file holds; a missing price id only
shows up as a 500 when a customer tries to pay. So the file is checked by name before the
deploy starts. Names are from supabase/functions/checkout/handler.ts
(tests/e2e/test_deploy_cli.py keeps this list in step with it). SUPABASE_URL,
SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY and SUPABASE_DB_URL are provided by the hosted
platform itself, and the platform refuses secrets named SUPABASE_*, so none is required or
allowed here.
"""

from __future__ import annotations

from pathlib import Path

from dbolt.env_file import read_env_file

TIERS = ("starter", "growth", "professional", "enterprise")
REQUIRED = (
    "STRIPE_SECRET_KEY",
    "CHECKOUT_SIGNING_SECRET",
    "PORTAL_URL",
    *(f"STRIPE_PRICE_{tier.upper()}" for tier in TIERS),
)
# Read by the function but defaulted (Stripe's real API), so not required.
OPTIONAL = ("STRIPE_API_BASE",)
PLATFORM_PREFIX = "SUPABASE_"


def problems(path_setting: str, path: Path, portal_url: str) -> list[str]:
    """What is wrong with the env file, by variable name only (never a value)."""
    if not path.is_file():
        return [f"{path_setting} names {path}, which is not a file"]
    try:
        values = read_env_file(path)
    except ValueError as error:  # names the line, never its value
        return [f"{path_setting}: {error}"]
    found = [
        f"{path_setting}: {name} is missing or empty" for name in REQUIRED if not values.get(name)
    ]
    found += [
        f"{path_setting}: {name} is set by the platform and cannot be a secret; remove it"
        for name in values
        if name.startswith(PLATFORM_PREFIX)
    ]
    file_portal = values.get("PORTAL_URL", "").rstrip("/")
    if file_portal and portal_url and file_portal != portal_url.rstrip("/"):
        found.append(
            f"{path_setting}: PORTAL_URL differs from the PORTAL_URL setting "
            "(Auth's site URL and the function's CORS origin must be the same portal)"
        )
    return found
