#!/usr/bin/python3
"""Sequence models against PyTorch, one run, alternating fresh processes for
--rounds rounds; prints every figure, the medians and the ratio
ringmaster/PyTorch of the medians. Both use --threads threads; the BLAS
PyTorch loaded is printed.

- lstm: the LSTM layer alone, forward and backward (batch 64, 35 steps, 512
  inputs and 512 hidden: nn.LSTM against ringmaster's Recurrent on oneDNN's
  LSTM primitives), timing --iterations after a warm-up.
- nic: NIC training images/s, batch 32: a ResNet-20 encoder (CIFAR layout,
  bench/pytorch_modelzoo.py's, its head left out), a linear image
  embedding, word embeddings, one LSTM layer of 512 (embedding 512) and the
  decoder, Adam, teacher forcing on (T, 32) tokens. ringmaster trains
  fashion-captions with `ringmaster train` (its training images/s, evaluation
  excluded); PyTorch the identical model on images and tokens of the same
  shapes and vocabulary (random: the speed does not depend on the values).
Run from the repository root after scripts/build.sh and
scripts/install-deps.sh --bench:
    bench/sequence.py [--rounds 9] [--only lstm|nic]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench_run import run_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytorch_lstm(args):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from torch_blas import loaded_blas
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(args.input, args.hidden)
    x = torch.rand(args.steps, args.batch, args.input, requires_grad=True)
    dy = torch.rand(args.steps, args.batch, args.hidden)

    def iteration():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        y, _ = lstm(x)
        y.backward(dy)

    for _ in range(args.warmup):
        iteration()
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": args.threads,
                      "mkldnn": torch.backends.mkldnn.is_available(), "blas": loaded_blas(),
                      "seconds_per_iteration": dt / args.iterations,
                      "sequences_per_second": args.batch * args.iterations / dt}))


def pytorch_nic(args):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from pytorch_modelzoo import ResNet20
    from torch_blas import loaded_blas
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    class Nic(nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.encoder = ResNet20()
            self.encoder.net[-1] = nn.Identity()
            self.image = nn.Linear(64, 512)
            self.embedding = nn.Embedding(vocab, 512)
            self.rnn = nn.LSTM(512, 512)
            self.decoder = nn.Linear(512, vocab)

        def forward(self, images, tokens):  # tokens (T, N)
            x = torch.cat([self.image(self.encoder(images)).unsqueeze(0),
                           self.embedding(tokens)], 0)
            return self.decoder(self.rnn(x)[0][1:])

    model = Nic(args.vocab)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    images = torch.rand(32, 1, 64, 64)
    tokens = torch.randint(4, args.vocab, (args.length, 32))

    def step():
        opt.zero_grad()
        z = model(images, tokens[:-1])
        loss_fn(z.reshape(-1, args.vocab), tokens[1:].reshape(-1)).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "blas": loaded_blas(),
                      "images_per_second": 32 * args.iterations / dt}))


def ours_nic(args, env, tmp):
    spec = {"name": "bench-nic",
            "model": {"name": "nic", "encoder": {"name": "resnet", "depth": 20},
                      "embedding_size": 512, "hidden_size": 512, "beam_size": 1},
            "data": {"dataset": "fashion-captions",
                     "captions": {"train": 32 * args.iterations, "test": 1}},
            "train": {"epochs": 1, "batch_size": 32, "threads": args.threads},
            "optimizer": {"name": "adam", "lr": 0.001},
            "checkpoint": {"path": os.path.join(tmp, "nic.safetensors")}}
    path = os.path.join(tmp, "nic.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    metrics = os.path.join(tmp, "nic.metrics.json")
    proc = subprocess.run([os.path.join(ROOT, "build/bin/ringmaster"), "train", path,
                           "--metrics-out", metrics], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"ringmaster train failed:\n{proc.stdout}{proc.stderr}")
    shape = re.search(r"up to (\d+) tokens \(vocabulary (\d+)\)", proc.stdout)
    with open(metrics) as f:
        m = json.load(f)
    return m["images_per_second"], int(shape.group(1)), int(shape.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=35)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--input", type=int, default=512)
    ap.add_argument("--only", choices=["lstm", "nic"])
    ap.add_argument("--pytorch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pytorch-nic", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--vocab", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--length", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pytorch_worker:
        return pytorch_lstm(args)
    if args.pytorch_nic:
        return pytorch_nic(args)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    common = ["--threads", str(args.threads), "--batch", str(args.batch), "--steps",
              str(args.steps), "--hidden", str(args.hidden), "--input", str(args.input),
              "--warmup", str(args.warmup), "--iterations", str(args.iterations)]
    if args.only != "nic":
        bench_lstm(args, env, common)
    if args.only != "lstm":
        bench_nic(args, env)


def bench_lstm(args, env, common):
    ours_cmd = [os.path.join(ROOT, "build/bin/bench_lstm_layer")] + common
    torch_cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--pytorch-worker"] + common
    ours, theirs = [], []
    for r in range(args.rounds):
        a = run_json(ours_cmd, env)
        b = run_json(torch_cmd, env)
        if r == 0:
            print(f"pytorch {b['torch']}, threads {b['threads']}, mkldnn {b['mkldnn']}, "
                  f"BLAS loaded: {', '.join(b['blas']) or 'none found'}")
        ours.append(a["sequences_per_second"])
        theirs.append(b["sequences_per_second"])
        print(f"round {r + 1}: ringmaster {a['sequences_per_second']:8.1f} seq/s   "
              f"pytorch {b['sequences_per_second']:8.1f} seq/s", flush=True)
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median: ringmaster {mo:.1f} seq/s, pytorch {mt:.1f} seq/s, ratio {mo / mt:.3f} "
          f"(LSTM layer forward+backward, batch {args.batch}, {args.steps} steps, "
          f"{args.input} in, {args.hidden} hidden, {args.threads} threads, {args.rounds} "
          f"alternating rounds of {args.iterations} iterations)", flush=True)


def bench_nic(args, env):
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            a, length, vocab = ours_nic(args, env, tmp)
            b = run_json(["/usr/bin/python3", os.path.abspath(__file__), "--pytorch-nic",
                     "--threads", str(args.threads), "--iterations", str(args.iterations),
                     "--warmup", str(args.warmup), "--vocab", str(vocab), "--length",
                     str(length)], env)
            if r == 0:
                print(f"NIC: captions of {length} tokens, vocabulary {vocab}; pytorch "
                      f"{b['torch']}, BLAS loaded: {', '.join(b['blas']) or 'none found'}")
            ours.append(a)
            theirs.append(b["images_per_second"])
            print(f"round {r + 1}: ringmaster {a:8.1f} img/s   pytorch "
                  f"{b['images_per_second']:8.1f} img/s", flush=True)
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median: ringmaster {mo:.1f} img/s, pytorch {mt:.1f} img/s, ratio {mo / mt:.3f} "
          f"(NIC training, ResNet-20 encoder, LSTM 512, batch 32, {args.threads} threads, "
          f"{args.rounds} alternating rounds of {args.iterations} steps)")

if __name__ == "__main__":
    sys.exit(main())
