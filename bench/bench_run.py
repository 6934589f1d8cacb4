"""What the side-by-side benchmarks share: run one measuring process and read
the JSON object on the last line of its output; a failed run stops the
benchmark with its command, exit status and output."""
import json
import subprocess
import sys


def run_json(cmd, env, whole=False):
    """The JSON object on the last line of cmd's output (whole: its whole
    output is one JSON document)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout if whole else proc.stdout.strip().splitlines()[-1])
