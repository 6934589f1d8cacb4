#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, starts a local
# cluster (a coordinator and one worker on loopback, state under
# runs/cluster), submits the quick-start job (DeepConvNet on a slice of real
# Fashion-MNIST), follows it with a progress bar, then stops the cluster and
# exits with the job's result (0: it succeeded). Free ports are picked, so it
# runs beside anything else; `ringmaster jobs` from this folder finds it.
# Extra arguments go to `ringmaster up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/ringmaster up --workers 1 --port 0 --zmq-port 0 \
  --submit examples/quickstart.json --follow "$@"
