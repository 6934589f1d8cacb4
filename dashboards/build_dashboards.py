#!/usr/bin/env python3
"""Writes the Grafana dashboards (cluster-overview.json, job-detail.json,
gpu.json) in this folder. The JSON files are what Grafana loads and what
tests/integration/dashboards_test.cpp checks against a real Prometheus; edit
this script and run it (python3 dashboards/build_dashboards.py), then commit
both. A panel whose data needs something this machine may lack says so in its
description with "(needs: gpu)", "(needs: multi-worker)" or "(needs: task
figures)" (a job whose task reports its own test figures: detection, language
models); the test reads that tag."""
import json
import os

SEL = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"


def ds():
    return {"type": "prometheus", "uid": "${datasource}"}


def variables(extra=()):
    v = [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
        {"name": "job", "label": "Prometheus job", "type": "query", "datasource": ds(),
         "definition": 'label_values(up{job=~"ringmaster.*"}, job)',
         "query": {"query": 'label_values(up{job=~"ringmaster.*"}, job)', "refId": "job"},
         "includeAll": True, "allValue": ".*", "multi": True, "refresh": 2,
         "current": {"text": "All", "value": "$__all"}, "hide": 0, "sort": 1},
        {"name": "instance", "label": "Instance", "type": "query", "datasource": ds(),
         "definition": 'label_values(up{job=~"$job"}, instance)',
         "query": {"query": 'label_values(up{job=~"$job"}, instance)', "refId": "instance"},
         "includeAll": True, "allValue": ".*", "multi": True, "refresh": 2,
         "current": {"text": "All", "value": "$__all"}, "hide": 0, "sort": 1},
    ]
    return v + list(extra)


class Board:
    def __init__(self, uid, title, description, extra_vars=()):
        self.uid, self.title, self.description = uid, title, description
        self.extra_vars = extra_vars
        self.panels = []
        self.y = 0
        self.x = 0

    def panel(self, title, exprs, unit="short", kind="timeseries", desc="", w=12, h=8,
              minv=None, maxv=None):
        if self.x + w > 24:
            self.x = 0
            self.y += h
        targets = []
        for i, (expr, legend) in enumerate(exprs):
            targets.append({"datasource": ds(), "expr": expr, "legendFormat": legend,
                            "refId": chr(ord("A") + i), "range": True})
        defaults = {"unit": unit}
        if minv is not None:
            defaults["min"] = minv
        if maxv is not None:
            defaults["max"] = maxv
        p = {"id": len(self.panels) + 1, "type": kind, "title": title, "description": desc,
             "datasource": ds(), "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
             "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
             "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                         "tooltip": {"mode": "multi"}} if kind == "timeseries" else
                        {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                           "values": False}}}
        self.panels.append(p)
        self.x += w

    def json(self):
        return {"uid": self.uid, "title": self.title, "description": self.description,
                "tags": ["ringmaster"], "timezone": "browser", "schemaVersion": 38,
                "version": 1, "editable": True, "refresh": "10s",
                "time": {"from": "now-1h", "to": "now"},
                "templating": {"list": variables(self.extra_vars)},
                "annotations": {"list": []}, "panels": self.panels}


