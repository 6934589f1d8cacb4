#!/usr/bin/env bash
# Runs ON the device machine (for its 16 cores; no GPU is used), from the
# repository root, with .device/ carried (made here by scripts/gpu-bundle.sh):
# issue 22's scaling line, bench/scaling.py with --world ranks (default 4),
# each pinned to a core of its own with one thread, against one rank. The
# ranks are put in network namespaces on 1 Gbit/s links (tc tbf) when the
# machine lets us make them, which a probe tries first; otherwise the ring
# runs on loopback, and the output says so. Three settings, --rounds
# alternating rounds each: strong scaling (global batch 64), weak scaling
# (batch 64 per rank), weak scaling with fp16 compression.
# Budget: about 3 minutes at --rounds 5 (a round is 10-15 s).
#   scripts/device-scaling.sh [--world 4] [--rounds 5]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/.device/bundle
WORLD=4
ROUNDS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --world) WORLD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    *) echo "usage: $0 [--world N] [--rounds N]" >&2; exit 64 ;;
  esac
  shift
done
say() { printf '== %s\n' "$*"; }

if [ ! -x "$B/ringmaster" ] || [ ! -d "$B/fashion-mnist" ] || [ ! -x "$B/tools/ip" ]; then
  echo "device-scaling: the bundle lacks ringmaster, its Fashion-MNIST slice or its tools:" \
    "run scripts/gpu-bundle.sh here first and carry .device"
  exit 2
fi
. "$ROOT/scripts/bundle-libs.sh"
unpack_bundle_libs || exit 3
LD_LIBRARY_PATH=$(bundle_ld_path "$B/tools/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$B/ringmaster")
export LD_LIBRARY_PATH
export PATH=$B/tools:$PATH  # ip, tc and taskset, for bench/netns.py and bench/scaling.py
NOTFOUND=$(ldd "$B/ringmaster" "$B/tools/ip" "$B/tools/tc" 2>&1 | grep "not found" | sort -u)
[ -z "$NOTFOUND" ] || { echo "device-scaling: libraries missing:"; echo "$NOTFOUND"; exit 3; }
say "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"

# Can we make namespaces with shaped veths on a bridge, and does TCP cross them?
LINKS=""
if timeout 60 python3 - <<'PY' >"$ROOT/.device/netns-probe.log" 2>&1; then
import subprocess, sys
sys.path.insert(0, "bench")
from netns import Hosts
with Hosts("rmpr", 2, 78, rate="1gbit") as h:
    server = ("import socket; s = socket.socket(); s.bind(('%s', 4999)); s.listen(1); "
              "c, _ = s.accept(); c.sendall(b'across')" % h.ips[0])
    client = ("import socket, time\nfor _ in range(50):\n  try:\n"
              "    c = socket.create_connection(('%s', 4999), timeout=2); break\n"
              "  except OSError: time.sleep(0.1)\nprint(c.recv(6).decode())" % h.ips[0])
    srv = subprocess.Popen(["ip", "netns", "exec", h.ns[0], "python3", "-c", server])
    got = subprocess.run(["ip", "netns", "exec", h.ns[1], "python3", "-c", client],
                         capture_output=True, text=True, timeout=30).stdout.strip()
    srv.wait(timeout=10)
    sys.exit(0 if got == "across" else 1)
PY
  LINKS="--link-1g"
  say "network namespaces on 1 Gbit/s links: yes"
else
  say "network namespaces on 1 Gbit/s links: NO (the ring runs on loopback); the probe said:"
  tail -5 "$ROOT/.device/netns-probe.log" | sed 's/^/   /'
fi

run() {  # title args...
  local title=$1; shift
  say "$title"
  timeout 300 python3 bench/scaling.py --ringmaster "$B/ringmaster" --data "$B/fashion-mnist" \
    --world "$WORLD" --rounds "$ROUNDS" $LINKS "$@" 2>&1 | sed 's/^/   /'
}
run "strong scaling: global batch 64" --batch 64
run "weak scaling: batch 64 per rank" --weak --batch 64
run "weak scaling, fp16 compression" --weak --batch 64 --compression fp16
