#!/usr/bin/env bash
# The unit tests of ops, models, comm, training and the coordinator, built
# with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# build-fuzz/ (the libraries the fuzzers use, so one build serves both) and
# run there. Any sanitizer report fails its test. Needs clang-16 and its
# runtimes (scripts/install-deps.sh --fuzz). Usage: scripts/sanitize.sh [CTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRINGMASTER_FUZZ=ON -DRINGMASTER_CUDA=OFF -DBUILD_TESTING=ON >/dev/null
cmake --build build-fuzz
# halt_on_error: the first report fails the test; leaks are checked too.
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
ctest --test-dir build-fuzz --output-on-failure -j2 -L 'ops|models|comm|training|coordinator' "$@"
