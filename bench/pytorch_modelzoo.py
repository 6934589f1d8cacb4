#!/usr/bin/python3
"""PyTorch side of the model-zoo throughput benchmark (bench/modelzoo.py).

The identical networks: ResNet-20 (CIFAR layout, option-A shortcuts:
subsample and zero channels on both sides; batch norm eps 1e-5) and
GoogLeNet-small (3x3 stem, inception 3a/3b at half v1 width, 4a/4b; bias-free
convs with batch norm eps 1e-3; ceil-mode pools; dropout 0.2), the same data
(real Fashion-MNIST, x/255), fp32, SGD momentum 0.9; times `--steps` training
steps after `--warmup` and prints one JSON line with images_per_second.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_blas import loaded_blas


def load_idx(path, offset, count, shape):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=offset).reshape(shape)


def conv_bn(cin, cout, k, stride=1, eps=1e-5):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(cout, eps=eps))


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.a = conv_bn(cin, planes, 3, stride)
        self.b = conv_bn(planes, planes, 3)
        self.stride, self.pad = stride, (planes - cin) // 2

    def forward(self, x):
        out = self.b(F.relu(self.a(x)))
        sc = x
        if self.stride != 1 or self.pad:
            sc = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + sc)


class ResNet20(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        layers, cin = [conv_bn(1, 16, 3), nn.ReLU()], 16
        for stage, planes in enumerate((16, 32, 64)):
            for b in range(3):
                layers.append(BasicBlock(cin, planes, 2 if stage and b == 0 else 1))
                cin = planes
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def basic(cin, cout, k):
    return nn.Sequential(conv_bn(cin, cout, k, eps=1e-3), nn.ReLU())


class Inception(nn.Module):
    def __init__(self, cin, c1, r3, c3, r5, c5, pool):
        super().__init__()
        self.b1 = basic(cin, c1, 1)
        self.b2 = nn.Sequential(basic(cin, r3, 1), basic(r3, c3, 3))
        self.b3 = nn.Sequential(basic(cin, r5, 1), basic(r5, c5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), basic(cin, pool, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNetSmall(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.net = nn.Sequential(
            basic(1, 64, 3), nn.MaxPool2d(3, 2, 1, ceil_mode=True),
            Inception(64, 32, 48, 64, 8, 16, 16), Inception(128, 64, 64, 96, 16, 48, 32),
            nn.MaxPool2d(3, 2, 1, ceil_mode=True),
            Inception(240, 96, 48, 104, 8, 24, 32), Inception(256, 80, 56, 112, 12, 32, 32),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(256, classes))

    def forward(self, x):
        return self.net(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet20", choices=["resnet20", "googlenet-small"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    n = args.batch * (args.warmup + args.steps)
    x = load_idx(args.data + "/train-images-idx3-ubyte.gz", 16, n * 784, (n, 1, 28, 28))
    y = load_idx(args.data + "/train-labels-idx1-ubyte.gz", 8, n, (n,)).astype(np.int64)
    xs, ys = torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)
    model = ResNet20() if args.model == "resnet20" else GoogLeNetSmall()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(i):
        xb, yb = xs[i * args.batch:(i + 1) * args.batch], ys[i * args.batch:(i + 1) * args.batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss = step(i)
    dt = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch", "model": args.model, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "blas": loaded_blas(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "images_per_second": args.batch * args.steps / dt, "last_loss": loss}))


if __name__ == "__main__":
    main()
