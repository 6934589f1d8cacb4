#!/usr/bin/env python3
"""Random faults against `ringmaster up`, from outside, as an operator would meet them.

Starts `ringmaster up --workers N` on free loopback ports, submits three jobs
over REST (an elastic all-reduce job on every worker, a 2-worker
parameter-server job, a single-worker job; DeepConvNet on Fashion-MNIST with
checkpoints every 10 steps), then SIGKILLs or SIGSTOPs (SIGCONTed at the next
fault) one of up's children at random times until the jobs end or the time
is up. With --cancel, one job, chosen at random, is cancelled at a random
fault. Prints each fault, each job's end state, and any worker or coordinator
that died of a signal it was not sent (an abort, a segfault). Exits 0 when
every job SUCCEEDED (the cancelled one: CANCELLED, or SUCCEEDED when it ended
first) and nothing died on its own.

  scripts/chaos-up.py --seed 3 --faults 10        # about 2 minutes here (2 cores)
  scripts/chaos-up.py --seed 3 --faults 10 --cancel

Needs build/bin/ringmaster and Fashion-MNIST (scripts/install-deps.sh).
Everything stays on 127.0.0.1; the state goes to a fresh folder under /tmp.
"""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# What the three jobs train (--task): small enough that each lasts about a minute here.
TASKS = {
    "classify": {
        "model": {"name": "deep_convnet"},
        "data": {"dataset": "fashion-mnist", "train_limit": 6000, "test_limit": 1000},
        "train": {"epochs": 5, "batch_size": 100, "seed": 1},
        "optimizer": {"name": "adam", "lr": 0.001},
    },
    "language-model": {
        "model": {"name": "rnn_lm", "cell": "lstm", "embedding_size": 32, "hidden_size": 128,
                  "num_layers": 2, "dropout": 0.1},
        "data": {"dataset": "fortunes", "seq_len": 50, "train_limit": 6000, "test_limit": 300},
        "train": {"epochs": 6, "batch_size": 32, "seed": 1},
        "optimizer": {"name": "adam", "lr": 0.003, "clip_grad_norm": 1.0},
    },
    "caption": {
        "model": {"name": "nic", "encoder": {"name": "resnet", "depth": 8}, "image_grid": 2,
                  "embedding_size": 32, "hidden_size": 64, "beam_size": 2, "max_length": 16},
        "data": {"dataset": "fashion-captions", "captions": {"train": 3000, "test": 100}},
        "train": {"epochs": 4, "batch_size": 32, "seed": 1},
        "optimizer": {"name": "adam", "lr": 0.003, "clip_grad_norm": 5.0},
    },
}


def job_specs(workers, task):
    base = dict(TASKS[task], restart_policy={"max_restarts": 60, "backoff_s": 1})
    shapes = [("allreduce", workers, 1, True), ("ps", min(2, workers), min(2, workers), False),
              ("allreduce", 1, 1, True)]
    for i, (mode, n, least, periodic) in enumerate(shapes):
        spec = json.loads(json.dumps(base))
        spec["name"] = f"chaos-{i}"
        spec["resources"] = {"workers": n, "min_workers": least}
        spec["sync"] = {"mode": mode}
        spec["checkpoint"] = {"path": f"chaos-{i}/final.safetensors"}
        if periodic:  # a parameter-server job keeps none
            spec["checkpoint"]["every_steps"] = 10
        else:  # and its shards apply the update unclipped (the spec is refused with a clip)
            spec["optimizer"].pop("clip_grad_norm", None)
        yield spec


