#!/usr/bin/env bash
# Builds the Debian bookworm base image every DirectoryBolt image starts from, without a
# registry: mmdebstrap makes a root filesystem from Debian's own packages (the mirror this
# machine's apt already uses), and `podman import` turns it into an image.
#
# The tag is a digest of this script, so the base is rebuilt only when what goes into it
# changes; prints the image reference. Usage: deploy/images/base.sh
set -euo pipefail
cd "$(dirname "$0")"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/containers.conf}"

# python3-venv: the images install the project into /opt/venv; tini: PID 1 that forwards
# SIGTERM (a worker releases its job on it) and reaps Chromium's children.
packages=python3,python3-venv,ca-certificates,tini
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# After the cd above, so the digest is of this file however the script was called.
key=$(sha256sum "$(basename "$0")" | cut -c1-12)
image="localhost/directorybolt/debian:bookworm-$key"
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> base: mmdebstrap bookworm ($packages)" >&2
mmdebstrap --quiet --variant=apt --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  bookworm "$work/rootfs.tar" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main" >&2
podman import --quiet \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "$image"