def cluster():
    b = Board("ringmaster-cluster", "ringmaster / Cluster overview",
              "Workers, queue, jobs by state, submissions and scheduling latency.")
    b.panel("Workers by state", [(f'sum by (state) (ringmaster_workers{{{SEL}}})', "{{state}}")],
            kind="stat", w=8, h=5)
    b.panel("Queue: pending jobs", [
        (f'sum(ringmaster_jobs{{state="PENDING", {SEL}}})', "pending"),
        (f'sum(ringmaster_jobs_unschedulable{{{SEL}}})', "unschedulable")], kind="stat", w=8, h=5)
    b.panel("Jobs running", [(f'sum(ringmaster_jobs{{state="RUNNING", {SEL}}})', "running")],
            kind="stat", w=8, h=5)
    b.panel("Jobs by state", [(f'sum by (state) (ringmaster_jobs{{{SEL}}})', "{{state}}")])
    b.panel("Seconds since last heartbeat",
            [(f'ringmaster_worker_last_heartbeat_age_seconds{{{SEL}}}', "{{worker_id}}")],
            unit="s", desc="Per worker, as the coordinator sees it; a worker silent for the "
            "heartbeat timeout (5 s) is dead.")
    b.panel("Submissions and rejections", [
        (f'sum(rate(ringmaster_jobs_submitted_total{{{SEL}}}[{RATE}]))', "submitted"),
        (f'sum by (reason) (rate(ringmaster_jobs_rejected_total{{{SEL}}}[{RATE}]))',
         "rejected: {{reason}}")], unit="reqps")
    b.panel("Jobs finished", [
        (f'sum by (state) (increase(ringmaster_jobs_finished_total{{{SEL}}}[{RATE}]))',
         "{{state}}")])
    b.panel("Scheduling decision latency", [
        (f'histogram_quantile(0.5, sum by (le) (rate(ringmaster_scheduling_decision_seconds_bucket{{{SEL}}}[{RATE}])))', "p50"),
        (f'histogram_quantile(0.99, sum by (le) (rate(ringmaster_scheduling_decision_seconds_bucket{{{SEL}}}[{RATE}])))', "p99")],
        unit="s", desc="Snapshot, queue and placement; empty while nothing changes (no passes).")
    b.panel("Scrape targets up", [(f'up{{{SEL}}}', "{{job}} {{instance}}")], minv=0, maxv=1)
    b.panel("Process CPU", [(f'rate(process_cpu_seconds_total{{{SEL}}}[{RATE}])',
                             "{{job}} {{instance}}")], unit="percentunit")
    b.panel("Process resident memory", [(f'process_resident_memory_bytes{{{SEL}}}',
                                         "{{job}} {{instance}}")], unit="bytes")
    return b


