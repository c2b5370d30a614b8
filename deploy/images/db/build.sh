#!/usr/bin/env bash
# Builds the database image (Postgres 15 + the Supabase bootstrap) from the Debian base image
# and prints its reference, localhost/directorybolt/db:<tag>. The tag is a digest of everything
# that goes into it (this directory, the bootstrap SQL, the base image), so the image is rebuilt
# only when one of those changes. Usage: deploy/images/db/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/../containers.conf}"

base=$("$here/../base.sh")
sql=("$root/devstack/supabase_bootstrap.sql" "$root/devstack/realtime_notify.sql")
key=$( { echo "$base"; cat "$here/Containerfile" "$here/init-cluster.sh" "$here/build.sh" "${sql[@]}"; } \
  | sha256sum | cut -c1-12)
image="localhost/directorybolt/db:$key"
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

# A context of only what the Containerfile copies: the checkout (.venv, node_modules) is large.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/Containerfile" "$here/init-cluster.sh" "${sql[@]}" "$context/"
echo "==> db image: $image (from $base)" >&2
# Host networking: apt reaches the Debian mirror the way this machine does (no bridge here).
podman build --quiet --network=host --build-arg "BASE=$base" --build-arg "IMAGE_REF=$image" \
  --tag "$image" --file "$context/Containerfile" "$context" >/dev/null
echo "$image"
