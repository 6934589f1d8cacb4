#!/usr/bin/env bash
# The face-api transfer experiment (docs/face-api-transfer.md): every spec of
# this folder (or VARIANTS) once per training seed (SEEDS), all on the same
# held-out split (data.split_seed 0), then a table of test accuracies. Specs,
# logs and metrics go to runs/face-api/. Run from anywhere; needs build/ and
# the data of scripts/install-deps.sh. Variations without more spec files:
# SET is a JSON object merged into every spec (e.g. '{"optimizer": {"lr":
# 0.003}}') and TAG names those runs (runs/face-api/<variant><TAG>-seedN).
set -euo pipefail
cd "$(dirname "$0")/../../.."
seeds=${SEEDS:-"1 2 3"}
variants=${VARIANTS:-"frozen-head scratch finetune-all"}
set_json=${SET:-"{}"}
tag=${TAG:-}
out=runs/face-api
mkdir -p "$out"
for seed in $seeds; do
  for v in $variants; do
    run="$out/$v$tag-seed$seed"
    python3 - "docs/experiments/face-api/$v.json" "$seed" "$run" "$set_json" <<'PY'
import json, sys
src, seed, run, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
spec = json.load(open(src))
def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v
merge(spec, extra)
spec["train"]["seed"] = seed
spec["checkpoint"]["path"] = run + ".safetensors"
json.dump(spec, open(run + ".json", "w"), indent=1)
PY
    echo "face-api: $v$tag seed $seed"
    build/bin/ringmaster train "$run.json" --metrics-out "$run.metrics.json" >"$run.log" 2>&1
  done
done
python3 docs/experiments/face-api/summary.py "$out" $(for v in $variants; do echo "$v$tag"; done)
