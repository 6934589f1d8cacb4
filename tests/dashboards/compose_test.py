#!/usr/bin/env python3
"""Checks docker-compose.yml, the GPU override, dashboards/prometheus.yml, the
Grafana provisioning, the dashboards' JSON and the Dockerfile against each
other and against what the ringmaster binary expects (its default ports, read
from `ringmaster coordinator --help` and `ringmaster worker --help`). Runs
the real `docker-compose config` and `promtool check config`; needs no
Docker engine. Usage: compose_test.py --bin build/bin/ringmaster --source ."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

ARGS = None


def run(cmd, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.pop("RINGMASTER_TOKEN", None)
    env.pop("GRAFANA_ADMIN_PASSWORD", None)
    env.update(env_extra or {})
    return subprocess.run(cmd, cwd=cwd or ARGS.source, env=env, capture_output=True, text=True,
                          timeout=60)


def default_of(subcommand, option):
    out = run([ARGS.bin, subcommand, "--help"]).stdout
    m = re.search(re.escape(option) + r" [A-Z]+(?::[^=\n]*)?=(\S+)", out)
    assert m, f"no default for {option} in `ringmaster {subcommand} --help`:\n{out}"
    return m.group(1)


def flags(command):
    """["--port=8080", ...] -> {"--port": "8080"}"""
    out = {}
    for arg in command:
        if arg.startswith("--") and "=" in arg:
            k, v = arg.split("=", 1)
            out[k] = v
    return out


def ports(service):
    """[(host ip, published, target)] from either port syntax."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published")), int(p["target"])))
        else:
            parts = str(p).split("/")[0].split(":")
            ip = parts[0] if len(parts) == 3 else ""
            out.append((ip, parts[-2], int(parts[-1])))
    return out


def mounts(service):
    """{container path: source} for "src:dst[:ro]" volumes."""
    out = {}
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out[v["target"]] = v.get("source")
        else:
            parts = v.split(":")
            out[parts[1]] = parts[0]
    return out


