#!/usr/bin/env bash
# Makes the build context the images install from: pip inside a build cannot reach PyPI over
# https (the container lacks this machine's egress CA), so every wheel is made on the host.
#
#   <context>/deps/     third-party wheels + requirements.txt, built once per pyproject.toml
#                       digest and never touched again, so the image layers made from them stay
#                       cached (and byte-identical) when only our code changes;
#   <context>/project/  this checkout's own wheel, built fresh on every run.
#
# Versions: pinned by pyproject.toml; transitive ones constrained to what .venv runs (the
# versions the tests passed with). Prints the context directory. Usage: wheelhouse.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"

key=$(sha256sum pyproject.toml | cut -c1-12)
context="$root/.local/images/context-$key"
deps="$context/deps"

if [ ! -f "$deps/requirements.txt" ]; then
  echo "==> wheelhouse: third-party wheels for pyproject.toml $key" >&2
  rm -rf "$deps.partial" && mkdir -p "$deps.partial"
  "$py" - >"$deps.partial/requirements.txt" <<'PY'
import tomllib
for requirement in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    print(requirement)
PY
  # The editable project itself is not a constraint (its wheel is built below).
  "$py" -m pip freeze --exclude-editable | grep -v '^directorybolt' >"$deps.partial/constraints.txt"
  "$py" -m pip wheel --quiet --disable-pip-version-check --only-binary=:all: \
    --wheel-dir "$deps.partial" -r "$deps.partial/requirements.txt" \
    -c "$deps.partial/constraints.txt" >&2
  # The wheels' names and digests: the image's dependency layer is rebuilt exactly when these
  # change (a constraints.txt reshuffled by a dev-only change does not count).
  (cd "$deps.partial" && sha256sum -- *.whl) >"$deps.partial/wheels.sha256"
  mv "$deps.partial" "$deps"
  # Wheelhouses of earlier pyproject.toml versions are of no further use.
  find "$root/.local/images" -mindepth 1 -maxdepth 1 -name 'context-*' ! -name "context-$key" \
    -exec rm -rf {} +
fi

# Built from a copy of the packages so setuptools' build/ and *.egg-info never land in the
# worktree; ignored files (.env, caches) are not copied.
echo "==> wheelhouse: project wheel" >&2
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
packages=(dbolt orchestrator worker webhook portal)
git ls-files --cached --others --exclude-standard -- pyproject.toml "${packages[@]}" |
  while read -r file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
  xargs -0 cp --parents -t "$src"
rm -rf "$context/project" && mkdir -p "$context/project"
# Zip timestamps from the commit, not the clock: unchanged code gives a byte-identical wheel,
# so the image's wheel layer stays cached and a rebuild of the same tree changes nothing.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) "$py" -m pip wheel --quiet --disable-pip-version-check --no-deps \
  --wheel-dir "$context/project" "$src" >&2
echo "$context"
