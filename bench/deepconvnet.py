#!/usr/bin/python3
"""DeepConvNet training throughput: ringmaster against PyTorch, one run.

Alternates the two (ringmaster, pytorch, ringmaster, ...) for --rounds rounds,
each a fresh process timing --steps training steps (batch 100, fp32, 2
threads, real Fashion-MNIST) after a warm-up, and prints every figure, the
medians and the ratio ringmaster/pytorch of the medians. PyTorch gets its best
setup here: 2 threads, oneDNN (mkldnn) convolutions, OpenBLAS; the BLAS it
loaded is printed. Run from the repository root after scripts/build.sh:
    bench/deepconvnet.py [--rounds 9]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup),
              "--threads", str(args.threads)]
    ours_cmd = [os.path.join(ROOT, "build/bin/bench_train_throughput")] + common
    torch_cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench/pytorch_deepconvnet.py")] + common
    ours, theirs = [], []
    for r in range(args.rounds):
        a = run(ours_cmd, env)
        b = run(torch_cmd, env)
        if r == 0:
            print(f"pytorch {b['torch']}, threads {b['threads']}, mkldnn {b['mkldnn']}, "
                  f"BLAS loaded: {', '.join(b['blas']) or 'none found'}")
            print(f"ringmaster threads {a['threads']}")
        ours.append(a["images_per_second"])
        theirs.append(b["images_per_second"])
        print(f"round {r + 1}: ringmaster {a['images_per_second']:8.1f} img/s   "
              f"pytorch {b['images_per_second']:8.1f} img/s", flush=True)
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median: ringmaster {mo:.1f} img/s, pytorch {mt:.1f} img/s, "
          f"ratio {mo / mt:.3f} (DeepConvNet, batch 100, fp32, {args.threads} threads, "
          f"{args.rounds} alternating rounds of {args.steps} steps)")


if __name__ == "__main__":
    sys.exit(main())
