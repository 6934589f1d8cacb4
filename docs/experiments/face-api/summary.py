#!/usr/bin/env python3
"""Table of the face-api transfer runs (run.sh): per run name (variant plus
tag) the test accuracy per seed, mean, and the wall time; then each run's
per-seed difference from the first one named (paired by seed).

usage: summary.py RUNS_DIR NAME [NAME ...]   e.g. summary.py runs/face-api scratch frozen-head
"""
import glob
import json
import re
import sys


def results(out, name):
    rows = {}
    for f in glob.glob(f"{out}/{name}-seed*.metrics.json"):
        m = json.load(open(f))
        rows[int(re.search(r"-seed(\d+)\.metrics", f).group(1))] = m
    return dict(sorted(rows.items()))


def main():
    out, names = sys.argv[1], sys.argv[2:]
    base = results(out, names[0])
    for name in names:
        r = results(out, name)
        if not r:
            print(f"{name}: no runs")
            continue
        accs = [m["test_accuracy"] for m in r.values()]
        line = (f"{name:24s} seeds {list(r)}: " + " / ".join(f"{a:.2f}" for a in accs) +
                f"  mean {sum(accs) / len(accs):.3f}, wall {sum(m['wall_seconds'] for m in r.values()):.0f} s")
        paired = [r[s]["test_accuracy"] - base[s]["test_accuracy"] for s in r if s in base]
        if name != names[0] and paired:
            line += (f"; vs {names[0]}: " + " ".join(f"{d:+.2f}" for d in paired) +
                     f" (mean {sum(paired) / len(paired):+.3f}, better on {sum(d > 0 for d in paired)}"
                     f", worse on {sum(d < 0 for d in paired)} of {len(paired)})")
        print(line)


if __name__ == "__main__":
    main()
