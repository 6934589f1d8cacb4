"""CPU caps that stand for smaller hosts in the benches (needs root): one
cgroup per rank, capped at `share` of a core (CFS bandwidth: cgroup v1's
cpu controller, or v2's cpu.max), with a 10 ms period so a throttled rank
stalls its peers for milliseconds, not the default 100 ms. Removed on exit.

    with CpuShare("rm_scaling", 4, 0.45) as caps:
        subprocess.Popen(cmd, preexec_fn=caps.joiner(rank))
"""
import os

PERIOD_US = 10000
V1_ROOT = "/sys/fs/cgroup/cpu"
V2_ROOT = "/sys/fs/cgroup"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class CpuShare:
    def __init__(self, prefix, n, share):
        if not 0 < share <= 1:
            raise ValueError(f"a CPU share must be in (0, 1], not {share}")
        self.quota_us = max(1000, int(round(share * PERIOD_US)))
        self.v1 = os.path.isfile(os.path.join(V1_ROOT, "cpu.cfs_quota_us"))
        root = V1_ROOT if self.v1 else V2_ROOT
        if not self.v1 and not os.path.isfile(os.path.join(V2_ROOT, "cgroup.controllers")):
            raise RuntimeError("no cgroup cpu controller (neither v1's nor v2's) to cap ranks with")
        self.groups = [os.path.join(root, f"{prefix}_{os.getpid()}_{i}") for i in range(n)]

    def __enter__(self):
        if not self.v1:  # v2: the cpu controller must be on for the root's children
            write(os.path.join(V2_ROOT, "cgroup.subtree_control"), "+cpu")
        for g in self.groups:
            os.makedirs(g, exist_ok=True)
            if self.v1:
                write(os.path.join(g, "cpu.cfs_period_us"), str(PERIOD_US))
                write(os.path.join(g, "cpu.cfs_quota_us"), str(self.quota_us))
            else:
                write(os.path.join(g, "cpu.max"), f"{self.quota_us} {PERIOD_US}")
        return self

    def joiner(self, i):
        """A preexec_fn that moves the child (and so all it starts) into group i."""
        procs = os.path.join(self.groups[i], "cgroup.procs")
        return lambda: write(procs, str(os.getpid()))

    def __exit__(self, *exc):
        for g in self.groups:  # the ranks have exited: the groups are empty
            try:
                os.rmdir(g)
            except OSError:
                pass
