#!/usr/bin/env python3
"""Ring all-reduce bus bandwidth: ours (bench_allreduce_busbw) against OpenMPI's
MPI_Allreduce (bench_mpi_allreduce_busbw), run alternately for --rounds rounds;
prints per size and world the median busbw of each and the ratios, in two
pairs: on one host, ours over shared memory (the default between same-host
ranks) against MPI over shared memory (btl self,vader, its default), and
ours forced onto TCP (--tcp) against MPI over TCP on loopback (btl self,tcp
on lo). A run of ours that did not take the path its column names stops the
bench. --link-1g runs the ranks (--worlds) in network namespaces whose
links to a bridge are shaped to 1 Gbit/s both ways (tc tbf), over TCP
(namespaces stand for hosts), and compares our compression none against
fp16 (needs root). --netns runs two
ranks in two network namespaces joined through a bridge (unshaped veths;
namespaces stand for hosts) and compares, over TCP, ours on its own TCP
stream, ours with chunks through ZeroMQ (--zeromq) and OpenMPI (btl
self,tcp on the bridge's subnet; each rank started under ip netns exec, and
PMIx allowed remote connections so that ranks reach mpirun from their
namespaces) (needs root).

Every run, ours and MPI's, gets glibc's malloc thresholds at 4 GiB
(MALLOC_ENV): MPI_Allreduce allocates a temporary buffer as large as the
message on every call, and above glibc's 32 MiB limit for its adaptive mmap
threshold each one is mapped, faulted in page by page and unmapped. On a
virtual machine with costly page faults that is most of the time: 0.33 GB/s
at 64 MiB over vader, 3.8 with the thresholds raised. The anchor gets its
best setup; ours reuses its buffers from call to call.

Usage: nice bench/allreduce.py [--build build] [--rounds 9] [--worlds 2 4] [--sizes 1 16 64] [--link-1g | --netns]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

from netns import Hosts

RESULT = re.compile(r"RESULT impl=(\S+)(?: compression=(\S+))? world=(\d+) bytes=(\d+) "
                    r".*busbw_GBps=([\d.]+)(?: path=(\S+))?")


# Heap memory is reused, never mapped per call nor trimmed (see the docstring).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(4 << 30)}
MPI_MALLOC_ARGS = [a for name in MALLOC_ENV for a in ("-x", name)]


def run(cmd, timeout=900, path=None, env=None):
    """{bytes: busbw}; with `path`, every RESULT must say it ran on that path."""
    env = dict(env if env is not None else os.environ, **MALLOC_ENV)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    rows = {}
    for line in out.stdout.splitlines():
        m = RESULT.match(line)
        if m:
            if path is not None and m.group(6) != path:
                sys.exit(f"expected path={path}, got {m.group(6)}: {' '.join(cmd)}\n{line}")
            rows[int(m.group(4))] = float(m.group(5))
    return rows


def mpi_cmd(args, world, btl):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(world), "--bind-to", "none",
           "--mca", "btl", btl, *MPI_MALLOC_ARGS]
    if "tcp" in btl:
        cmd += ["--mca", "btl_tcp_if_include", "lo"]
    return cmd + [os.path.join(args.build, "bin", "bench_mpi_allreduce_busbw"),
                  "--sizes-mib", ",".join(args.sizes), "--min-seconds", str(args.min_seconds)]


def ours_cmd(args, world, compression="none", extra=()):
    return [os.path.join(args.build, "bin", "bench_allreduce_busbw"), "--world", str(world),
            "--sizes-mib", *args.sizes, "--min-seconds", str(args.min_seconds),
            "--chunk-kib", str(args.chunk_kib), "--compression", compression, *extra]


def mib(b):
    return f"{b / 2**20:g} MiB"


def loopback(args):
    samples = {}  # (impl, world, bytes) -> [busbw]
    for rnd in range(args.rounds):
        for world in args.worlds:
            runs = [("ours-shm", ours_cmd(args, world), "shm"),
                    ("mpi-shm", mpi_cmd(args, world, "self,vader"), None),
                    ("ours-tcp", ours_cmd(args, world, extra=["--tcp"]), "tcp"),
                    ("mpi-tcp", mpi_cmd(args, world, "self,tcp"), None)]
            for impl, cmd, path in runs:
                for b, bw in run(cmd, path=path).items():
                    samples.setdefault((impl, world, b), []).append(bw)
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"busbw GB/s, median of {args.rounds} alternating rounds. Same host: ours over shared "
          f"memory, MPI over vader. TCP: ours with --tcp, MPI with btl self,tcp on lo")
    print(f"{'world':>5} {'size':>8} {'ours shm':>9} {'MPI shm':>8} {'ratio':>6} "
          f"{'ours tcp':>9} {'MPI tcp':>8} {'ratio':>6}")
    med = lambda impl, world, b: statistics.median(samples[(impl, world, b)])
    for world in args.worlds:
        for b in sorted({k[2] for k in samples if k[1] == world}):
            os_, ms = med("ours-shm", world, b), med("mpi-shm", world, b)
            ot, mt = med("ours-tcp", world, b), med("mpi-tcp", world, b)
            print(f"{world:>5} {mib(b):>8} {os_:>9.3f} {ms:>8.3f} {os_ / ms:>6.2f} "
                  f"{ot:>9.3f} {mt:>8.3f} {ot / mt:>6.2f}")


def link_1g(args):
    samples = {}
    for world in args.worlds:
        with Hosts("rmar", world, 77, rate="1gbit") as hosts:
            extra = ["--netns", *hosts.ns, "--hosts", *hosts.ips, "--tcp"]
            for rnd in range(args.rounds):
                for comp in ("none", "fp16"):
                    for b, bw in run(ours_cmd(args, world, comp, extra), path="tcp").items():
                        samples.setdefault((world, comp, b), []).append(bw)
                print(f"1g world {world} round {rnd + 1}/{args.rounds} done", file=sys.stderr,
                      flush=True)
    print(f"ranks in network namespaces, each host's link to a bridge shaped to 1 Gbit/s both ways "
          f"(tc tbf), TCP; busbw GB/s (of fp32 bytes), median of {args.rounds}")
    print(f"{'world':>5} {'size':>8} {'none':>8} {'fp16':>8} {'fp16/none':>9}")
    for world in args.worlds:
        for b in sorted({k[2] for k in samples if k[0] == world}):
            none = statistics.median(samples[(world, "none", b)])
            fp16 = statistics.median(samples[(world, "fp16", b)])
            print(f"{world:>5} {mib(b):>8} {none:>8.3f} {fp16:>8.3f} {fp16 / none:>9.2f}")


def netns_pair(args):
    with Hosts("rmbus", 2, 79) as hosts:
        extra = ["--netns", *hosts.ns, "--hosts", *hosts.ips, "--tcp"]
        env = dict(os.environ, PMIX_MCA_ptl_tcp_remote_connections="1",
                   PMIX_MCA_ptl_tcp_if_include=hosts.subnet)
        mpi = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
               "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", hosts.subnet,
               "-x", "PMIX_MCA_ptl_tcp_remote_connections", "-x", "PMIX_MCA_ptl_tcp_if_include",
               *MPI_MALLOC_ARGS]
        rank = [os.path.join(args.build, "bin", "bench_mpi_allreduce_busbw"),
                "--sizes-mib", ",".join(args.sizes), "--min-seconds", str(args.min_seconds)]
        for i in range(2):
            mpi += (([":"] if i else []) + ["-np", "1", "ip", "netns", "exec", hosts.ns[i]] + rank)
        runs = [("stream", ours_cmd(args, 2, extra=extra), "tcp", None),
                ("zeromq", ours_cmd(args, 2, extra=extra + ["--zeromq"]), "tcp", None),
                ("mpi", mpi, None, env)]
        samples = {}
        for rnd in range(args.rounds):
            for impl, cmd, path, e in runs:
                for b, bw in run(cmd, path=path, env=e).items():
                    samples.setdefault((impl, b), []).append(bw)
            print(f"netns round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"2 ranks in 2 network namespaces (veths on a bridge), TCP; busbw GB/s, median of "
          f"{args.rounds} alternating rounds")
    print(f"{'size':>8} {'stream':>8} {'zeromq':>8} {'MPI tcp':>8} {'stream/MPI':>10} "
          f"{'zeromq/MPI':>10}")
    med = lambda impl, b: statistics.median(samples[(impl, b)])
    for b in sorted({k[1] for k in samples}):
        st, zm, mp = med("stream", b), med("zeromq", b), med("mpi", b)
        print(f"{mib(b):>8} {st:>8.3f} {zm:>8.3f} {mp:>8.3f} {st / mp:>10.2f} {zm / mp:>10.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--worlds", type=int, nargs="+", default=[2, 4])
    p.add_argument("--sizes", nargs="+", default=["1", "16", "64"], help="MiB")
    p.add_argument("--min-seconds", type=float, default=1.0)
    p.add_argument("--chunk-kib", type=int, default=1024)
    p.add_argument("--link-1g", action="store_true", help="1 Gbit/s links: none vs fp16 (root)")
    p.add_argument("--netns", action="store_true",
                   help="2 ranks in 2 namespaces: stream, zeromq and MPI over TCP (root)")
    args = p.parse_args()
    if args.link_1g:
        link_1g(args)
    elif args.netns:
        netns_pair(args)
    else:
        loopback(args)


if __name__ == "__main__":
    main()
