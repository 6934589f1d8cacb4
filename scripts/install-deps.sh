#!/usr/bin/env bash
# Installs everything ringmaster needs on Debian 12: build tools, libraries and
# the real data sets (from Debian packages only, fortune-mod's quotes among
# them for the language model; nothing else is downloaded),
# and the test tools: prometheus (promtool and the server the dashboard test
# scrapes with) and docker-compose (the compose file is checked, not run).
# Transfer learning with real pretrained weights also needs face-api's
# face-recognition network, fetched with curl from the npm registry (the
# tarball, no npm), and scikit-image's lfw_subset.npy (from its .deb, not
# installed); python3-numpy runs the test's independent reference forward.
# Idempotent: packages already present are skipped, data files already in
# place with the right sha256 are kept. Uses sudo only when not root.
# Usage: scripts/install-deps.sh [--bench] [--fuzz]   (--bench adds PyTorch, torchvision + OpenBLAS, and
# OpenMPI for the all-reduce anchor bench/mpi_allreduce_busbw.cpp; --fuzz adds clang with
# libFuzzer, the sanitizer runtimes and llvm-symbolizer for scripts/fuzz.sh and scripts/sanitize.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data_dir="${RINGMASTER_DATA:-$here/data}"
want_bench=0
want_fuzz=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --fuzz) want_fuzz=1 ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev prometheus-cpp-dev
  libdnnl-dev libsqlite3-dev libstb-dev libcli11-dev googletest libgtest-dev
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

check_sha() { # file expected-sha256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "install-deps: sha256 mismatch for $1: got $got, want $2" >&2
    return 1
  fi
}

# Fashion-MNIST comes from dataset-fashion-mnist; check what it installed.
fm=/usr/share/datasets/fashion-mnist
check_sha "$fm/train-images-idx3-ubyte.gz" b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
check_sha "$fm/train-labels-idx1-ubyte.gz" 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
check_sha "$fm/t10k-images-idx3-ubyte.gz" cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
check_sha "$fm/t10k-labels-idx1-ubyte.gz" 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05

# One file out of a Debian package's .deb, without installing the package;
# skipped when DEST is already there with the right sha256, checked after.
extract_from_deb() { # package member dest sha256
  local tmp
  if [ ! -f "$3" ] || ! check_sha "$3" "$4" 2>/dev/null; then
    mkdir -p "$(dirname "$3")"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq "$1" >/dev/null)
    dpkg-deb --fsys-tarfile "$tmp/$1"_*.deb | tar -x -C "$tmp" "$2"
    mv "$tmp/$2" "$3"
    rm -rf "$tmp"
  fi
  check_sha "$3" "$4"
}
# sklearn's digits (1,797 8x8 handwritten digits): only the csv.gz.
extract_from_deb python3-sklearn ./usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz \
  "$data_dir/digits.csv.gz" 46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a
# scikit-image's lfw_subset.npy (200 25x25 faces and non-faces).
extract_from_deb python3-skimage ./usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy \
  "$data_dir/lfw_subset.npy" 9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c

# face-api's face-recognition ResNet (npm @vladmandic/face-api 1.7.15, MIT;
# dlib's weights, public domain): the registry's tarball, keeping only the
# tfjs weights manifest and its one .bin.
face_api="$data_dir/face-api"
fa_manifest="$face_api/face_recognition_model-weights_manifest.json"
fa_manifest_sha=cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
fa_bin="$face_api/face_recognition_model.bin"
fa_bin_sha=b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
fa_tgz_sha=0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031
if [ ! -f "$fa_manifest" ] || ! check_sha "$fa_manifest" "$fa_manifest_sha" 2>/dev/null ||
   [ ! -f "$fa_bin" ] || ! check_sha "$fa_bin" "$fa_bin_sha" 2>/dev/null; then
  mkdir -p "$face_api"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/face-api.tgz" \
    https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz
  check_sha "$tmp/face-api.tgz" "$fa_tgz_sha"
  tar -xzf "$tmp/face-api.tgz" -C "$tmp" package/model/face_recognition_model-weights_manifest.json \
    package/model/face_recognition_model.bin
  mv "$tmp/package/model/face_recognition_model-weights_manifest.json" "$fa_manifest"
  mv "$tmp/package/model/face_recognition_model.bin" "$fa_bin"
  rm -rf "$tmp"
fi
check_sha "$fa_manifest" "$fa_manifest_sha"
check_sha "$fa_bin" "$fa_bin_sha"
echo "install-deps: data ready (fashion-mnist in $fm; digits, lfw_subset.npy and face-api/ in $data_dir)"
