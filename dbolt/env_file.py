"""One reader for `NAME=VALUE` files: the Edge Functions' secrets (devstack, `supabase
secrets set --env-file`), the deploy's functions env file and the rehearsal's overrides."""

from __future__ import annotations

from pathlib import Path


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=VALUE` lines as `supabase … --env-file` and `kubectl --from-env-file` read them:
    blank lines and # comments skipped, `export ` and surrounding quotes allowed; any other
    line is an error naming it."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.removeprefix("export ").partition("=")
        if not separator or not name.strip():
            raise ValueError(f"{path}:{number}: expected NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values
