#!/usr/bin/env bash
# Installs everything ringmaster needs on Debian 12: build tools, libraries and
# the real data sets (from Debian packages only, fortune-mod's quotes among
# them for the language model; nothing else is downloaded),
# and the test tools: prometheus (promtool and the server the dashboard test
# scrapes with) and docker-compose (the compose file is checked; the deploy
# test, with --docker, starts it).
# Transfer learning with real pretrained weights also needs face-api's
# face-recognition network, fetched with curl from the npm registry (the
# tarball, no npm), and scikit-image's lfw_subset.npy (from its .deb, not
# installed); python3-numpy runs the test's independent reference forward.
# Idempotent: packages already present are skipped, data files already in
# place with the right sha256 are kept. Uses sudo only when not root.
# Usage: scripts/install-deps.sh [--bench] [--fuzz] [--docker]   (--bench adds PyTorch, torchvision +
# OpenBLAS, and OpenMPI for the all-reduce anchor bench/mpi_allreduce_busbw.cpp; --fuzz adds clang
# with libFuzzer, the sanitizer runtimes and llvm-symbolizer for scripts/fuzz.sh and
# scripts/sanitize.sh; --docker adds Debian's Docker engine and debootstrap for the deploy test,
# tests/deploy/, which starts dockerd itself: the package's service is not started)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data_dir="${RINGMASTER_DATA:-$here/data}"
want_bench=0
want_fuzz=0
want_docker=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --fuzz) want_fuzz=1 ;;
    --docker) want_docker=1 ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev prometheus-cpp-dev
  libdnnl-dev libsqlite3-dev libstb-dev libpng-dev libturbojpeg0-dev libcli11-dev googletest
  libgtest-dev
  zlib1g-dev ocl-icd-opencl-dev opencl-c-headers curl python3-numpy
  dataset-fashion-mnist libonnx-testdata fortunes python3-nltk
  prometheus docker-compose
)
if [ "$want_bench" -eq 1 ]; then
  packages+=(python3-torch python3-torchvision libopenblas0-pthread openmpi-bin libopenmpi-dev)
fi
if [ "$want_fuzz" -eq 1 ]; then
  packages+=(clang-16 libclang-rt-16-dev libomp-16-dev llvm-16)
fi
if [ "$want_docker" -eq 1 ]; then
  packages+=(docker.io debootstrap iptables)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi

# The data files that come out of packages' archives (sklearn's digits,
# scikit-image's faces, face-api's weights), into $data_dir; and the check of
# the Fashion-MNIST files dataset-fashion-mnist installed.
RINGMASTER_DATA="$data_dir" RINGMASTER_DATA_TAG=install-deps "$here/scripts/install-data.sh" \
  --check-fashion-mnist
echo "install-deps: data ready (fashion-mnist in /usr/share/datasets/fashion-mnist; digits, lfw_subset.npy and face-api/ in $data_dir)"
