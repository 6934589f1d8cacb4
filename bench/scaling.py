#!/usr/bin/env python3
"""Data-parallel scaling efficiency of DeepConvNet training on Fashion-MNIST:
N ranks (--world, default 2: `ringmaster train --rank R --world-size N`),
each pinned to its own core with 1 thread, against 1 rank pinned to one core
with 1 thread, at the same global batch. Runs alternate (1 rank, N ranks, 1
rank, ...) for --rounds rounds; prints the median training images/s of each
and the efficiency = (N-rank img/s) / (N x 1-rank img/s). Needs N cores: with
fewer, the figure would measure the oversubscription, so it refuses.

--weak keeps --batch per rank (the N-rank run's global batch is N x --batch,
and it trains N x --images, so both runs take the same steps): Horovod's
and DDP's definition of scaling efficiency. Without it both runs share one
global batch (strong scaling), which leaves each rank 1/N of the work per
step and so weighs communication N times heavier.

--link-1g puts each rank in a network namespace of its own whose link to a
bridge is shaped to 1 Gbit/s both ways (tc tbf, bench/netns.py), so the ring
crosses real 1 Gbit/s links (needs root; the namespaces are removed
afterwards; RINGMASTER_RING_SHM=0 keeps the ranks, which share a host, off
shared memory). --compression fp16 halves the bytes on the wire.

--cpu-share F stands in for hosts this machine lacks cores for: each rank
(the 1-rank run's too) runs in a cgroup capped at F of a core (10 ms CFS
periods, bench/cpu_share.py), ranks pinned round-robin to the cores, so
--world N needs only N x F cores; with --link-1g the links are scaled to
F Gbit/s, so compute and wire keep a 1-core, 1 Gbit/s host's proportions
(the whole run is that host slowed down by 1/F). An emulation: the
kernel's network work and the memory bandwidth are shared, not per host.

Usage: nice bench/scaling.py [--build build] [--rounds 9] [--world 2] [--weak] [--link-1g]
                              [--compression none] [--cpu-share F] [--data DIR]
                              [--ringmaster PATH]
"""
import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from cpu_share import CpuShare
from netns import Hosts


def make_spec(args, folder, world):
    share = world if args.weak else 1  # weak scaling: the batch and the images grow with the ranks
    spec = {
        "name": f"scaling-{world}",
        "model": {"name": "deep_convnet"},
        "data": {"dataset": "fashion-mnist", "train_limit": args.images * share, "test_limit": 100},
        "train": {"epochs": 1, "batch_size": args.batch * share, "threads": 1, "seed": 1,
                  "device": "cpu"},
        "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
        "checkpoint": {"path": os.path.join(folder, f"w{world}.safetensors")},
    }
    if args.data:
        spec["data"]["path"] = os.path.abspath(args.data)
    if world > 1:
        spec["sync"] = {"compression": args.compression, "timeout_s": 60, "bucket_mb": args.bucket_mb}
    path = os.path.join(folder, f"spec{world}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def run_world(args, folder, world, hosts, caps):
    """Training images/s (rank 0's, all ranks' images) of one run."""
    spec = make_spec(args, folder, world)
    rdv = tempfile.mkdtemp(dir=folder)
    procs = []
    for rank in range(world):
        metrics = os.path.join(folder, f"m{world}-{rank}.json")
        core = rank % os.cpu_count() if caps else rank
        cmd = ["taskset", "-c", str(core), args.ringmaster, "train", spec, "--metrics-out", metrics]
        if world > 1:
            cmd += ["--rank", str(rank), "--world-size", str(world), "--rendezvous", rdv]
            if hosts:
                cmd = ["ip", "netns", "exec", hosts.ns[rank]] + cmd + ["--host", hosts.ips[rank]]
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        if hosts:
            env["RINGMASTER_RING_SHM"] = "0"  # the namespaces stand for hosts: TCP over the link
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, env=env,
                                      preexec_fn=caps.joiner(rank) if caps else None))
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
    p.add_argument("--batch", type=int, default=64, help="global batch (per rank with --weak)")
    p.add_argument("--weak", action="store_true", help="--batch and --images per rank")
    p.add_argument("--data", help="folder of Fashion-MNIST's IDX files (default: the system's)")
    p.add_argument("--ringmaster", help="the ringmaster binary (default: BUILD/bin/ringmaster)")
    p.add_argument("--compression", default="none", choices=["none", "fp16"])
    p.add_argument("--bucket-mb", type=float, default=25.0, help="sync.bucket_mb")
    p.add_argument("--world", type=int, default=2, help="ranks of the data-parallel run")
    p.add_argument("--link-1g", action="store_true", help="ranks across 1 Gbit/s links (root)")
    p.add_argument("--cpu-share", type=float, help="cap each rank at this share of a core (root)")
    args = p.parse_args()
    args.ringmaster = os.path.abspath(args.ringmaster or os.path.join(args.build, "bin", "ringmaster"))
    n = args.world
    share = args.cpu_share or 1.0
    if n < 2 or os.cpu_count() < n * share - 1e-9 or not 0 < share <= 1:
        sys.exit(f"--world {n} needs at least 2 ranks and {n * share:g} cores (this machine has "
                 f"{os.cpu_count()}): one core per rank, or --cpu-share of one in (0, 1]")
    folder = tempfile.mkdtemp(prefix="rm_scaling_")
    rate = f"{round(1000 * share)}mbit"
    network = Hosts("rmsc", n, 76, rate=rate) if args.link_1g else contextlib.nullcontext()
    caps = CpuShare("rm_scaling", n, share) if args.cpu_share else contextlib.nullcontext()
    try:
        with network as hosts, caps as caps:
            one, many, last_sync = [], [], {}
            for rnd in range(args.rounds):
                ips1, _ = run_world(args, folder, 1, None, caps)
                ipsn, last_sync = run_world(args, folder, n, hosts, caps)
                one.append(ips1)
                many.append(ipsn)
                print(f"round {rnd + 1}: 1 rank {ips1:.0f} img/s, {n} ranks {ipsn:.0f} img/s, "
                      f"efficiency {ipsn / (n * ips1):.3f}", flush=True)
        m1, mn = statistics.median(one), statistics.median(many)
        link = f"{rate} links between {n} network namespaces" if args.link_1g else "loopback"
        batch = (f"batch {args.batch} per rank, {args.images} images per rank a run" if args.weak
                 else f"global batch {args.batch}, {args.images} images a run")
        cores = (f"each rank capped at {share:g} of a core (cgroup), pinned round-robin to "
                 f"{os.cpu_count()} cores" if args.cpu_share else "each rank pinned to its own core")
        print(f"\nDeepConvNet, Fashion-MNIST, {batch}, "
              f"1 thread per rank, {cores}; ring over {link}, "
              f"compression {args.compression}, buckets of {args.bucket_mb:g} MiB; median of {args.rounds} alternating rounds")
        print(f"  1 rank : {m1:8.0f} img/s")
        print(f"  {n} ranks: {mn:8.0f} img/s")
        print(f"  scaling efficiency: {mn / (n * m1):.3f}")
        print(f"  last {n}-rank run's communication: {json.dumps(last_sync)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

if __name__ == "__main__":
    main()
