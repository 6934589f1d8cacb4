#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with .device/ carried
# (made here by scripts/gpu-bundle.sh): finds CUDA 13's cuBLAS and cuDNN (in
# PyTorch's pip packages, a system CUDA, or anywhere on disk), prints the GPU,
# runs the GPU tests (cuda_tests and models_tests Cuda*, f32 first, then the
# fp16 suites in their own processes; `ringmaster train` on the GPU in fp32
# and fp16) and the DeepConvNet training benchmark against the identical
# PyTorch model, then ResNet-50 likewise (fp32, then fp16 vs AMP, as time
# allows), then a summary table. Builds nothing. No GPU: says so and exits 2.
# Budget: < 8 minutes (the benchmark stops starting rows after 450 s).
#   scripts/gpu-check.sh [--no-bench] [--rounds N] [--dry-run]
# --dry-run goes on without a GPU (the tests then skip and count as failed):
# it checks the script, the bundle and the library search on any machine.
# GPU_CHECK_LOGS=dir puts the full logs there (default .device/gpu-check-logs).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/.device/bundle
START=$(date +%s)
BENCH=1
ROUNDS=5
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-bench) BENCH=0 ;;
    --rounds) ROUNDS=$2; shift ;;
    --dry-run) DRY=1 ;;
    *) echo "usage: $0 [--no-bench] [--rounds N] [--dry-run]" >&2; exit 64 ;;
  esac
  shift
done
say() { printf '== %s\n' "$*"; }

if [ ! -x "$B/cuda_tests" ]; then
  echo "gpu-check: $B/cuda_tests is missing: run scripts/gpu-bundle.sh here first and carry .device"
  exit 2
fi
cat "$B/MANIFEST" 2>/dev/null | sed 's/^/   /'
# Libraries the bundle carries gzipped (gpu-bundle.sh), unpacked beside it.
. "$ROOT/scripts/bundle-libs.sh"
unpack_bundle_libs || exit 3

# --- the GPU ------------------------------------------------------------------
GPU=""
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
fi
if [ -z "$GPU" ] && command -v python3 >/dev/null 2>&1; then
  GPU=$(timeout 60 python3 -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>/dev/null)
fi
[ -z "$GPU" ] && [ $DRY = 1 ] && GPU="no GPU (dry run)"
if [ -z "$GPU" ]; then
  echo "gpu-check: no GPU (nvidia-smi finds none and PyTorch sees no CUDA device); nothing to check"
  exit 2
fi
say "GPU: $GPU"

# --- CUDA libraries: cuDNN 9 and cuBLAS 13 (plus cuBLASLt, NVRTC, the runtime) -
WANT='libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libnvrtc.so.13 libnccl.so.2'
LIBDIRS=$(timeout 90 python3 - "$WANT" <<'EOF' 2>/dev/null
import os, sys
want = set(sys.argv[1].split())
roots = []
try:
    import nvidia  # namespace package of NVIDIA's pip wheels (cudnn, cublas, cu13, ...)
    roots += list(nvidia.__path__)
except Exception:
    pass
try:
    import importlib.util
    spec = importlib.util.find_spec("torch")
    if spec and spec.origin:
        roots.append(os.path.join(os.path.dirname(spec.origin), "lib"))
except Exception:
    pass
dirs = []
for root in roots:
    for dp, _, files in os.walk(root):
        if want.intersection(files) and dp not in dirs:
            dirs.append(dp)
print(":".join(dirs))
EOF
)
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && LIBDIRS=${LIBDIRS:+$LIBDIRS:}$d
done
missing() {  # the wanted libraries no directory in $1 holds
  local m="" lib d found
  for lib in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13; do
    found=0
    IFS=: read -ra ds <<<"$1"
    for d in "${ds[@]}"; do [ -e "$d/$lib" ] && found=1 && break; done
    [ $found = 1 ] || m="$m $lib"
  done
  echo "$m"
}
if [ -n "$(missing "$LIBDIRS")" ]; then
  say "searching the disk for$(missing "$LIBDIRS")"
  for f in $(timeout 90 find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
      \( -name 'libcudnn.so.9*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \
      -o -name 'libnvrtc.so.13*' -o -name 'libnccl.so.2*' \) -print 2>/dev/null); do
    d=$(dirname "$f")
    case ":$LIBDIRS:" in *":$d:"*) ;; *) LIBDIRS=${LIBDIRS:+$LIBDIRS:}$d ;; esac
  done
