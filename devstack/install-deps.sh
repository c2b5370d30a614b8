#!/usr/bin/env bash
# Installs everything `make test` and `make up` need on a fresh Debian bookworm machine:
# Debian packages (PostgreSQL 15, pgTAP, plpgsql_check), the Python venv, and the npm tool
# chain (the pinned supabase CLI). Each step is skipped when already done, so it is cheap
# to run before every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus brings promtool, which checks the orchestrator's /metrics output; chromium is
# the browser the worker drives (Playwright cannot download one here), and
# chromium-headless-shell the lean build of it that submissions run in. podman, buildah,
# mmdebstrap and runc build and run the images (deploy/images; no Docker engine, no
# registry); kubectl renders the kustomize overlays (deploy/k8s).
apt_packages=(postgresql-15 postgresql-15-pgtap postgresql-15-plpgsql-check prometheus chromium
  chromium-headless-shell podman buildah mmdebstrap runc uidmap kubectl)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "==> apt: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> python: creating .venv"
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> python: installing the project and its pinned dependencies"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev,bench]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

npm_stamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "$npm_stamp" ]; then
  echo "==> npm: installing the node tool chain (supabase CLI, Deno)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi
