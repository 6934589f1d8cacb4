#!/usr/bin/env bash
# Lays out what the runtime image needs from a build folder: the ringmaster
# binary, our ops libraries, and every shared library they load that the
# runtime image's base does not bring (glibc, and for the CUDA backend the
# driver and the CUDA runtime libraries, come from there).
#   scripts/collect-runtime.sh BUILD_DIR DEST [--cuda]
# DEST gets bin/ringmaster and lib/*.so*. The CUDA backend
# (libringmaster_ops_cuda.so) is taken only with --cuda, for an image whose
# base carries CUDA; without it the binary runs on the CPU, and says why.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR DEST [--cuda]" >&2
  exit 2
fi
build="$1" dest="$2" cuda="${3:-}"
mkdir -p "$dest/bin" "$dest/lib"
cp "$build/bin/ringmaster" "$dest/bin/"
cp "$build/ops/libringmaster_ops.so" "$dest/lib/"
if [ "$cuda" = "--cuda" ] && [ -f "$build/ops/libringmaster_ops_cuda.so" ]; then
  cp "$build/ops/libringmaster_ops_cuda.so" "$dest/lib/"
fi
base_libs='/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*|libcuda|libcudart|libcublas[A-Za-z]*|libcudnn[a-z_]*|libringmaster_ops[a-z_]*)\.so'
for f in "$dest/bin/ringmaster" "$dest"/lib/libringmaster_ops*.so; do
  LD_LIBRARY_PATH="$dest/lib" ldd "$f" | awk '/=> \//{print $3}'
done | sort -u | { grep -v -E "$base_libs" || true; } | while read -r lib; do
  cp -L "$lib" "$dest/lib/"
done
echo "collect-runtime: $(ls "$dest/lib" | wc -l) libraries, $(du -sh "$dest" | cut -f1) in $dest"
