#!/usr/bin/env bash
# Runs HERE (no GPU needed): builds Release and gathers into .device/bundle/
# what the GPU machine needs for scripts/gpu-check.sh: the GPU test and bench
# binaries, the ringmaster CLI, libringmaster_ops.so, the Debian libraries they load that a plain
# Ubuntu image with CUDA 13 lacks (all but glibc's and CUDA's; libstdc++
# as a fallback only), all stripped, and data/digits.csv.gz. The CUDA
# runtime, cuBLAS and cuDNN are NOT copied: the GPU machine has them.
# Libraries over 8 MiB are gzipped (gpu-check.sh unpacks them). Checks the
# total stays under 60 MiB. .device/ is git-ignored. Also what
# scripts/device-scaling.sh needs (a slice of Fashion-MNIST, ip, tc, taskset).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
OUT=.device/bundle
LIMIT_MIB=60

command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] ||
  { echo "gpu-bundle: no nvcc here: the bundle would have no CUDA backend" >&2; exit 1; }
# sm_90 (H100/H200) SASS and compute_90 PTX, whatever an older cache says.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
ninja -j"${JOBS:-2}" -C "$BUILD" cuda_tests models_tests bench_train_throughput ringmaster ringmaster_ops \
  ringmaster_ops_cuda  # loaded at run time (dlopen), so no target above depends on it

rm -rf "$OUT"
mkdir -p "$OUT/fallback"
BINS=("$BUILD/tests/ops/cuda_tests" "$BUILD/tests/models/models_tests" "$BUILD/bin/bench_train_throughput" "$BUILD/bin/ringmaster")
cp "${BINS[@]}" "$BUILD/ops/libringmaster_ops.so" "$BUILD/ops/libringmaster_ops_cuda.so" "$OUT/"
ldd "$OUT/libringmaster_ops_cuda.so" | grep libcudnn >/dev/null ||
  { echo "gpu-bundle: $BUILD has no CUDA backend (configure found no nvcc?)" >&2; exit 1; }

# The Debian libraries the binaries load, except the C library, the CUDA
# ones and what every Ubuntu has.
resolve() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'; }
declare -A COPY=()
for f in "$OUT"/cuda_tests "$OUT"/models_tests "$OUT"/bench_train_throughput "$OUT"/ringmaster "$OUT"/libringmaster_ops.so "$OUT"/libringmaster_ops_cuda.so; do
  while read -r name path; do
    case "$name" in
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libgcc_s.so.*) ;;  # glibc's, on every Linux
      libstdc++.so.*) COPY["fallback/$name"]=$path ;;
      libcudart*|libcublas*|libcudnn*|libnvrtc*|libnccl*|libcuda.so*) ;;  # the GPU machine's own
      *) COPY[$name]=$path ;;  # oneDNN, ZeroMQ (+ sodium, pgm, norm, krb5), SQLite, prometheus-cpp, stb, ...
    esac
  done < <(resolve "$f")
done
for name in "${!COPY[@]}"; do cp -L "${COPY[$name]}" "$OUT/$name"; done
chmod u+w "$OUT"/* "$OUT"/fallback/* 2>/dev/null || true
strip --strip-unneeded "$OUT"/*.so* "$OUT"/fallback/* 2>/dev/null || true
strip --strip-all "$OUT"/cuda_tests "$OUT"/models_tests "$OUT"/bench_train_throughput "$OUT"/ringmaster
cp data/digits.csv.gz "$OUT/"

# For scripts/device-scaling.sh (issue 22's 4-rank scaling on the device's
# cores): the first 25,600 training and 1,000 test images of Fashion-MNIST,
# and iproute2's ip and tc (network namespaces, 1 Gbit/s links) and taskset
# with the libraries they load.
python3 - /usr/share/datasets/fashion-mnist "$OUT/fashion-mnist" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1:]
os.makedirs(dst, exist_ok=True)
for name, keep in [("train-images-idx3-ubyte", 25600), ("train-labels-idx1-ubyte", 25600),
                   ("t10k-images-idx3-ubyte", 1000), ("t10k-labels-idx1-ubyte", 1000)]:
    data = gzip.open(os.path.join(src, name + ".gz")).read()
    ndim = data[3]
    dims = list(struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim]))
    item = 1
    for d in dims[1:]:
        item *= d
    dims[0] = min(keep, dims[0])
    head = data[:4] + struct.pack(">%dI" % ndim, *dims)
    body = data[4 + 4 * ndim:4 + 4 * ndim + dims[0] * item]
    with gzip.open(os.path.join(dst, name + ".gz"), "wb", compresslevel=9) as f:
        f.write(head + body)
PY
mkdir -p "$OUT/tools/lib"
for t in ip tc taskset; do
  cp -L "$(command -v "$t")" "$OUT/tools/"
  while read -r name path; do
    case "$name" in libc.so.*|libm.so.*) ;; *) cp -L "$path" "$OUT/tools/lib/" ;; esac
  done < <(resolve "$(command -v "$t")")
done

{
  echo "ringmaster GPU bundle, $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty'), built $(date -u +%Y-%m-%dT%H:%MZ) on $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "CUDA $(/usr/local/cuda/bin/nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), cuDNN headers $(sed -n 's/#define CUDNN_MAJOR //p;s/#define CUDNN_MINOR //p' /usr/local/cuda/include/cudnn_version.h | paste -sd.), arch $(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
  echo "needs there: libcudnn.so.9, libcublas.so.13, libcublasLt.so.13$(ldd "$OUT/libringmaster_ops_cuda.so" | grep libcudart >/dev/null && echo ', libcudart.so.13'), glibc >= $(objdump -T "$OUT"/*.so* "$OUT"/cuda_tests "$OUT"/models_tests "$OUT"/bench_train_throughput "$OUT"/ringmaster 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | sed 's/GLIBC_//')"
} >"$OUT/MANIFEST"
# The device's carry limit is 64 MiB for everything: libraries over 8 MiB
# (oneDNN's is ~40) travel gzipped; gpu-check.sh unpacks them first.
for f in "$OUT"/*.so*; do
  [ "$(stat -c %s "$f")" -gt $(( 8 * 1048576 )) ] && gzip -9 "$f"
done

ls -la "$OUT" "$OUT/fallback"
TOTAL=$(du -sb "$OUT" | cut -f1)
echo "gpu-bundle: $OUT is $(( TOTAL / 1048576 )) MiB ($TOTAL bytes)"
cat "$OUT/MANIFEST"
if [ "$TOTAL" -gt $(( LIMIT_MIB * 1048576 )) ]; then
  echo "gpu-bundle: over ${LIMIT_MIB} MiB" >&2
  exit 1
fi
