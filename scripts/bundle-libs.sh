# Sourced on the device machine by gpu-check.sh and device-scaling.sh, with
# B set to the bundle (.device/bundle, made by gpu-bundle.sh): unpacks the
# libraries the bundle carries gzipped into a temporary folder, removed when
# the script exits, and sets UNPACKED to it (unpack_bundle_libs returns 3
# if one cannot be unpacked); bundle_ld_path gives the library path.
UNPACKED=$(mktemp -d)
trap 'rm -rf "$UNPACKED"' EXIT
unpack_bundle_libs() {
  local z
  for z in "$B"/*.so*.gz; do
    [ -e "$z" ] || continue
    gzip -dc "$z" >"$UNPACKED/$(basename "${z%.gz}")" || { echo "cannot unpack $z"; return 3; }
  done
}

# The library path for the bundle's binaries: the bundle, the unpacked
# libraries, then $1 (more directories, may be empty), and the build
# machine's libstdc++ last, only if this system's is too old for $2.
bundle_ld_path() {
  local ld=$B:$UNPACKED${1:+:$1}
  if LD_LIBRARY_PATH=$ld ldd "$2" 2>&1 | grep "GLIBCXX.*not found" >/dev/null; then
    ld=$ld:$B/fallback
  fi
  echo "$ld"
}
