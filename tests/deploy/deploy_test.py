#!/usr/bin/env python3
"""The docker-compose stack, started for real: builds the images
(scripts/docker-images.sh: a Debian bookworm base from debootstrap, the
host's binaries and data, Debian's Prometheus), starts docker-compose.yml
with three workers, trains a 2-worker data-parallel job whose ring runs
between two worker containers and a 2-worker parameter-server job whose
shards run in the coordinator's container, checks that Prometheus scrapes the
coordinator and every worker and holds the job's loss, kills a worker
container and waits for the coordinator to mark it dead, then takes the
stack down with its volumes and checks that nothing of it is left.

Starts dockerd when none answers (and stops it afterwards, putting the
host's iptables rules back as they were); exits 77 (ctest: skipped), naming
why, only where no Docker engine can be started.
Usage: deploy_test.py --source DIR --build DIR"""
import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77
PROJECT = f"rmdeploy{os.getpid()}"
IMAGE = "ringmaster:deploy-test"
PROMETHEUS_IMAGE = "ringmaster-prometheus:deploy-test"
WORKERS = 3


class Failure(Exception):
    pass


def log(msg):
    print(f"[deploy {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, env=None, timeout=600, check=True):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, probe, timeout, interval=1.0):
    """Calls probe() until it returns something true (returned) or timeout."""
    until = time.monotonic() + timeout
    last = None
    while time.monotonic() < until:
        try:
            last = probe()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise Failure(f"{what}: not within {timeout} s (last: {last!r})")


def restore_input(saved):
    """iptables-restore input that puts back `saved` (iptables-save output)
    and empties the tables dockerd writes that `saved` lacks (a host that
    never loaded them)."""
    out = saved
    builtin = {"filter": ("INPUT", "FORWARD", "OUTPUT"),
               "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}
    for table, chains in builtin.items():
        if f"*{table}\n" not in saved:
            out += f"*{table}\n" + "".join(f":{c} ACCEPT [0:0]\n" for c in chains) + "COMMIT\n"
    return out


class Engine:
    """A Docker engine to talk to: the running one, or a dockerd started here."""

    def __init__(self, workdir):
        self.docker = os.environ.get("DOCKER") or (
            "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker"))
        self.workdir = workdir
        self.proc = None
        self.iptables_before = None
        self.had_docker0 = os.path.exists("/sys/class/net/docker0")

    def answers(self):
        return self.docker and run([self.docker, "info"], timeout=20, check=False).returncode == 0

    def start(self):
        """None when an engine answers, else the reason none can be had."""
        if not self.docker:
            return "no docker client (scripts/install-deps.sh --docker installs docker.io)"
        if self.answers():
            log("using the Docker engine that is running")
            return None
        dockerd = shutil.which("dockerd")
        if not dockerd:
            return "no Docker engine runs and dockerd is not installed"
        if os.geteuid() != 0:
            return "no Docker engine runs, and starting dockerd needs root"
        if shutil.which("iptables-save"):
            self.iptables_before = run(["iptables-save"], check=False).stdout
        with open(os.path.join(self.workdir, "dockerd.log"), "w") as out:  # dockerd keeps its own
            self.proc = subprocess.Popen(
                [dockerd, "--pidfile", os.path.join(self.workdir, "dockerd.pid")],
                stdout=out, stderr=subprocess.STDOUT)
        until = time.monotonic() + 60
        while time.monotonic() < until and self.proc.poll() is None:
            if self.answers():
                log(f"started dockerd (pid {self.proc.pid})")
                return None
            time.sleep(0.5)
        self.stop()
        with open(os.path.join(self.workdir, "dockerd.log")) as f:
            tail = f.read()[-1500:]
        return f"dockerd could not be started:\n{tail}"

    def stop(self):
        """Stops a dockerd started here and puts the firewall back as found."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.iptables_before is not None:
            subprocess.run(["iptables-restore"], input=restore_input(self.iptables_before),
                           text=True)
        if not self.had_docker0:
            subprocess.run(["ip", "link", "del", "docker0"], capture_output=True)
        log("stopped dockerd; iptables and docker0 as they were")


class Stack:
    """docker-compose.yml under a project name of its own, on free ports."""

    def __init__(self, source, docker):
        self.source = source
        self.docker = docker
        self.token = secrets.token_hex(16)
        self.rest = free_port()
        self.prometheus = free_port()
        self.env = dict(os.environ, RINGMASTER_TOKEN=self.token, RINGMASTER_IMAGE=IMAGE,
                        RINGMASTER_PROMETHEUS_IMAGE=PROMETHEUS_IMAGE,
                        RINGMASTER_REST_PORT=str(self.rest),
                        RINGMASTER_PROMETHEUS_PORT=str(self.prometheus))

    def compose(self, *args, timeout=300):
        return run(["docker-compose", "-p", PROJECT, "-f",
                    os.path.join(self.source, "docker-compose.yml"), *args],
                   env=self.env, timeout=timeout)

    def text(self, method, path, body=None):
        """The REST answer's body, with the token."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.rest}{path}", method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"},
                                     data=json.dumps(body).encode() if body else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def api(self, method, path, body=None):
        return json.loads(self.text(method, path, body) or "null")

    def prom(self, path):
        url = f"http://127.0.0.1:{self.prometheus}{path}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["data"]

    def containers(self, service):
        """{container name: (hostname, ip)} of the service's running containers."""
        names = run([self.docker, "ps", "--format", "{{.Names}}", "--filter",
                     f"label=com.docker.compose.project={PROJECT}", "--filter",
                     f"label=com.docker.compose.service={service}"]).stdout.split()
        out = {}
        for n in names:
            fmt = "{{.Config.Hostname}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
            host, ip = run([self.docker, "inspect", "-f", fmt, n]).stdout.split()
            out[n] = (host, ip)
        return out

    def leftovers(self):
        label = f"label=com.docker.compose.project={PROJECT}"
        found = []
        for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
            r = run([self.docker, *kind, "-q", "--filter", label])
            found += [f"{kind[0]} {x}" for x in r.stdout.split()]
        return found


def remove_stale_stacks(docker):
    """Containers, volumes and networks of an earlier run that was killed
    before its `down` (projects rmdeploy<pid>, never a user's)."""
    for kind, key, rm in ((["ps", "-a"], "ID", ["rm", "-f"]),
                          (["volume", "ls"], "Name", ["volume", "rm", "-f"]),
                          (["network", "ls"], "ID", ["network", "rm"])):
        r = run([docker, *kind, "--format",
                 f'{{{{.{key}}}}} {{{{.Label "com.docker.compose.project"}}}}'], check=False)
        stale = [line.split()[0] for line in r.stdout.splitlines()
                 if len(line.split()) == 2 and line.split()[1].startswith("rmdeploy")]
        if stale:
            log(f"removing {len(stale)} {kind[0]} left by an earlier run")
            run([docker, *rm, *stale], check=False)


def build_images(source, build, docker):
    env = dict(os.environ, DOCKER=docker, RINGMASTER_BUILD_DIR=build, RINGMASTER_IMAGE=IMAGE,
               RINGMASTER_PROMETHEUS_IMAGE=PROMETHEUS_IMAGE)
    r = run([os.path.join(source, "scripts", "docker-images.sh")], env=env, timeout=1200)
    for line in r.stdout.splitlines():
        log(line)


def start_stack(stack):
    stack.compose("up", "-d", "--no-build", "--scale", f"worker={WORKERS}")
    wait_for("the coordinator's /healthz", lambda: stack.api("GET", "/healthz") is not None, 60)

    def alive():
        workers = stack.api("GET", "/v1/workers")["workers"]
        return len([w for w in workers if w["state"] == "ALIVE"]) == WORKERS

    wait_for(f"{WORKERS} workers ALIVE", alive, 60)
    services = sorted({s for s in ("coordinator", "worker", "prometheus", "grafana")
                       if stack.containers(s)})
    if services != ["coordinator", "prometheus", "worker"]:
        raise Failure(f"running services {services}: want coordinator, prometheus, worker "
                      "(grafana only with its profile)")
    log(f"stack up: {services}, {WORKERS} workers alive")


def run_job(stack, name, sync):
    """Submits a 2-worker digits MLP, follows it to SUCCEEDED; (id, logs)."""
    spec = {"name": name, "model": {"name": "mlp", "hidden": [64]},
            "data": {"dataset": "digits", "path": "/opt/ringmaster/data/digits.csv.gz",
                     "train_limit": 400, "test_limit": 100},
            "train": {"epochs": 3, "batch_size": 20},
            "resources": {"workers": 2}, "sync": dict(sync, timeout_s=30)}
    job_id = stack.api("POST", "/v1/jobs", spec)["id"]

    def finished():
        job = stack.api("GET", f"/v1/jobs/{job_id}")
        return job if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    job = wait_for(f"{job_id} to finish", finished, 300)
    if job["state"] != "SUCCEEDED":
        raise Failure(f"{job_id} ended {job['state']}: {json.dumps(job)[:2000]}")
    if job["result"]["world_size"] != 2:
        raise Failure(f"world size {job['result']['world_size']}, not 2")
    return job_id, stack.text("GET", f"/v1/jobs/{job_id}/logs")


def train_across_containers(stack):
    """An all-reduce job whose ring runs between two worker containers, then
    a parameter-server job whose shards the coordinator's container hosts."""
    job_id, logs = run_job(stack, "deploy-allreduce", {"mode": "allreduce"})
    worker_ips = {ip for _, ip in stack.containers("worker").values()}
    ring = {line.split("ring all-reduce on tcp://")[1].split(":")[0]
            for line in logs.splitlines() if "ring all-reduce on tcp://" in line}
    if len(ring) != 2 or not ring <= worker_ips:
        raise Failure(f"the ring listened on {ring}, not on two of the worker containers' "
                      f"addresses {worker_ips}:\n{logs}")
    if "ring encrypted (CURVE)" not in logs:  # the keys service's keys reached the ring
        raise Failure(f"the ring was not encrypted:\n{logs}")
    log(f"{job_id} SUCCEEDED at world size 2, its ring (CURVE) on {sorted(ring)}")
    ps_id, ps_logs = run_job(stack, "deploy-ps", {"mode": "ps", "shards": 2})
    ranks = [line for line in ps_logs.splitlines() if "parameter server (2 shard(s)" in line]
    if len(ranks) != 2:
        raise Failure(f"{ps_id}: not two ranks on 2 shards:\n{ps_logs}")
    log(f"{ps_id} SUCCEEDED at world size 2 through 2 shards on the coordinator")
    return job_id


def prometheus_scrapes(stack, job_id):
    want = 1 + WORKERS

    def targets_up():
        active = stack.prom("/api/v1/targets")["activeTargets"]
        ours = [t for t in active if t["labels"]["job"].startswith("ringmaster-")]
        up = [t["labels"]["instance"] for t in ours if t["health"] == "up"]
        return up if len(up) == want else None

    up = wait_for(f"Prometheus: {want} ringmaster targets up", targets_up, 120, 2)
    worker_ips = {ip for _, ip in stack.containers("worker").values()}
    scraped = {i.rsplit(":", 1)[0] for i in up if not i.startswith("coordinator:")}
    if scraped != worker_ips:
        raise Failure(f"Prometheus scrapes {scraped}, the workers are {worker_ips}")

    def loss():
        q = urllib.parse.quote(f'ringmaster_job_loss{{job_id="{job_id}"}}')
        return stack.prom(f"/api/v1/query?query={q}")["result"]

    series = wait_for(f"Prometheus: ringmaster_job_loss of {job_id}", loss, 60, 2)
    log(f"Prometheus: targets up {sorted(up)}; {len(series)} loss series of {job_id}")


def killed_worker_is_dead(stack):
    name, (hostname, _) = sorted(stack.containers("worker").items())[0]
    run([stack.docker, "kill", name])

    def dead():
        for w in stack.api("GET", "/v1/workers")["workers"]:
            if w["hostname"] == hostname:
                return w["id"] if w["state"] == "DEAD" else None
        raise Failure(f"no worker with hostname {hostname}")

    worker_id = wait_for(f"the coordinator to mark {name} dead", dead, 60, 0.5)
    log(f"killed {name}: the coordinator marked {worker_id} DEAD")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    args = parser.parse_args()
    for tool in ("docker-compose",):
        if not shutil.which(tool):
            print(f"SKIP: {tool} missing (scripts/install-deps.sh installs it)")
            return SKIP
    workdir = tempfile.mkdtemp(prefix="rm_deploy_")
    engine = Engine(workdir)
    t0 = time.monotonic()
    why = engine.start()
    if why:
        print(f"SKIP: {why}")
        shutil.rmtree(workdir, ignore_errors=True)
        return SKIP
    remove_stale_stacks(engine.docker)
    stack = Stack(args.source, engine.docker)
    timings = {}

    def timed(name, step):
        t = time.monotonic()
        result = step()
        timings[name] = time.monotonic() - t
        return result

    try:
        timed("images", lambda: build_images(args.source, args.build, engine.docker))
        timed("up", lambda: start_stack(stack))
        job_id = timed("job", lambda: train_across_containers(stack))
        timed("prometheus", lambda: prometheus_scrapes(stack, job_id))
        timed("kill", lambda: killed_worker_is_dead(stack))
    except Failure as e:
        print(f"FAIL: {e}")
        print(stack.compose("logs", "--no-color", "--tail", "60").stdout[-6000:])
        return 1
    finally:
        t = time.monotonic()
        try:
            stack.compose("down", "-v", "--remove-orphans", "-t", "5", timeout=120)
        finally:
            left = stack.leftovers()
            engine.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        timings["down"] = time.monotonic() - t
        if left:
            print(f"FAIL: left behind after down -v: {left}")
            return 1
    timings["total"] = time.monotonic() - t0
    log("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
