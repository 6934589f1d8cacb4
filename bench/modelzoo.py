#!/usr/bin/python3
"""ResNet-20 and GoogLeNet-small training throughput: ringmaster against
PyTorch, same run. For each model, alternates the two (ringmaster, pytorch,
...) for --rounds rounds, each a fresh process timing --steps training steps
(batch 128, fp32, SGD momentum, real Fashion-MNIST) after a warm-up, and
prints every figure, the medians and the ratio ringmaster/pytorch. Checks
that both sides built models with the same parameter count. Needs
python3-torch. Run from the repository root after scripts/build.sh:
    bench/modelzoo.py [--rounds 5] [--threads 2]
"""
import argparse
import os
import statistics
import sys

from bench_run import run_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="resnet20,googlenet-small")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    for model in args.models.split(","):
        common = ["--model", model, "--steps", str(args.steps), "--warmup", str(args.warmup),
                  "--threads", str(args.threads)]
        ours_cmd = [os.path.join(ROOT, "build/bin/bench_modelzoo_throughput")] + common
        torch_cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench/pytorch_modelzoo.py")] + common
        ours, theirs = [], []
        for r in range(args.rounds):
            a = run_json(ours_cmd, env)
            b = run_json(torch_cmd, env)
            if r == 0:
                if a["parameters"] != b["parameters"]:
                    sys.exit(f"{model}: ringmaster has {a['parameters']} parameters, "
                             f"pytorch {b['parameters']}: not the same network")
                print(f"{model}: {a['parameters']} parameters; pytorch {b['torch']}, "
                      f"threads {b['threads']}, mkldnn {b['mkldnn']}, "
                      f"BLAS loaded: {', '.join(b['blas']) or 'none found'}; "
                      f"ringmaster threads {a['threads']}")
            ours.append(a["images_per_second"])
            theirs.append(b["images_per_second"])
            print(f"  round {r + 1}: ringmaster {a['images_per_second']:8.1f} img/s   "
                  f"pytorch {b['images_per_second']:8.1f} img/s", flush=True)
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(f"{model} median: ringmaster {mo:.1f} img/s, pytorch {mt:.1f} img/s, "
              f"ratio {mo / mt:.3f} (batch 128, fp32, {args.threads} threads, "
              f"{args.rounds} alternating rounds of {args.steps} steps)")


if __name__ == "__main__":
    sys.exit(main())