class Cluster:
    def __init__(self, binary, workers, state):
        self.state = state
        self.up = subprocess.Popen(
            [binary, "up", "--workers", str(workers), "--port", "0", "--zmq-port", "0",
             "--state-dir", os.path.join(state, "cluster"), "--checkpoint-root", state],
            stdout=open(os.path.join(state, "up.out"), "w"),
            stderr=open(os.path.join(state, "up.err"), "w"))

    def http(self):
        with open(os.path.join(self.state, "cluster", "coordinator.json")) as f:
            return json.load(f)["http"]

    def request(self, method, path, body=None):
        req = urllib.request.Request(self.http() + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def children(self):
        pids = subprocess.run(["pgrep", "-P", str(self.up.pid)], capture_output=True,
                              text=True).stdout.split()
        out = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline") as f:
                    out.append((int(pid), f.read().split("\0")[1]))
            except (OSError, IndexError):
                pass
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", type=int, default=10, help="kills and stops in all")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--stop-share", type=float, default=0.25, help="share of faults that are SIGSTOP")
    ap.add_argument("--limit", type=float, default=600, help="seconds before giving up")
    ap.add_argument("--cancel", action="store_true", help="cancel one job at a random fault")
    ap.add_argument("--task", choices=sorted(TASKS), default="classify",
                    help="what the jobs train: DeepConvNet on Fashion-MNIST, a character LSTM "
                    "on fortunes, or NIC on fashion-captions")
    ap.add_argument("--ringmaster", default=os.path.join(ROOT, "build", "bin", "ringmaster"))
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    state = tempfile.mkdtemp(prefix=f"chaos-up-{args.seed}-")
    cluster = Cluster(args.ringmaster, args.workers, state)
    t0 = time.time()
    jobs, faults, stopped, final = [], [], [], None
    # Which job to cancel, and at which fault (none: -1).
    cancel_job = rnd.randrange(3) if args.cancel else -1
    cancel_at = rnd.randrange(args.faults) if args.cancel else -1
    try:
        while not os.path.exists(os.path.join(state, "cluster", "coordinator.json")):
            if time.time() - t0 > 60 or cluster.up.poll() is not None:
                sys.exit(f"the cluster did not start; see {state}")
            time.sleep(0.2)
        for spec in job_specs(args.workers, args.task):
            for _ in range(40):  # the coordinator may still be starting
                try:
                    jobs.append(cluster.request("POST", "/v1/jobs", spec)["id"])
                    break
                except urllib.error.HTTPError as e:
                    if e.code < 500:
                        sys.exit(f"{spec['name']} was refused: {e.code} {e.read().decode()}")
                    time.sleep(0.5)
                except OSError:
                    time.sleep(0.5)
        if len(jobs) != 3:
            sys.exit(f"could not submit the jobs; see {state}")
        while time.time() - t0 < args.limit:
            time.sleep(rnd.uniform(0.5, 6.0))
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            stopped = []
            try:
                ends = {j: cluster.request("GET", "/v1/jobs/" + j)["state"] for j in jobs}
                if all(s in ("SUCCEEDED", "FAILED", "CANCELLED") for s in ends.values()):
                    final = ends
                    break
            except OSError:
                pass  # the coordinator is down (we killed it): try again later
            if 0 <= cancel_at <= len(faults):
                try:
                    cluster.request("POST", f"/v1/jobs/{jobs[cancel_job]}/cancel")
                    faults.append(f"{time.time() - t0:6.1f} s  cancel  {jobs[cancel_job]}")
                    cancel_at = -1
                except OSError:
                    pass  # the coordinator is down: at a later round
            kids = cluster.children()
            if len(faults) >= args.faults or not kids:
                continue
            pid, kind = rnd.choice(kids)
            sig = signal.SIGSTOP if rnd.random() < args.stop_share else signal.SIGKILL
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            faults.append(f"{time.time() - t0:6.1f} s  {sig.name:7s} {kind} {pid}")
            if sig == signal.SIGSTOP:
                stopped.append(pid)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        cluster.up.send_signal(signal.SIGINT)
        cluster.up.wait(90)
    for line in faults:
        print(line)
    # Deaths by a signal we did not send: up says "killed by SIGABRT" and the like.
    with open(os.path.join(state, "up.err")) as f:
        own = sorted(set(re.findall(r"(\S+) exited \(killed by (SIG(?!KILL)\w+)", f.read())))
    print(f"seed {args.seed}: {len(faults)} faults, {time.time() - t0:.0f} s, jobs {final}, "
          f"up exit {cluster.up.returncode}; state in {state}")
    for who, sig in own:
        print(f"  {who} died of {sig} on its own")
    def ended_well(i, s):
        return s == "SUCCEEDED" or (i == cancel_job and s == "CANCELLED")

    ok = (final is not None and all(ended_well(i, final[j]) for i, j in enumerate(jobs))
          and not own)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
