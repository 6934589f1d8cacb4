#!/usr/bin/python3
"""The character LSTM of examples/fortunes-char-lstm.json, trained by ringmaster
and by the identical PyTorch model, on the same data in the same order, in one
run: test bits per character and training windows/s of both, and their
differences.

PyTorch gets the same quotes, split, byte vocabulary and windows (the split
and every epoch's order come from ringmaster's permutation, reimplemented
here: splitmix64 and Fisher-Yates), the same model (embedding U(-0.1, 0.1),
dropout, nn.LSTM with PyTorch's initialisation, dropout, linear decoder
U(-0.1, 0.1) with a zero bias), Adam, gradient clipping by global norm and
the per-step cosine schedule. Only the initial draws and the dropout masks
differ. Both use --threads threads; the BLAS PyTorch loaded is printed.
Run from the repository root after scripts/build.sh and
scripts/install-deps.sh --bench:
    bench/char_lm.py [--spec examples/fortunes-char-lstm.json] [--epochs N]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MASK = (1 << 64) - 1
PAD, UNK, START, END = 0, 1, 2, 3


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def epoch_permutation(n, seed, epoch):
    """models::epoch_permutation: the same permutation, bit for bit."""
    p = list(range(n))
    _, first = splitmix64(seed)
    state = first ^ ((epoch * 0xD1B54A32D192ED03) & MASK)
    for i in range(n - 1, 0, -1):
        bound = i + 1
        limit = MASK - MASK % bound
        while True:
            state, r = splitmix64(state)
            if r < limit:
                break
        j = r % bound
        p[i], p[j] = p[j], p[i]
    return p


def load_fortunes(folder):
    quotes = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if "." in name or not os.path.isfile(path):
            continue
        quote = b""
        with open(path, "rb") as f:
            text = f.read()
        lines = text.split(b"\n")
        if text.endswith(b"\n"):
            lines = lines[:-1]
        for line in lines:
            if line == b"%":
                if quote.endswith(b"\n"):
                    quote = quote[:-1]
                if quote:
                    quotes.append(quote)
                quote = b""
            else:
                quote += line + b"\n"
        if quote.endswith(b"\n"):
            quote = quote[:-1]
        if quote:
            quotes.append(quote)
    return quotes


def windows(texts, ids, seq_len):
    stream = []
    for t in texts:
        stream.extend(ids.get(b, UNK) for b in t)
        stream.append(END)
    n = (len(stream) - 1) // seq_len if len(stream) > seq_len else 0
    return [stream[k * seq_len:k * seq_len + seq_len + 1] for k in range(n)]


def data(spec):
    d = spec["data"]
    quotes = load_fortunes(d.get("path", "/usr/share/games/fortunes"))
    n = len(quotes)
    permille = int(d.get("test_fraction", 0.1) * 1000 + 0.5)
    test_count = n * permille // 1000
    order = epoch_permutation(n, d.get("split_seed", 1), 0)
    train = [quotes[order[i]] for i in range(n - test_count)]
    test = [quotes[order[i]] for i in range(n - test_count, n)]
    alphabet = sorted(set(b for q in train for b in q))
    ids = {b: 4 + k for k, b in enumerate(alphabet)}
    seq_len = d.get("seq_len", 100)
    return windows(train, ids, seq_len), windows(test, ids, seq_len), 4 + len(alphabet)


def train_pytorch(spec, threads):
    import torch
    from torch_blas import loaded_blas
    torch.set_num_threads(threads)
    train, test, vocab = data(spec)
    m, t, o = spec["model"], spec["train"], spec["optimizer"]
    hidden = m.get("hidden_size", 256)
    emb = m.get("embedding_size", 0) or hidden
    p = m.get("dropout", 0.0)
    torch.manual_seed(t.get("seed", 1))

    class Lm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocab, emb)
            self.rnn = torch.nn.LSTM(emb, hidden, m.get("num_layers", 1),
                                     dropout=p if m.get("num_layers", 1) > 1 else 0.0)
            self.decoder = torch.nn.Linear(hidden, vocab)
            self.drop = torch.nn.Dropout(p)
            torch.nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            torch.nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
            torch.nn.init.zeros_(self.decoder.bias)

        def forward(self, x):  # x (T, N)
            y, _ = self.rnn(self.drop(self.embedding(x)))
            return self.decoder(self.drop(y))

    model = Lm()
    opt = torch.optim.Adam(model.parameters(), lr=o["lr"])
    batch, epochs = t["batch_size"], t["epochs"]
    steps = (len(train) + batch - 1) // batch
    t_max = spec.get("lr_schedule", {}).get("t_max", 0)
    all_train = torch.tensor(train)
    all_test = torch.tensor(test)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD)
    seconds = 0.0
    for epoch in range(epochs):
        order = torch.tensor(epoch_permutation(len(train), t.get("seed", 1), epoch))
        model.train()
        start = time.perf_counter()
        for s in range(steps):
            if t_max:
                x = min(epoch + s / steps, t_max) / t_max
                for g in opt.param_groups:
                    g["lr"] = o["lr"] * (1 + math.cos(math.pi * x)) / 2
            w = all_train[order[s * batch:(s + 1) * batch]].t()  # (L + 1, N)
            logits = model(w[:-1])
            loss = loss_fn(logits.reshape(-1, vocab), w[1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            if o.get("clip_grad_norm", 0) > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), o["clip_grad_norm"])
            opt.step()
        seconds += time.perf_counter() - start
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for k in range(0, len(test), t.get("eval_batch_size", 256)):
                w = all_test[k:k + t.get("eval_batch_size", 256)].t()
                logits = model(w[:-1])
                total += loss_fn(logits.reshape(-1, vocab), w[1:].reshape(-1)).item() * w.shape[1]
                count += w.shape[1]
        bpc = total / count / math.log(2)
        print(f"pytorch epoch {epoch + 1}: test {bpc:.4f} bits per character", flush=True)
    return {"bits_per_char": bpc, "windows_per_second": len(train) * epochs / seconds,
            "blas": loaded_blas(), "torch": torch.__version__}


def train_ours(spec_path, spec, threads):
    with tempfile.TemporaryDirectory() as tmp:
        spec = json.loads(json.dumps(spec))
        spec["train"]["threads"] = threads
        spec["checkpoint"] = {"path": os.path.join(tmp, "lm.safetensors")}
        path = os.path.join(tmp, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        metrics = os.path.join(tmp, "m.json")
        proc = subprocess.run([os.path.join(ROOT, "build/bin/ringmaster"), "train", path,
                               "--metrics-out", metrics], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"ringmaster train failed:\n{proc.stdout}{proc.stderr}")
        print(proc.stdout, end="", flush=True)
        with open(metrics) as f:
            m = json.load(f)
    return {"bits_per_char": m["test_figures"]["bits_per_char"],
            "windows_per_second": m["images_per_second"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=os.path.join(ROOT, "examples/fortunes-char-lstm.json"))
    ap.add_argument("--epochs", type=int, default=0, help="override train.epochs (and t_max)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    with open(args.spec) as f:
        spec = json.load(f)
    if spec["model"].get("cell", "lstm") != "lstm" or spec["model"].get("tie_weights"):
        sys.exit("bench/char_lm.py mirrors an untied LSTM rnn_lm only")
    if args.epochs:
        spec["train"]["epochs"] = args.epochs
        if "lr_schedule" in spec:
            spec["lr_schedule"]["t_max"] = args.epochs
    ours = train_ours(args.spec, spec, args.threads)
    theirs = train_pytorch(spec, args.threads)
    print(f"PyTorch {theirs['torch']}, BLAS: {', '.join(theirs['blas']) or 'none found'}")
    print("| | ringmaster | PyTorch | difference / ratio |")
    print("|---|---|---|---|")
    print(f"| test bits per character | {ours['bits_per_char']:.4f} | {theirs['bits_per_char']:.4f} "
          f"| {ours['bits_per_char'] - theirs['bits_per_char']:+.4f} |")
    print(f"| training windows/s | {ours['windows_per_second']:.0f} | "
          f"{theirs['windows_per_second']:.0f} | "
          f"{ours['windows_per_second'] / theirs['windows_per_second']:.2f}x |")


if __name__ == "__main__":
    main()
