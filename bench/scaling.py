#!/usr/bin/env python3
"""Data-parallel scaling efficiency of DeepConvNet training on Fashion-MNIST:
2 ranks (`ringmaster train --rank R --world-size 2`), each pinned to its own
core with 1 thread, against 1 rank pinned to one core with 1 thread, at the
same global batch. Runs alternate (1 rank, 2 ranks, 1 rank, ...) for
--rounds rounds; prints the median training images/s of each and the
efficiency = (2-rank img/s) / (2 x 1-rank img/s).

--link-1g puts the two ranks in two network namespaces joined by a veth pair
shaped to 1 Gbit/s (tc tbf), so the ring crosses a real 1 Gbit/s link
(needs root; the namespaces are removed afterwards; RINGMASTER_RING_SHM=0
keeps the ranks, which share a host, off shared memory). --compression fp16
halves the bytes on the wire.

Usage: nice bench/scaling.py [--build build] [--rounds 9] [--link-1g] [--compression none]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

NS = ("rmscale0", "rmscale1")
IPS = ("10.77.0.1", "10.77.0.2")


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def make_spec(args, folder, world):
    spec = {
        "name": f"scaling-{world}",
        "model": {"name": "deep_convnet"},
        "data": {"dataset": "fashion-mnist", "train_limit": args.images, "test_limit": 100},
        "train": {"epochs": 1, "batch_size": args.batch, "threads": 1, "seed": 1},
        "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
        "checkpoint": {"path": os.path.join(folder, f"w{world}.safetensors")},
    }
    if world > 1:
        spec["sync"] = {"compression": args.compression, "timeout_s": 60, "bucket_mb": args.bucket_mb}
    path = os.path.join(folder, f"spec{world}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def run_world(args, folder, world):
    """Training images/s (rank 0's, all ranks' images) of one run."""
    spec = make_spec(args, folder, world)
    rdv = tempfile.mkdtemp(dir=folder)
    procs = []
    for rank in range(world):
        metrics = os.path.join(folder, f"m{world}-{rank}.json")
        cmd = ["taskset", "-c", str(rank), args.ringmaster, "train", spec, "--metrics-out", metrics]
        if world > 1:
            cmd += ["--rank", str(rank), "--world-size", str(world), "--rendezvous", rdv]
            if args.link_1g:
                cmd = ["ip", "netns", "exec", NS[rank]] + cmd + ["--host", IPS[rank]]
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        if args.link_1g:
            env["RINGMASTER_RING_SHM"] = "0"  # the namespaces stand for hosts: TCP over the link
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, env=env))
    for rank, p in enumerate(procs):
        out, _ = p.communicate(timeout=900)
        if p.returncode != 0:
            sys.exit(f"rank {rank} of {world} failed ({p.returncode}):\n{out}")
    shutil.rmtree(rdv)
    with open(os.path.join(folder, f"m{world}-0.json")) as f:
        m = json.load(f)
    return m["images_per_second"], m.get("sync", {})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--images", type=int, default=6400, help="training images per run (one epoch)")
    p.add_argument("--batch", type=int, default=64, help="global batch")
    p.add_argument("--compression", default="none", choices=["none", "fp16"])
    p.add_argument("--bucket-mb", type=float, default=25.0, help="sync.bucket_mb")
    p.add_argument("--link-1g", action="store_true", help="2 ranks across a 1 Gbit/s veth (root)")
    args = p.parse_args()
    args.ringmaster = os.path.abspath(os.path.join(args.build, "bin", "ringmaster"))
    if os.cpu_count() < 2:
        sys.exit("needs 2 cores")
    folder = tempfile.mkdtemp(prefix="rm_scaling_")
    if args.link_1g:
        subprocess.run(f"ip netns del {NS[0]} 2>/dev/null; ip netns del {NS[1]} 2>/dev/null", shell=True)
        sh(f"ip netns add {NS[0]} && ip netns add {NS[1]}")
        sh("ip link add rmsveth0 type veth peer name rmsveth1")
        for i in range(2):
            sh(f"ip link set rmsveth{i} netns {NS[i]}")
            sh(f"ip -n {NS[i]} addr add {IPS[i]}/24 dev rmsveth{i}")
            sh(f"ip -n {NS[i]} link set rmsveth{i} up && ip -n {NS[i]} link set lo up")
            sh(f"tc -n {NS[i]} qdisc add dev rmsveth{i} root tbf rate 1gbit burst 256kb latency 50ms")
    try:
        one, two, last_sync = [], [], {}
        for rnd in range(args.rounds):
            ips1, _ = run_world(args, folder, 1)
            ips2, last_sync = run_world(args, folder, 2)
            one.append(ips1)
            two.append(ips2)
            print(f"round {rnd + 1}: 1 rank {ips1:.0f} img/s, 2 ranks {ips2:.0f} img/s, "
                  f"efficiency {ips2 / (2 * ips1):.3f}", flush=True)
        m1, m2 = statistics.median(one), statistics.median(two)
        link = "1 Gbit/s veth between 2 network namespaces" if args.link_1g else "loopback"
        print(f"\nDeepConvNet, Fashion-MNIST, global batch {args.batch}, {args.images} images a run, "
              f"1 thread per rank, each rank pinned to its own core; ring over {link}, "
              f"compression {args.compression}, buckets of {args.bucket_mb:g} MiB; median of {args.rounds} alternating rounds")
        print(f"  1 rank : {m1:8.0f} img/s")
        print(f"  2 ranks: {m2:8.0f} img/s")
        print(f"  scaling efficiency: {m2 / (2 * m1):.3f}")
        print(f"  last 2-rank run's communication: {json.dumps(last_sync)}")
    finally:
        if args.link_1g:
            subprocess.run(f"ip netns del {NS[0]}; ip netns del {NS[1]}", shell=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
