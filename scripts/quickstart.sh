#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and trains the
# quick-start job (DeepConvNet on a slice of real Fashion-MNIST) with progress
# on screen. Extra arguments go to `ringmaster train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/ringmaster train examples/quickstart.json "$@"
