#!/usr/bin/env bash
# `make images`: builds localhost/directorybolt/services:<tag> and
# localhost/directorybolt/worker:<tag> (<tag> = the commit, `git rev-parse --short=12 HEAD`)
# from the Debian base (base.sh) and the host-built wheelhouse (wheelhouse.sh), then prints
# their sizes. Both targets come from one Containerfile whose stages share every layer, so
# the second build is all cache hits. With IMAGE_TAG set, that tag is used instead;
# IMAGES_NO_CACHE=1 rebuilds every layer above the base (a cold build, for measuring).
# Usage: deploy/images/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
tag="${IMAGE_TAG:-$(git -C "$root" rev-parse --short=12 HEAD)}"

started=$SECONDS
base=$("$here/base.sh")
context=$("$here/wheelhouse.sh")
echo "==> images: hadolint" >&2
"$root/.venv/bin/hadolint" "$here/Containerfile"

no_cache=()
[ -n "${IMAGES_NO_CACHE:-}" ] && no_cache=(--no-cache)
for name in services worker; do
  echo "==> images: localhost/directorybolt/$name:$tag" >&2
  # --layers: keep intermediate layers so the next build reuses them (podman's default, said
  # anyway because the warm rebuild's speed depends on it).
  podman build --quiet --layers --network host "${no_cache[@]}" \
    --build-arg "BASE_IMAGE=$base" \
    --target "$name" \
    --file "$here/Containerfile" \
    --tag "localhost/directorybolt/$name:$tag" \
    "$context" >/dev/null
  no_cache=()  # the worker target reuses the layers the services target just made
done

echo "==> images built in $((SECONDS - started)) s (tag $tag):"
for name in services worker; do
  podman image inspect --format "{{.Size}}" "localhost/directorybolt/$name:$tag" |
    awk -v image="localhost/directorybolt/$name:$tag" '{ printf "  %-55s %5.0f MB\n", image, $1 / 1e6 }'
done