fi
LD=$(bundle_ld_path "$LIBDIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$B/cuda_tests")
case $LD in *"$B/fallback") say "using the bundled libstdc++ (this system's is older)" ;; esac
say "CUDA libraries from: ${LIBDIRS:-(none found)}"
NOTFOUND=$(LD_LIBRARY_PATH=$LD ldd "$B/libringmaster_ops.so" "$B/cuda_tests" 2>&1 | grep -E "not found" | sort -u)
if [ -n "$NOTFOUND" ]; then
  echo "gpu-check: libraries missing:"; echo "$NOTFOUND"
  exit 3
fi
for lib in libcudnn.so.9 libcublas.so.13; do
  LD_LIBRARY_PATH=$LD ldd "$B/libringmaster_ops.so" | grep -m1 "$lib" | sed 's/^\s*/   /'
done

# --- GPU tests ------------------------------------------------------------------
export RM_DIGITS_CSV=$B/digits.csv.gz
LOG=${GPU_CHECK_LOGS:-$ROOT/.device/gpu-check-logs}  # e.g. GPU_CHECK_LOGS=$OUT
mkdir -p "$LOG" 2>/dev/null || LOG=$(mktemp -d)
run_tests() {  # name binary filter timeout
  local name=$1 bin=$2 filter=$3 limit=$4
  say "$name ($bin --gtest_filter=$filter)"
  LD_LIBRARY_PATH=$LD timeout "$limit" "$B/$bin" --gtest_filter="$filter" --gtest_color=no \
    >"$LOG/$name.log" 2>&1
  local rc=$?
  # Failures with their messages, the first skip reason, the totals.
  grep -E -A8 ': Failure$|check failed|CUDA error|cuDNN error|cuBLAS error' "$LOG/$name.log" | head -80
  grep -E '^\[  FAILED  \] .*ms\)$' "$LOG/$name.log"
  grep -m1 -A1 ': Skipped$' "$LOG/$name.log"
  grep -E '^\[==========\] .* ran|^\[  PASSED  \]' "$LOG/$name.log"
  [ $rc = 124 ] && echo "   TIMED OUT after ${limit}s"
  grep -A14 'step   cpu loss' "$LOG/$name.log" | sed 's/^/   /'
  local passed failed skipped
  # One line per test ends in "(N ms)"; the closing lists repeat names without it.
  passed=$(grep -c '^\[       OK \] .*ms)$' "$LOG/$name.log")
  failed=$(grep -c '^\[  FAILED  \] .*ms)$' "$LOG/$name.log")
  skipped=$(grep -c '^\[  SKIPPED \] .*ms)$' "$LOG/$name.log")
  SUMMARY="$SUMMARY| $name | $passed | $failed | $skipped | $rc |\n"
  [ $rc = 0 ] || TESTS_OK=0
  [ "$skipped" = 0 ] || TESTS_OK=0  # on a GPU nothing may skip
}
TESTS_OK=1
SUMMARY=""
# f32 first; the mixed-precision (CudaHalf*) suites in their own processes,
# so that a crash there cannot hide the f32 results.
run_tests cuda_tests cuda_tests '*:-CudaAvailability.*:CudaHalf*' 200  # CudaAvailability: GPU-less only
run_tests models_cuda models_tests 'Cuda*:-CudaHalf*' 120
run_tests cuda_tests_fp16 cuda_tests 'CudaHalf*' 90
run_tests models_cuda_fp16 models_tests 'CudaHalf*' 90

