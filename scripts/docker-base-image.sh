#!/usr/bin/env bash
# Makes a Debian bookworm base image without a registry: debootstrap
# --variant=minbase from the Debian mirror apt already uses, then
# `docker import`. The deploy test builds on it (Docker Hub is not
# reachable everywhere); users with Hub access can use debian:bookworm.
# Usage: scripts/docker-base-image.sh [TAG]   (default ringmaster-base:bookworm)
# Skips the work when TAG already exists; needs root, debootstrap and docker.
set -euo pipefail
tag="${1:-ringmaster-base:bookworm}"
docker="${DOCKER:-docker}"
if "$docker" image inspect "$tag" > /dev/null 2>&1; then
  echo "docker-base-image: $tag present"
  exit 0
fi
# The first deb.debian.org-style URI in apt's own sources, else Debian's CDN.
mirror=$(grep -h -E '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -o -E 'https?://[^ ]+/debian/?( |$)' | tr -d ' ' | head -n1 || true)
mirror="${mirror:-http://deb.debian.org/debian}"
mirror="${mirror%/}"
root=$(mktemp -d /tmp/ringmaster-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "docker-base-image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 ||
  { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# The same suites the host has: the release, its updates and security.
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | "$docker" import --change 'CMD ["/bin/bash"]' - "$tag" > /dev/null
echo "docker-base-image: imported $tag ($("$docker" image inspect -f '{{.Size}}' "$tag") bytes)"