def dockerfile():
    """The Dockerfile's text and its ARG defaults ({name: value})."""
    with open(os.path.join(ARGS.source, "Dockerfile")) as f:
        text = f.read()
    return text, dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = {"RINGMASTER_TOKEN": "test-token", "GRAFANA_ADMIN_PASSWORD": "test-password"}
        r = run(["docker-compose", "-f", "docker-compose.yml", "config"], env)
        assert r.returncode == 0, r.stderr
        cls.compose = yaml.safe_load(r.stdout)
        cls.services = cls.compose["services"]
        r = run(["docker-compose", "-f", "docker-compose.yml", "-f", "docker-compose.gpu.yml",
                 "config"], env)
        assert r.returncode == 0, r.stderr
        cls.gpu = yaml.safe_load(r.stdout)["services"]
        with open(os.path.join(ARGS.source, "dashboards", "prometheus.yml")) as f:
            cls.prom = yaml.safe_load(f)
        cls.coordinator_port = int(default_of("coordinator", "--port"))
        zmq = default_of("coordinator", "--zmq")
        cls.zmq_port = int(zmq.rsplit(":", 1)[1])
        cls.worker_metrics_port = int(default_of("worker", "--metrics-port"))

    def test_config_is_valid_and_needs_the_secrets(self):
        self.assertEqual(set(self.services),
                         {"keys", "coordinator", "worker", "prometheus", "grafana"})
        r = run(["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
                {"GRAFANA_ADMIN_PASSWORD": "x"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("RINGMASTER_TOKEN", r.stderr)
        # Grafana is behind a profile, so the stack without it needs no
        # password; Grafana itself refuses to start without one.
        r = run(["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
                {"RINGMASTER_TOKEN": "x"})
        self.assertEqual(r.returncode, 0, r.stderr)
        g = self.services["grafana"]
        self.assertEqual(g["profiles"], ["grafana"])
        guard = " ".join(g["entrypoint"]).replace("$$", "$")  # compose keeps $$ escaped
        self.assertIn('[ -n "$GF_SECURITY_ADMIN_PASSWORD" ] ||', guard)
        self.assertIn("exit 1", guard)
        self.assertTrue(guard.rstrip().endswith("exec /run.sh"), guard)

    def test_image_defaults_match_the_dockerfile(self):
        _, defaults = dockerfile()
        for service in ("keys", "coordinator", "worker"):
            args = self.services[service]["build"]["args"]
            for name in ("BUILD_IMAGE", "RUN_IMAGE"):
                self.assertEqual(args[name], defaults[name], (service, name))
        self.assertEqual(self.services["prometheus"]["build"]["args"]["BASE_IMAGE"],
                         "debian:bookworm")

    def test_coordinator_uses_the_default_ports_and_a_token(self):
        c = self.services["coordinator"]
        f = flags(c["command"])
        self.assertEqual(c["command"][0], "coordinator")
        self.assertEqual(int(f["--port"]), self.coordinator_port)
        self.assertEqual(f["--zmq"], f"tcp://0.0.0.0:{self.zmq_port}")
        self.assertEqual(f["--host"], "0.0.0.0")  # non-loopback: needs the token
        self.assertEqual(c["environment"]["RINGMASTER_TOKEN"], "test-token")
        self.assertIn(("127.0.0.1", str(self.coordinator_port), self.coordinator_port),
                      ports(c))
        health = " ".join(c["healthcheck"]["test"])
        self.assertIn(f"127.0.0.1:{self.coordinator_port}/healthz", health)
        self.assertTrue(f["--checkpoint-root"].startswith("/var/lib/ringmaster"))
        self.assertIn("/var/lib/ringmaster", mounts(c))
        # A control plane on 0.0.0.0 needs CURVE: the keys service makes them
        # in the shared volume first.
        keys = " ".join(self.services["keys"]["entrypoint"])
        for flag, made in (("--curve-key", "coordinator.key"),
                           ("--allow-workers", "workers.allow")):
            self.assertTrue(f[flag].startswith("/var/lib/ringmaster/keys/"), f)
            self.assertIn(os.path.basename(f[flag]), made)
            self.assertIn(made, keys)
        self.assertEqual(c["depends_on"]["keys"]["condition"], "service_completed_successfully")

    def test_workers_scale_and_reach_the_coordinator(self):
        w = self.services["worker"]
        self.assertNotIn("container_name", w)
        self.assertNotIn("ports", w)
        f = flags(w["command"])
        # The ring listens on the container's own address: the entrypoint
        # hands `hostname -i` to --host, then the command's flags.
        entry = " ".join(w["entrypoint"]).replace("$$", "$")
        self.assertIn('exec ringmaster worker --host="$(hostname -i', entry)
        self.assertTrue(entry.endswith('"$@" worker'), entry)
        self.assertNotIn("--host", f)
        self.assertEqual(f["--coordinator"], f"tcp://coordinator:{self.zmq_port}")
        self.assertEqual(int(f["--metrics-port"]), self.worker_metrics_port)
        self.assertEqual(f["--metrics-host"], "0.0.0.0")
        self.assertEqual(w["depends_on"]["coordinator"]["condition"], "service_healthy")
        self.assertEqual(f["--curve-key"], "/var/lib/ringmaster/keys/worker.key")
        self.assertEqual(f["--coordinator-key"], "/var/lib/ringmaster/keys/coordinator.pub")
        # Same volume at the same path as the coordinator: checkpoints agree.
        self.assertEqual(mounts(w)["/var/lib/ringmaster"],
                         mounts(self.services["coordinator"])["/var/lib/ringmaster"])
        self.assertNotIn("deploy", w)  # GPUs only with the override

    def test_gpu_override_reserves_gpus_for_workers(self):
        devices = self.gpu["worker"]["deploy"]["resources"]["reservations"]["devices"]
        self.assertEqual(devices[0]["driver"], "nvidia")
        self.assertIn("gpu", devices[0]["capabilities"])
        self.assertNotIn("deploy", self.gpu["coordinator"])

    def test_prometheus_scrapes_what_the_services_serve(self):
        p = self.services["prometheus"]
        m = mounts(p)
        entry = " ".join(p["entrypoint"])
        conf = re.search(r"--config\.file=(\S+)", entry).group(1)
        conf_dir = os.path.dirname(conf)
        self.assertTrue(m[conf_dir].endswith("/dashboards"), m)
        jobs = {j["job_name"]: j for j in self.prom["scrape_configs"]}
        coord = jobs["ringmaster-coordinator"]
        self.assertEqual(coord["static_configs"][0]["targets"],
                         [f"coordinator:{self.coordinator_port}"])
        token_file = coord["authorization"]["credentials_file"]
        self.assertIn(f"> {token_file}", entry)  # the entrypoint writes it
        self.assertEqual(p["environment"]["RINGMASTER_TOKEN"], "test-token")
        self.assertIn(os.path.dirname(token_file), m)  # on a writable volume
        workers = jobs["ringmaster-workers"]["dns_sd_configs"][0]
        self.assertEqual(workers["names"], ["worker"])
        self.assertEqual(workers["type"], "A")
        self.assertEqual(workers["port"], self.worker_metrics_port)
        for rules in self.prom["rule_files"]:
            self.assertTrue(os.path.exists(os.path.join(ARGS.source, "dashboards", rules)))

    def test_promtool_accepts_the_prometheus_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("prometheus.yml", "alerts.yml"):
                shutil.copy(os.path.join(ARGS.source, "dashboards", name), tmp)
            token = os.path.join(tmp, "token")
            with open(token, "w") as f:
                f.write("t")
            conf = os.path.join(tmp, "prometheus.yml")
            with open(conf) as f:
                text = f.read()
            with open(conf, "w") as f:  # the one path that exists only in the container
                f.write(text.replace("/prometheus/ringmaster-token", token))
            r = run(["promtool", "check", "config", conf])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_grafana_is_provisioned_with_the_datasource_and_dashboards(self):
        g = self.services["grafana"]
        self.assertEqual(g["environment"]["GF_SECURITY_ADMIN_PASSWORD"], "test-password")
        m = mounts(g)
        self.assertTrue(m["/etc/grafana/provisioning"].endswith("/dashboards/grafana/provisioning"))
        prov = os.path.join(ARGS.source, "dashboards", "grafana", "provisioning")
        with open(os.path.join(prov, "dashboards", "ringmaster.yml")) as f:
            path = yaml.safe_load(f)["providers"][0]["options"]["path"]
        self.assertTrue(m[path].endswith("/dashboards"), (path, m))
        with open(os.path.join(prov, "datasources", "prometheus.yml")) as f:
            ds = yaml.safe_load(f)["datasources"][0]
        self.assertEqual(ds["type"], "prometheus")
        self.assertEqual(ds["url"], "http://prometheus:9090")
        self.assertIn(9090, [t for _, _, t in ports(self.services["prometheus"])])
        home = g["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        self.assertTrue(home.startswith(path + "/"))
        self.assertTrue(os.path.exists(os.path.join(ARGS.source, "dashboards",
                                                    os.path.basename(home))))

    def test_dashboards_have_fixed_uids_and_the_variables(self):
        folder = os.path.join(ARGS.source, "dashboards")
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        self.assertEqual(names, ["cluster-overview.json", "gpu.json", "job-detail.json"])
        uids = set()
        for n in names:
            with open(os.path.join(folder, n)) as f:
                d = json.load(f)
            self.assertRegex(d["uid"], r"^ringmaster-[a-z]+$")
            uids.add(d["uid"])
            variables = {v["name"]: v for v in d["templating"]["list"]}
            for v in ("datasource", "job", "instance"):
                self.assertIn(v, variables, n)
            self.assertEqual(variables["datasource"]["type"], "datasource")
            self.assertTrue(d["panels"], n)
            for p in d["panels"]:
                self.assertEqual(p["datasource"]["uid"], "${datasource}", (n, p["title"]))
                for t in p["targets"]:
                    self.assertIn('job=~"$job"', t["expr"], (n, p["title"]))
                    self.assertIn('instance=~"$instance"', t["expr"], (n, p["title"]))
        self.assertEqual(len(uids), len(names))

    def test_dockerfile_builds_in_cuda_devel_and_runs_unprivileged(self):
        text, defaults = dockerfile()
        self.assertTrue(defaults["BUILD_IMAGE"].startswith("nvidia/cuda:"))
        self.assertIn("-devel-", defaults["BUILD_IMAGE"])
        self.assertTrue(defaults["RUN_IMAGE"].startswith("nvidia/cuda:"))
        self.assertIn("-runtime-", defaults["RUN_IMAGE"])
        stages = dict((name, base) for base, name in
                      re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M))
        self.assertEqual(stages, {"build": "${BUILD_IMAGE}", "data-fetch": "${RUN_IMAGE}",
                                  "binaries": "${BINARIES}", "data": "${DATA}",
                                  "run": "${RUN_IMAGE}"})
        self.assertEqual((defaults["BINARIES"], defaults["DATA"]), ("build", "data-fetch"))
        # Every source folder CMakeLists.txt adds is copied into the build stage.
        with open(os.path.join(ARGS.source, "CMakeLists.txt")) as f:
            folders = set(re.findall(r"^add_subdirectory\((\w+)\)", f.read(), re.M))
        copied = set(re.findall(r"^COPY (\w+) \1$", text, re.M))
        self.assertEqual(folders - {"fuzz"} - copied, set())
        run_stage = text.split("FROM ")[-1]
        user = re.search(r"^USER (\S+)", run_stage, re.M)
        self.assertTrue(user and user.group(1) not in ("root", "0"))
        exposed = {int(p) for p in re.findall(r"^EXPOSE (.*)$", run_stage, re.M)[0].split()}
        self.assertEqual(exposed, {self.coordinator_port, self.zmq_port,
                                   self.worker_metrics_port})
        self.assertIn("curl", run_stage)  # the compose health check runs it


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
