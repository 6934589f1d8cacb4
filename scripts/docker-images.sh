#!/usr/bin/env bash
# Builds docker-compose.yml's images for a CPU host without any registry:
# the base is Debian bookworm made by scripts/docker-base-image.sh, the
# ringmaster image takes the binaries of this host's build (scripts/build.sh;
# Debian 12 like the image) instead of compiling them again in the build
# stage, and this host's data files (scripts/install-deps.sh fetched and
# checked them) instead of fetching them again; Prometheus is Debian's
# package. The deploy test runs this.
# Usage: scripts/docker-images.sh
# Env (defaults): DOCKER (docker), RINGMASTER_BUILD_DIR (./build),
#   RINGMASTER_BASE_IMAGE (ringmaster-base:bookworm; made when missing),
#   RINGMASTER_IMAGE (ringmaster:latest),
#   RINGMASTER_PROMETHEUS_IMAGE (ringmaster-prometheus:latest).
# Needs BuildKit (DOCKER_BUILDKIT=1 is set): without it the Dockerfile's
# build stage would run too.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
docker="${DOCKER:-docker}"
build_dir="${RINGMASTER_BUILD_DIR:-$here/build}"
data_dir="${RINGMASTER_DATA:-$here/data}"
base="${RINGMASTER_BASE_IMAGE:-ringmaster-base:bookworm}"
image="${RINGMASTER_IMAGE:-ringmaster:latest}"
prometheus="${RINGMASTER_PROMETHEUS_IMAGE:-ringmaster-prometheus:latest}"
host="${image%%:*}-host:latest"  # /opt/ringmaster/{bin,lib,data}
export DOCKER_BUILDKIT=1

if [ ! -x "$build_dir/bin/ringmaster" ]; then
  echo "docker-images: $build_dir/bin/ringmaster missing: run scripts/build.sh first" >&2
  exit 1
fi
DOCKER="$docker" "$here/scripts/docker-base-image.sh" "$base"
stage=$(mktemp -d /tmp/ringmaster-binaries.XXXXXX)
trap 'rm -rf "$stage"' EXIT
"$here/scripts/collect-runtime.sh" "$build_dir" "$stage/opt/ringmaster"
mkdir -p "$stage/opt/ringmaster/data"
cp -r "$data_dir"/. "$stage/opt/ringmaster/data/"
# Checks each file's sha256 (fetching only what is missing or wrong).
RINGMASTER_DATA="$stage/opt/ringmaster/data" RINGMASTER_DATA_TAG=docker-images \
  "$here/scripts/install-data.sh" > /dev/null
printf 'FROM scratch\nLABEL org.ringmaster.image=host\nCOPY opt /opt\n' | "$docker" build -q -t "$host" -f - "$stage" > /dev/null
"$docker" build -q -t "$image" --build-arg BUILD_IMAGE="$base" --build-arg RUN_IMAGE="$base" \
  --build-arg BINARIES="$host" --build-arg DATA="$host" "$here" > /dev/null
"$docker" build -q -t "$prometheus" --build-arg BASE_IMAGE="$base" \
  -f "$here/dashboards/prometheus.Dockerfile" "$here/dashboards" > /dev/null
# The images these tags pointed to before, now untagged: ours only (by label).
"$docker" image prune -f --filter label=org.ringmaster.image > /dev/null
for i in "$image" "$prometheus"; do
  echo "docker-images: $i $("$docker" image inspect -f '{{.Size}}' "$i" | awk '{printf "%.0f MB", $1 / 1e6}')"
done
