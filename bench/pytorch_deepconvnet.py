#!/usr/bin/python3
"""PyTorch side of the DeepConvNet throughput benchmark (bench/deepconvnet.py).

The identical network (the book's DeepConvNet), the same data (real
Fashion-MNIST, x/255, or with --synthetic random images of that shape),
batch 100, fp32, Adam, on --device cpu or cuda; times `--steps` training
steps after `--warmup` and prints one JSON line with images_per_second. On
the CPU it uses --threads threads and reports which BLAS library the process
loaded; on a GPU TF32 is off unless --tf32 (ringmaster computes in full fp32),
and each batch is copied from host memory, as ringmaster's loop does.
--amp trains in mixed precision (torch.autocast f16 + GradScaler), the
counterpart of ringmaster's --precision fp16. --model resnet50 trains
torchvision's ResNet-50 (the layout and parameter count of ringmaster's
`resnet` depth 50) on random 3x224x224 images, 1,000 classes (needs
--synthetic). On a GPU cuDNN's autotuner is on (cudnn.benchmark), PyTorch's
fastest setting; the warm-up steps absorb its search.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn as nn
from torch_blas import loaded_blas


def load_idx_images(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    n = min(n, limit)
    return np.frombuffer(data, dtype=np.uint8, count=n * 784, offset=16).reshape(n, 1, 28, 28)


def load_idx_labels(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n = min(int.from_bytes(data[4:8], "big"), limit)
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8).astype(np.int64)


class DeepConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        def conv(cin, cout, pad=1):
            c = nn.Conv2d(cin, cout, 3, padding=pad)
            nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
            nn.init.zeros_(c.bias)
            return c
        self.features = nn.Sequential(
            conv(1, 16), nn.ReLU(), conv(16, 16), nn.ReLU(), nn.MaxPool2d(2),
            conv(16, 32), nn.ReLU(), conv(32, 32, pad=2), nn.ReLU(), nn.MaxPool2d(2),
            conv(32, 64), nn.ReLU(), conv(64, 64), nn.ReLU(), nn.MaxPool2d(2))
        fc1, fc2 = nn.Linear(64 * 4 * 4, 50), nn.Linear(50, 10)
        for fc in (fc1, fc2):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
            nn.init.zeros_(fc.bias)
        self.classifier = nn.Sequential(
            nn.Flatten(), fc1, nn.ReLU(), nn.Dropout(0.5), fc2, nn.Dropout(0.5))

    def forward(self, x):
        return self.classifier(self.features(x))


def synthetic(n, channels=1, size=28, classes=10):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8)
    y = rng.integers(0, classes, size=n).astype(np.int64)
    return x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--model", default="deep_convnet", choices=["deep_convnet", "resnet50"])
    args = ap.parse_args()
    if args.model == "resnet50" and not args.synthetic:
        ap.error("--model resnet50 needs --synthetic (no ImageNet here)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dev = torch.device(args.device)
    if args.device == "cuda":
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    n = args.batch * (args.warmup + args.steps)
    if args.synthetic:
        x, y = synthetic(n, 3, 224, 1000) if args.model == "resnet50" else synthetic(n)
    else:
        x = load_idx_images(args.data + "/train-images-idx3-ubyte.gz", n)
        y = load_idx_labels(args.data + "/train-labels-idx1-ubyte.gz", n)
    xs = torch.from_numpy(x.astype(np.float32) / 255.0)
    ys = torch.from_numpy(y)
    if args.model == "resnet50":
        import torchvision
        model = torchvision.models.resnet50(weights=None).to(dev)
    else:
        model = DeepConvNet().to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    scaler = None
    if args.amp:
        try:
            scaler = torch.amp.GradScaler("cuda")
        except (AttributeError, TypeError):  # torch < 2.3
            scaler = torch.cuda.amp.GradScaler()

    def step(i):
        xb = xs[i * args.batch:(i + 1) * args.batch].to(dev)
        yb = ys[i * args.batch:(i + 1) * args.batch].to(dev)
        opt.zero_grad()
        if scaler is not None:
            with torch.autocast("cuda", dtype=torch.float16):
                loss = loss_fn(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss = step(i)
    dt = time.perf_counter() - t0
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else ""
    print(json.dumps({
        "impl": "pytorch", "model": args.model, "batch": args.batch, "torch": torch.__version__, "device": args.device, "gpu": gpu,
        "tf32": args.tf32, "amp": args.amp, "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(), "blas": loaded_blas(),
        "images_per_second": args.batch * args.steps / dt, "last_loss": loss}))


if __name__ == "__main__":
    main()