# --- the trainer end to end: `ringmaster train` with train.device "cuda" -------
train_run() {  # precision
  local prec=$1 tmp rc acc ok=0
  say "ringmaster train: DeepConvNet on digits, train.device \"cuda\", $prec, 4 epochs"
  tmp=$(mktemp -d)
  cat >"$tmp/spec.json" <<JSON
{"name": "gpu-check", "data": {"dataset": "digits", "path": "$B/digits.csv.gz"},
 "train": {"epochs": 4, "batch_size": 32, "seed": 3, "device": "cuda", "precision": "$prec"},
 "optimizer": {"name": "adam", "lr": 0.002},
 "checkpoint": {"path": "$tmp/final.safetensors"}}
JSON
  LD_LIBRARY_PATH=$LD timeout 120 "$B/ringmaster" train "$tmp/spec.json" \
    --metrics-out "$tmp/metrics.json" >"$LOG/train_$prec.log" 2>&1
  rc=$?
  sed 's/^/   /' "$LOG/train_$prec.log" | tail -8
  [ -f "$tmp/metrics.json" ] && sed 's/^/   /' "$tmp/metrics.json" | grep -E 'accuracy|skipped|scale|images'
  acc=$(python3 -c "import json; print(json.load(open('$tmp/metrics.json'))['test_accuracy'])" 2>/dev/null)
  grep -q '^device: cuda:0' "$LOG/train_$prec.log" && [ $rc = 0 ] &&
    python3 -c "import sys; sys.exit(0 if float('${acc:-0}') >= 0.9 else 1)" 2>/dev/null && ok=1
  SUMMARY="$SUMMARY| ringmaster train $prec (digits, test acc ${acc:-?}) | $ok | $((1 - ok)) | 0 | $rc |\n"
  [ $ok = 1 ] || TESTS_OK=0
  rm -rf "$tmp"
}
train_run fp32
train_run fp16

# --- benchmark ----------------------------------------------------------------
# DeepConvNet (batch 100, 28x28) and ResNet-50 (batch 64, 3x224x224), fp32
# then mixed precision, each against the identical PyTorch model, alternating
# fresh processes; each row gets what is left of the 450 s budget.
BENCH_TABLE=""
bench_row() {  # title deadline_s args...
  local title=$1 deadline=$2; shift 2
  local left=$(( deadline - ($(date +%s) - START) ))
  if [ $left -lt 40 ]; then
    say "$title skipped: $(( $(date +%s) - START ))s spent (budget ${deadline}s)"
    return
  fi
  say "benchmark: $title"
  timeout $left python3 bench/deepconvnet.py --device cuda --synthetic \
    --ours "$B/bench_train_throughput" --ours-ld-path "$LD" "$@" 2>&1 | tee -a "$LOG/bench.log"
}
if [ $BENCH = 1 ]; then
  if ! python3 -c 'import torch' 2>/dev/null; then
    say "benchmark skipped: python3 has no torch"
  else
    bench_row "DeepConvNet, batch 100, fp32, $ROUNDS rounds" 250 --table-header \
      --rounds "$ROUNDS" --steps 100 --warmup 20
    bench_row "DeepConvNet, mixed precision (ringmaster fp16 vs PyTorch AMP), 3 rounds" 280 \
      --precision fp16 --rounds 3 --steps 100 --warmup 20
    bench_row "ResNet-50, batch 64, fp32, 3 rounds" 380 --model resnet50 --batch 64 \
      --threads 8 --rounds 3 --steps 20 --warmup 5
    bench_row "ResNet-50, batch 64, mixed precision, 3 rounds" 450 --model resnet50 --batch 64 \
      --threads 8 --precision fp16 --rounds 3 --steps 20 --warmup 5
    BENCH_TABLE=$(grep '^|' "$LOG/bench.log")
  fi
fi

# --- summary ------------------------------------------------------------------
echo
say "summary ($GPU, $(( $(date +%s) - START )) s)"
printf '| tests | passed | failed | skipped | exit |\n|---|---|---|---|---|\n'
printf "$SUMMARY"
[ -n "$BENCH_TABLE" ] && { echo; echo "$BENCH_TABLE"; }
echo "logs: $LOG"
[ $TESTS_OK = 1 ] || { echo "gpu-check: GPU tests FAILED"; exit 1; }
echo "gpu-check: GPU tests passed"
