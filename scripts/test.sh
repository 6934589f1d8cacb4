#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every
# test; then the lower layers' unit tests under ASan and UBSan, and each
# fuzzer for a bounded time (issue 19). --docker: the deploy test starts a
# Docker engine and the compose stack (tests/deploy/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz --docker
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 "$@"
scripts/sanitize.sh
scripts/fuzz.sh 30
