#!/usr/bin/python3
"""Faster R-CNN training images/s against torchvision 0.14, one run,
alternating fresh processes for --rounds rounds; prints every figure, the
medians and the ratio ringmaster/torchvision of the medians. Both use
--threads threads; the BLAS PyTorch loaded is printed.

The configuration is examples/composites-faster-rcnn.json's: 128 px grey
images, a ResNet-14 body (CIFAR layout: 3x3 stem, stages of 16, 32, 64,
option-A shortcuts; its pool and fc left out), anchors 16, 32, 64 at ratios
0.5, 1, 2 on the one stride-4 level, the RPN's 256 anchors per image (pre-NMS
600, post-NMS 300 in training), RoIAlign 7x7 (sampling ratio 2), a box head
of two 256-wide fc layers, 128 RoIs per image at 1:3, 11 classes, batch 8,
SGD with momentum. ringmaster trains fashion-composites with boxes through
`ringmaster train` (its training images/s, evaluation excluded);
torchvision's FasterRCNN the same layers (its GeneralizedRCNNTransform set to
128 px and no normalisation) on random images with 1 to 4 random boxes of
the composites' sizes (21 to 56 px): the speed does not depend on the
pixels.

--inference instead measures inference images/s of rcnn against
faster_rcnn, both in ringmaster: `ringmaster detect --test N` on the
held-out composites with the checkpoints of examples/composites-rcnn.json
and examples/composites-faster-rcnn.json (train them first), one image at a
time, the model's forward passes timed (selective search included for
rcnn), alternating rounds, medians and their ratio.

Run from the repository root after scripts/build.sh and
scripts/install-deps.sh --bench:
    bench/detection.py [--rounds 9] [--iterations 30]
    bench/detection.py --inference [--rounds 5] [--images 50]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_run import run_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 8


def torchvision_worker(args):
    import torch
    import torch.nn as nn
    import torchvision
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.rpn import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from pytorch_modelzoo import BasicBlock, conv_bn
    from torch_blas import loaded_blas
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    layers, cin = [conv_bn(1, 16, 3), nn.ReLU()], 16
    for stage, planes in enumerate((16, 32, 64)):
        for b in range(2):  # ResNet-14: two blocks a stage
            layers.append(BasicBlock(cin, planes, 2 if stage and b == 0 else 1))
            cin = planes
    body = nn.Sequential(*layers)
    body.out_channels = 64
    model = FasterRCNN(
        body, num_classes=None, min_size=128, max_size=128, image_mean=[0.0], image_std=[1.0],
        rpn_anchor_generator=AnchorGenerator(((16, 32, 64),), ((0.5, 1.0, 2.0),)),
        rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300,
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        box_head=TwoMLPHead(64 * 7 * 7, 256), box_predictor=FastRCNNPredictor(256, 11),
        box_batch_size_per_image=128)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(2)

    def batch():
        images = list(torch.rand(BATCH, 1, 128, 128, generator=gen))
        targets = []
        for _ in range(BATCH):
            n = int(torch.randint(1, 5, (1,), generator=gen))
            side = torch.randint(21, 57, (n, 2), generator=gen).float()
            corner = torch.rand(n, 2, generator=gen) * (128 - side)
            targets.append({"boxes": torch.cat([corner, corner + side], 1),
                            "labels": torch.randint(1, 11, (n,), generator=gen)})
        return images, targets

    batches = [batch() for _ in range(args.warmup + args.iterations)]

    def step(images, targets):
        opt.zero_grad()
        losses = model(images, targets)
        sum(losses.values()).backward()
        opt.step()

    for images, targets in batches[:args.warmup]:
        step(images, targets)
    t0 = time.perf_counter()
    for images, targets in batches[args.warmup:]:
        step(images, targets)
    dt = time.perf_counter() - t0
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                      "blas": loaded_blas(), "threads": args.threads,
                      "images_per_second": BATCH * args.iterations / dt}))


def ours(args, env, tmp):
    with open(os.path.join(ROOT, "examples/composites-faster-rcnn.json")) as f:
        spec = json.load(f)
    spec["name"] = "bench-faster-rcnn"
    del spec["model"]["backbone"]["init"]  # the speed does not depend on the weights
    spec["data"]["composites"].update({"train": BATCH * (args.warmup + args.iterations),
                                       "test": 1})
    spec["train"].update({"epochs": 1, "batch_size": BATCH, "threads": args.threads})
    spec.pop("lr_schedule", None)
    spec["checkpoint"] = {"path": os.path.join(tmp, "frcnn.safetensors")}
    path = os.path.join(tmp, "frcnn.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    metrics = os.path.join(tmp, "frcnn.metrics.json")
    proc = subprocess.run([os.path.join(ROOT, "build/bin/ringmaster"), "train", path,
                           "--metrics-out", metrics], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"ringmaster train failed:\n{proc.stdout}{proc.stderr}")
    with open(metrics) as f:
        return json.load(f)["images_per_second"]


def detect_rate(example, images, env):
    with open(os.path.join(ROOT, "examples", example + ".json")) as f:
        name = json.load(f)["name"]
    ckpt = os.path.join(ROOT, "runs", name, "final.safetensors")
    if not os.path.exists(ckpt):
        sys.exit(f"{ckpt} missing: train examples/{example}.json first")
    out = run_json([os.path.join(ROOT, "build/bin/ringmaster"), "detect",
                    os.path.join(ROOT, "examples", example + ".json"), ckpt, "--test",
                    str(images), "--json", "--min-score", "1"], env, whole=True)
    return out["images_per_second"]


def bench_inference(args, env):
    fast, slow = [], []
    for r in range(args.rounds):
        a = detect_rate("composites-faster-rcnn", args.images, env)
        b = detect_rate("composites-rcnn", args.images, env)
        fast.append(a)
        slow.append(b)
        print(f"round {r + 1}: faster_rcnn {a:7.2f} img/s   rcnn {b:7.2f} img/s", flush=True)
    mf, ms = statistics.median(fast), statistics.median(slow)
    print(f"median: faster_rcnn {mf:.2f} img/s, rcnn {ms:.2f} img/s, faster_rcnn / rcnn "
          f"{mf / ms:.2f} (inference, one 128 px image at a time, {args.images} held-out "
          f"composites, {args.threads} threads, {args.rounds} alternating rounds)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--inference", action="store_true")
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--torchvision-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torchvision_worker:
        return torchvision_worker(args)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    if args.inference:
        return bench_inference(args, env)
    worker = ["/usr/bin/python3", os.path.abspath(__file__), "--torchvision-worker",
              "--threads", str(args.threads), "--iterations", str(args.iterations),
              "--warmup", str(args.warmup)]
    mine, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            a = ours(args, env, tmp)
            b = run_json(worker, env)
            if r == 0:
                print(f"torch {b['torch']}, torchvision {b['torchvision']}, threads "
                      f"{b['threads']}, BLAS loaded: {', '.join(b['blas']) or 'none found'}")
            mine.append(a)
            theirs.append(b["images_per_second"])
            print(f"round {r + 1}: ringmaster {a:7.2f} img/s   torchvision "
                  f"{b['images_per_second']:7.2f} img/s", flush=True)
    mo, mt = statistics.median(mine), statistics.median(theirs)
    print(f"median: ringmaster {mo:.2f} img/s, torchvision {mt:.2f} img/s, ratio {mo / mt:.3f} "
          f"(Faster R-CNN training, ResNet-14 body, 128 px, batch {BATCH}, {args.threads} "
          f"threads, {args.rounds} alternating rounds of {args.iterations} steps)")


if __name__ == "__main__":
    sys.exit(main())
