# Sourced on the device machine by gpu-check.sh and device-scaling.sh, with
# B set to the bundle (.device/bundle, made by gpu-bundle.sh): unpacks the
# libraries the bundle carries gzipped into a temporary folder, removed when
# the script exits, and sets UNPACKED to it. Returns 3 if one cannot be
# unpacked.
UNPACKED=$(mktemp -d)
trap 'rm -rf "$UNPACKED"' EXIT
unpack_bundle_libs() {
  local z
  for z in "$B"/*.so*.gz; do
    [ -e "$z" ] || continue
    gzip -dc "$z" >"$UNPACKED/$(basename "${z%.gz}")" || { echo "cannot unpack $z"; return 3; }
  done
}
