#!/usr/bin/env bash
# The data files ringmaster's examples read that no Debian package installs
# where we want them: sklearn's digits and scikit-image's lfw_subset.npy, each
# one file out of its package's .deb (apt-get download, not installed), and
# face-api's face-recognition weights (npm @vladmandic/face-api 1.7.15, the
# registry's tarball fetched with curl). Each file is checked by sha256; files
# already in place with the right sum are kept. Called by install-deps.sh, and
# by the Dockerfile's data stage.
# Usage: [RINGMASTER_DATA=DIR] scripts/install-data.sh [--check-fashion-mnist]
#   (default DIR ./data; --check-fashion-mnist also checks the four files
#   Debian's dataset-fashion-mnist installed, as install-deps.sh does)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data_dir="${RINGMASTER_DATA:-$here/data}"
tag="${RINGMASTER_DATA_TAG:-install-data}"

check_sha() { # file expected-sha256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$tag: sha256 mismatch for $1: got $got, want $2" >&2
    return 1
  fi
}

if [ "${1:-}" = "--check-fashion-mnist" ]; then
  fm=/usr/share/datasets/fashion-mnist
  check_sha "$fm/train-images-idx3-ubyte.gz" b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
  check_sha "$fm/train-labels-idx1-ubyte.gz" 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
  check_sha "$fm/t10k-images-idx3-ubyte.gz" cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
  check_sha "$fm/t10k-labels-idx1-ubyte.gz" 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
elif [ $# -gt 0 ]; then
  echo "$tag: unknown argument '$1'" >&2
  exit 2
fi

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
