#!/usr/bin/env python3
"""eardrum and VictoriaMetrics side by side: the same fleet workload, one run, ratios.

Run through bench/side_by_side.sh, which installs VictoriaMetrics (Debian's
victoria-metrics package) and builds eardrum first.

eardrum takes the workload over its own protocol from `eardrum bench` (4
connections, window 64); its `ok` means stored and readable, so ingest ends
at the last `ok`. VictoriaMetrics takes the very same points as Graphite
plaintext from `eardrum bench --graphite`, and ingest ends only when a query
counts every sample (time to visibility). Both servers run on this machine
with the load generator; CPU seconds and peak RSS come from /proc.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from processes import EARDRUM, cpu_seconds, folder_bytes, free_port, peak_rss, wait_for_port

START = 1_700_000_000


def http_get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read()


def bench(args, extra):
    command = [EARDRUM, "bench", "--series", str(args.series), "--points", str(args.points), "--json"] + extra
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"eardrum bench failed: {done.stderr}")
    return json.loads(done.stdout)


def run_eardrum(args, work):
    port, data = free_port(), os.path.join(work, "eardrum")
    server = subprocess.Popen(
        [EARDRUM, "serve", "--port", str(port), "--http-port", "0", "--graphite-port", "0", "--data-dir", data],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    before = cpu_seconds(server.pid)
    report = bench(args, ["--port", str(port)])
    cpu = cpu_seconds(server.pid) - before
    rss = peak_rss(server.pid)
    server.send_signal(signal.SIGTERM)  # final checkpoint: blocks on disk, log deleted
    server.wait(timeout=120)
    total = args.series * args.points
    if report["acknowledged"] != total or report["query"]["all_rows"] != total:
        sys.exit(f"eardrum lost points: {report}")
    return {
        "ingest_seconds": report["seconds"],
        "cpu_seconds": cpu,
        "peak_rss": rss,
        "disk_bytes": folder_bytes(data),
        "get_all_seconds": report["query"]["all_seconds"],
        "get_one_seconds": report["query"]["one_key_p50_seconds"],
    }


def run_victoria(args, work):
    graphite, http, data = free_port(), free_port(), os.path.join(work, "victoria")
    server = subprocess.Popen(
        ["victoria-metrics", f"-storageDataPath={data}", f"-graphiteListenAddr=127.0.0.1:{graphite}",
         f"-httpListenAddr=127.0.0.1:{http}", "-retentionPeriod=100y", "-loggerLevel=ERROR"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(http)
        wait_for_port(graphite)
        base = f"http://127.0.0.1:{http}"
        total = args.series * args.points
        end = START + args.points * 10 + 60
        count_query = base + "/api/v1/query?" + urllib.parse.urlencode({
            "query": 'sum(count_over_time({__name__=~".+"}[%ds]))' % (args.points * 10 + 120),
            "time": end, "nocache": 1})
        before = cpu_seconds(server.pid)
        started = time.time()
        bench(args, ["--graphite", "--port", str(graphite), "--no-query"])
        counted = 0
        while counted < total:
            if time.time() - started > 600:
                sys.exit(f"VictoriaMetrics shows {counted} of {total} samples after 10 minutes")
            result = json.loads(http_get(count_query))["data"]["result"]
            counted = int(float(result[0]["value"][1])) if result else 0
            if counted < total:
                time.sleep(0.1)
        visible = time.time() - started
        cpu = cpu_seconds(server.pid) - before
        rss = peak_rss(server.pid)
        export = base + "/api/v1/export?" + urllib.parse.urlencode({"match[]": '{__name__=~".+"}', "start": 0})
        t = time.time()
        exported = sum(len(json.loads(line)["values"]) for line in http_get(export).splitlines())
        get_all = time.time() - t
        if exported != total:
            sys.exit(f"VictoriaMetrics exported {exported} of {total} samples")
        one = base + "/api/v1/export?" + urllib.parse.urlencode({"match[]": "host0.cpu.user", "start": 0})
        times = []
        for _ in range(20):
            t = time.time()
            http_get(one)
            times.append(time.time() - t)
        http_get(base + "/internal/force_flush")
        time.sleep(1)
        return {
            "ingest_seconds": visible,
            "cpu_seconds": cpu,
            "peak_rss": rss,
            "disk_bytes": folder_bytes(data),
            "get_all_seconds": get_all,
            "get_one_seconds": sorted(times)[len(times) // 2],
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args()
    total = args.series * args.points
    work = tempfile.mkdtemp(prefix="eardrum-side-by-side-")
    try:
        ours = run_eardrum(args, work)
        theirs = run_victoria(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        ("ingest until visible, samples/s", total / ours["ingest_seconds"], total / theirs["ingest_seconds"], True),
        ("server CPU, us per sample", ours["cpu_seconds"] * 1e6 / total, theirs["cpu_seconds"] * 1e6 / total, False),
        ("server peak RSS, MiB", ours["peak_rss"] / 2**20, theirs["peak_rss"] / 2**20, False),
        ("disk, bytes per sample", ours["disk_bytes"] / total, theirs["disk_bytes"] / total, False),
        ("read everything, s (get * / export)", ours["get_all_seconds"], theirs["get_all_seconds"], False),
        ("read one series, ms", ours["get_one_seconds"] * 1e3, theirs["get_one_seconds"] * 1e3, False),
    ]
    print(f"{args.series} series x {args.points} points = {total} samples, same points to both")
    print(f"{'figure':40} {'eardrum':>12} {'VictoriaMetrics':>16} {'ratio':>8}")
    for name, mine, other, higher_is_better in rows:
        ratio = (mine / other) if other else float("nan")
        print(f"{name:40} {mine:12.3f} {other:16.3f} {ratio:8.2f}x")
    print("ratio = eardrum / VictoriaMetrics; for ingest higher is better, for the rest lower is")


if __name__ == "__main__":
    main()
