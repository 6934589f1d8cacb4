#!/usr/bin/env python3
"""Elastic data-parallel training, measured (issue 18): a local cluster of a
coordinator and two workers (1 core each) trains a 2-worker DeepConvNet job
on Fashion-MNIST (6 epochs, resources.min_workers 1, a checkpoint every 100
steps) three times:

  undisturbed  nothing happens;
  shrink       a worker is SIGKILLed during epoch 2 and stays dead: the job
               goes on at one worker from its newest checkpoint;
  regrow       the same, and the worker is started again 15 s later: the job
               grows back to two workers at its next checkpoint.

Prints each run's end state, the world sizes it ran at, its restarts and
their reasons, its wall time and its test accuracy against the undisturbed
run's.

Usage: nice bench/elastic.py [--build build] [--epochs 6]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, ringmaster, folder):
        self.rm = ringmaster
        self.folder = folder
        self.http = free_port()
        self.zmq = free_port()
        self.workers = {}
        self.lives = {}
        log = open(os.path.join(folder, "coordinator.log"), "w")
        self.coordinator = subprocess.Popen(
            [ringmaster, "coordinator", "--port", str(self.http), "--zmq",
             f"tcp://127.0.0.1:{self.zmq}", "--state-dir", os.path.join(folder, "state"),
             "--checkpoint-root", os.path.join(folder, "runs"), "--heartbeat-timeout", "3"],
            stdout=log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the coordinator did not come up")

    def start_worker(self, name):
        self.lives[name] = self.lives.get(name, 0) + 1
        log = open(os.path.join(self.folder, f"{name}-{self.lives[name]}.log"), "w")
        self.workers[name] = subprocess.Popen(
            [self.rm, "worker", "--coordinator", f"tcp://127.0.0.1:{self.zmq}", "--name", name,
             "--cores", "1", "--gpus", "none", "--metrics-port", "0",
             "--checkpoint-root", os.path.join(self.folder, "runs")],
            stdout=log, stderr=subprocess.STDOUT)

    def kill_worker(self, name):
        self.workers[name].send_signal(signal.SIGKILL)
        self.workers[name].wait()

    def get(self, target):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}{target}", timeout=5) as r:
            return json.loads(r.read() or b"null")

    def submit(self, spec):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}/v1/jobs",
                                     data=json.dumps(spec).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["id"]

    def alive(self):
        return sum(w["state"] == "ALIVE" for w in self.get("/v1/workers")["workers"])

    def stop(self):
        for p in list(self.workers.values()) + [self.coordinator]:
            p.send_signal(signal.SIGTERM)
        for p in list(self.workers.values()) + [self.coordinator]:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def spec(name, epochs):
    return {
        "name": name,
        "model": {"name": "deep_convnet"},
        "data": {"dataset": "fashion-mnist"},
        "train": {"epochs": epochs, "batch_size": 100, "seed": 1},
        "optimizer": {"name": "adam", "lr": 0.001},
        "lr_schedule": {"type": "cosine", "t_max": epochs},
        "resources": {"workers": 2, "min_workers": 1},
        "sync": {"timeout_s": 10},
        "checkpoint": {"every_steps": 100},
        "restart_policy": {"max_restarts": 3, "backoff_s": 1},
    }


def run(cluster, name, epochs, kill_in_epoch=None, back_after_s=None):
    t0 = time.time()
    job = cluster.submit(spec(name, epochs))
    worlds, killed, back_at = [], None, None
    while True:
        v = cluster.get(f"/v1/jobs/{job}")
        if v["state"] == "RUNNING" and (not worlds or worlds[-1] != len(v["placement"])):
            worlds.append(len(v["placement"]))
        if v["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        p = v.get("progress") or {}
        if (kill_in_epoch and killed is None and v["state"] == "RUNNING"
                and p.get("epoch", 0) >= kill_in_epoch and len(v["placement"]) == 2):
            killed = v["placement"][1]
            cluster.kill_worker(killed)
            killed_at = time.time()
            print(f"  {name}: SIGKILLed {killed} in epoch {p.get('epoch')}, "
                  f"step {p.get('steps_total')}", flush=True)
        if killed and back_after_s is not None and back_at is None \
                and time.time() - killed_at >= back_after_s:
            cluster.start_worker(killed)
            back_at = time.time()
            print(f"  {name}: started {killed} again", flush=True)
        time.sleep(0.2)
    if killed and back_at is None:
        cluster.start_worker(killed)  # for the next run
    while cluster.alive() < 2:
        time.sleep(0.2)
    return {"name": name, "state": v["state"], "worlds": worlds, "restarts": v["restarts"],
            "reasons": v["restart_reasons"], "steps_redone": v["steps_redone"],
            "seconds": time.time() - t0,
            "test_accuracy": (v.get("result") or {}).get("test_accuracy"),
            "final_world": (v.get("result") or {}).get("world_size")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args()
    rm = os.path.abspath(os.path.join(args.build, "bin", "ringmaster"))
    folder = tempfile.mkdtemp(prefix="rm-elastic-")
    cluster = Cluster(rm, folder)
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        while cluster.alive() < 2:
            time.sleep(0.2)
        results = [run(cluster, "undisturbed", args.epochs),
                   run(cluster, "shrink", args.epochs, kill_in_epoch=2),
                   run(cluster, "regrow", args.epochs, kill_in_epoch=2, back_after_s=15)]
    finally:
        cluster.stop()
    base = results[0]["test_accuracy"] or 0.0
    print(f"\nDeepConvNet, Fashion-MNIST, {args.epochs} epochs, resources.workers 2, "
          "min_workers 1, 1 core per worker:")
    print(f"{'run':<12} {'state':<10} {'worlds':<10} {'restarts':>8} {'wall s':>7} "
          f"{'test acc':>9} {'vs undisturbed':>15}")
    for r in results:
        acc = r["test_accuracy"] or 0.0
        print(f"{r['name']:<12} {r['state']:<10} {'->'.join(map(str, r['worlds'])):<10} "
              f"{r['restarts']:>8} {r['seconds']:>7.1f} {100 * acc:>8.2f}% "
              f"{100 * (acc - base):>+14.2f}")
        for reason in r["reasons"]:
            print(f"{'':<12} {reason}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
