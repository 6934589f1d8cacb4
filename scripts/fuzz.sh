#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from its seed corpus in
# fuzz/corpus/<target>/ plus what earlier runs found (build-fuzz/corpus/).
# A crash, a sanitizer report or an unexpected exception stops that target
# and leaves the input in build-fuzz/findings/; the script then exits 1.
# Needs clang-16, libclang-rt-16-dev and libomp-16-dev
# (scripts/install-deps.sh --fuzz). Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
scripts/install-deps.sh --fuzz
[ "${#targets[@]}" -gt 0 ] || targets=(job_spec message safetensors npy tfjs http)
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRINGMASTER_FUZZ=ON -DRINGMASTER_CUDA=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}"
mkdir -p build-fuzz/findings
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz_$t: ${seconds} s"
  if ! ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer ASAN_OPTIONS=detect_leaks=0 \
      build-fuzz/bin/"fuzz_$t" -max_total_time="$seconds" \
      -rss_limit_mb=4096 -max_len=65536 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/findings/$t-" "build-fuzz/corpus/$t" "fuzz/corpus/$t" \
      2> "build-fuzz/$t.log"; then
    echo "fuzz_$t: FOUND something, see build-fuzz/$t.log and build-fuzz/findings/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/$t.log" || true
done
exit "$status"
