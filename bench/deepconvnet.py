#!/usr/bin/python3
"""DeepConvNet (or ResNet-50) training throughput: ringmaster against PyTorch, one run.

Alternates the two (ringmaster, pytorch, ringmaster, ...) for --rounds rounds,
each a fresh process timing --steps training steps (batch 100, fp32) after a
warm-up, and prints every figure, the medians, the ratio ringmaster/pytorch of
the medians and a Markdown table. On the CPU (default) both use --threads
threads and real Fashion-MNIST; PyTorch gets its best setup there: oneDNN
(mkldnn) convolutions, OpenBLAS; the BLAS it loaded is printed. With
--device cuda both train on the GPU (full fp32: PyTorch's TF32 is off unless
--tf32), and --synthetic uses random images of Fashion-MNIST's shape.
Run from the repository root after scripts/build.sh:
    bench/deepconvnet.py [--rounds 9]
    bench/deepconvnet.py --device cuda --synthetic --ours .device/bundle/bench_train_throughput
"""
import argparse
import os
import statistics
import sys

from bench_run import run_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--model", default="deep_convnet", choices=["deep_convnet", "resnet50"],
                    help="resnet50: ImageNet layout on random 3x224x224 images (needs --synthetic)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--tf32", action="store_true", help="let PyTorch use TF32 (GPU)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "fp16"],
                    help="fp16: mixed precision on both sides (GPU)")
    ap.add_argument("--table-header", action="store_true", help="print the table's header rows")
    ap.add_argument("--ours", default=os.path.join(ROOT, "build/bin/bench_train_throughput"))
    ap.add_argument("--python", default=sys.executable or "/usr/bin/python3")
    ap.add_argument("--ours-ld-path", default="",
                    help="LD_LIBRARY_PATH for ringmaster only (PyTorch keeps its own)")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    ours_env = dict(env)
    if args.ours_ld_path:
        ours_env["LD_LIBRARY_PATH"] = args.ours_ld_path
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(args.batch),
              "--threads", str(args.threads), "--device", args.device, "--model", args.model]
    if args.synthetic:
        common.append("--synthetic")
    ours_cmd = [args.ours] + common + ["--precision", args.precision]
    torch_cmd = [args.python, os.path.join(ROOT, "bench/pytorch_deepconvnet.py")] + common
    if args.tf32:
        torch_cmd.append("--tf32")
    if args.precision == "fp16":
        torch_cmd.append("--amp")
    ours, theirs = [], []
    header = ""
    for r in range(args.rounds):
        a = run_json(ours_cmd, ours_env)
        b = run_json(torch_cmd, env)
        if r == 0:
            if args.device == "cuda":
                header = f"{b['gpu']}, pytorch {b['torch']}, TF32 {'on' if b['tf32'] else 'off'}"
            else:
                header = (f"pytorch {b['torch']}, threads {b['threads']}, mkldnn {b['mkldnn']}, "
                          f"BLAS loaded: {', '.join(b['blas']) or 'none found'}")
            print(header)
            print(f"ringmaster on {a.get('device', 'cpu')}, threads {a['threads']}")
        ours.append(a["images_per_second"])
        theirs.append(b["images_per_second"])
        print(f"round {r + 1}: ringmaster {a['images_per_second']:8.1f} img/s   "
              f"pytorch {b['images_per_second']:8.1f} img/s", flush=True)
    mo, mt = statistics.median(ours), statistics.median(theirs)
    where = "GPU" if args.device == "cuda" else f"{args.threads} threads"
    name = "ResNet-50" if args.model == "resnet50" else "DeepConvNet"
    shape = "3x224x224" if args.model == "resnet50" else "28x28"
    data = f"synthetic {shape}" if args.synthetic else "Fashion-MNIST"
    print(f"median: ringmaster {mo:.1f} img/s, pytorch {mt:.1f} img/s, "
          f"ratio {mo / mt:.3f} ({name}, batch {args.batch}, {args.precision}, {where}, {data}, "
          f"{args.rounds} alternating rounds of {args.steps} steps)")
    print()
    if args.table_header:
        print("| model | device | precision | batch | ringmaster img/s | PyTorch img/s | ratio |")
        print("|---|---|---|---|---|---|---|")
    prec = args.precision if args.precision == "fp32" else "fp16 (AMP, loss scaling)"
    print(f"| {name} | {header.split(',')[0] if args.device == 'cuda' else where} | {prec} "
          f"| {args.batch} | {mo:.0f} | {mt:.0f} | {mo / mt:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