def job_detail():
    job_var = {"name": "job_id", "label": "ringmaster job", "type": "query", "datasource": ds(),
               "definition": 'label_values(ringmaster_job_epoch{job=~"$job"}, job_id)',
               "query": {"query": 'label_values(ringmaster_job_epoch{job=~"$job"}, job_id)',
                         "refId": "job_id"},
               "includeAll": False, "multi": False, "refresh": 2, "current": {}, "hide": 0,
               "sort": 3}
    J = 'job_id="$job_id", ' + SEL
    b = Board("ringmaster-job", "ringmaster / Job detail",
              "One job's training curves (from the workers' progress reports, exported by the "
              "coordinator) and the communication of the workers that run it.", [job_var])
    b.panel("Loss", [(f'ringmaster_job_loss{{{J}}}', "{{split}}")])
    b.panel("Accuracy", [(f'ringmaster_job_accuracy_ratio{{{J}}}', "{{split}}")],
            unit="percentunit", minv=0, maxv=1)
    b.panel("Throughput", [(f'sum(rate(ringmaster_job_samples_total{{{J}}}[{RATE}]))',
                            "samples/s")], unit="short")
    b.panel("Step time", [
        (f'histogram_quantile(0.5, sum by (le) (rate(ringmaster_job_step_seconds_bucket{{{J}}}[{RATE}])))', "p50"),
        (f'histogram_quantile(0.99, sum by (le) (rate(ringmaster_job_step_seconds_bucket{{{J}}}[{RATE}])))', "p99"),
        (f'sum(rate(ringmaster_job_step_seconds_sum{{{J}}}[{RATE}])) / sum(rate(ringmaster_job_step_seconds_count{{{J}}}[{RATE}]))', "mean")],
        unit="s")
    b.panel("Learning rate", [(f'ringmaster_job_learning_rate{{{J}}}', "lr")], w=8)
    b.panel("Epoch", [(f'ringmaster_job_epoch{{{J}}}', "epoch")], kind="stat", w=4)
    b.panel("Samples trained", [(f'sum(ringmaster_job_samples_total{{{J}}})', "samples")],
            kind="stat", w=12)
    figures = " (needs: task figures)"
    b.panel("Test figures", [
        (f'ringmaster_job_test_figure{{figure!~"ap50_class_.*", {J}}}', "{{figure}}")],
        desc="The task's own figures on the test split after each epoch: detection "
             "map50 (VOC mAP@0.5) and map (COCO mAP@[.5:.95]); language models perplexity "
             "and bits_per_char." + figures)
    b.panel("Detection AP@0.5 per class", [
        (f'ringmaster_job_test_figure{{figure=~"ap50_class_.*", {J}}}', "{{figure}}")],
        minv=0, maxv=1,
        desc="Each class's average precision at IoU 0.5 on the test split (classes with "
             "true boxes there), after each epoch." + figures)
    needs = (" Comm series are per process, not per job (a worker runs one task at a time): "
             "pick the job's workers with the instance variable. (needs: multi-worker)")
    b.panel("Communication time (p99)", [
        (f'histogram_quantile(0.99, sum by (le, mode, compression) (rate(ringmaster_comm_duration_seconds_bucket{{{SEL}}}[{RATE}])))', "{{mode}} {{compression}}")],
        unit="s", desc="All-reduce of one bucket, or one parameter-server push/pull." + needs)
    b.panel("Communication bytes", [
        (f'sum by (mode, compression) (rate(ringmaster_comm_wire_bytes_total{{{SEL}}}[{RATE}]))', "{{mode}} {{compression}}")],
        unit="Bps", desc="Bytes on the wire per second." + needs)
    b.panel("Compression ratio (wire / payload)", [
        (f'sum by (mode) (rate(ringmaster_comm_wire_bytes_total{{compression="fp16", {SEL}}}[{RATE}])) / sum by (mode) (rate(ringmaster_comm_payload_bytes_total{{compression="fp16", {SEL}}}[{RATE}]))', "{{mode}} fp16")],
        unit="percentunit", desc="About 0.5 with fp16 compression." + needs)
    b.panel("Communication operations", [
        (f'sum by (mode, compression) (rate(ringmaster_comm_duration_seconds_count{{{SEL}}}[{RATE}]))', "{{mode}} {{compression}}")],
        unit="ops", desc="Collective operations per second." + needs)
    return b


def gpu():
    b = Board("ringmaster-gpu", "ringmaster / GPUs",
              "GPU utilisation and memory from NVML on each worker (no series where there is "
              "no NVIDIA driver; ringmaster_gpus then reads 0).")
    b.panel("GPUs found (NVML)", [(f'sum by (instance) (ringmaster_gpus{{{SEL}}})', "{{instance}}")],
            kind="stat", w=12, h=5)
    b.panel("GPUs offered by workers", [(f'sum by (instance) (ringmaster_worker_gpus{{{SEL}}})',
                                         "{{instance}}")], kind="stat", w=12, h=5)
    b.panel("GPU utilisation", [(f'ringmaster_gpu_utilization_ratio{{{SEL}}}',
                                 "{{instance}} gpu{{gpu}}")], unit="percentunit", minv=0, maxv=1,
            desc="Fraction of time a kernel ran. (needs: gpu)")
    b.panel("GPU memory used", [(f'ringmaster_gpu_memory_used_bytes{{{SEL}}}',
                                 "{{instance}} gpu{{gpu}}")], unit="bytes",
            desc="(needs: gpu)")
    b.panel("GPU memory used (ratio)", [
        (f'ringmaster_gpu_memory_used_bytes{{{SEL}}} / ringmaster_gpu_memory_total_bytes{{{SEL}}}',
         "{{instance}} gpu{{gpu}}")], unit="percentunit", minv=0, maxv=1, desc="(needs: gpu)")
    return b


here = os.path.dirname(os.path.abspath(__file__))
for name, board in (("cluster-overview.json", cluster()), ("job-detail.json", job_detail()),
                    ("gpu.json", gpu())):
    with open(os.path.join(here, name), "w") as f:
        json.dump(board.json(), f, indent=2)
        f.write("\n")
