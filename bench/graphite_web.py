#!/usr/bin/env python3
"""eardrum and graphite-web 1.1.10 side by side: the same series, the same
/render requests, one run, ratios.

    cargo build --release
    python3 bench/graphite_web.py [--runs 5] [--series 1000] [--points 1000]

The data: SERIES series `host<N>.cpu`, POINTS points each, every 10 s,
ending a few minutes ago, in eardrum (put through the protocol, read with a
storage schema of 10s:2d, as whisper keeps them) and in whisper files of
10s:2d for graphite-web. graphite-web runs as it is deployed: gunicorn with
two sync workers (this machine has two cores), Django's dummy cache (no
answer is served from a cache), no memcached. eardrum runs with its
defaults. Each request is timed against one server then the other,
alternating which goes first, to the last byte of the reply on a new
connection; printed: medians, graphite-web / eardrum, and whether the two
answers hold the same series and values (to 1e-9).

graphite-web comes from PyPI into the virtual environment the differential
test makes (target/tmp/graphite-web-venv, Python 3.8; made here if
missing), with gunicorn added.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from processes import EARDRUM, free_port, put_all, wait_for_port

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
REFERENCE = os.path.join(ROOT, "crates", "server", "tests", "graphite_web")
VENV = os.path.join(ROOT, "target", "tmp", "graphite-web-venv")
STEP = 10
GUNICORN = "gunicorn==23.0.0"

QUERIES = [
    "target=host42.cpu",
    "target=sumSeries(host*.cpu)&maxDataPoints=1000",
    'target=summarize(host*.cpu,"1h","max")',
    "target=host*.cpu&maxDataPoints=1000",
    "target=movingAverage(host*.cpu,10)&maxDataPoints=1000",
    'target=groupByNode(host*.cpu,1,"sum")',
    "target=highestAverage(host*.cpu,10)",
    "target=aliasByNode(perSecond(host1*.cpu),0)",
    "target=asPercent(host1*.cpu)&maxDataPoints=500",
]

SETTINGS = """
SECRET_KEY = "eardrum-bench"
DEBUG = False
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
TIME_ZONE = "UTC"
TAGDB = "graphite.tags.localdatabase.LocalDatabaseTagDB"
# Every request computed, none served from a cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
"""


def python38():
    """Python 3.8, which graphite-web 1.1.10's Django needs."""
    if shutil.which("python3.8"):
        return "python3.8"
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    versions = os.path.join(root, "versions")
    for version in sorted(os.listdir(versions)) if os.path.isdir(versions) else []:
        if version.startswith("3.8"):
            return os.path.join(versions, version, "bin", "python3.8")
    sys.exit("Python 3.8 is missing (graphite-web 1.1.10 needs it): install it, e.g. `pyenv install 3.8`")


def reference_python():
    """The virtual environment's Python, with graphite-web and gunicorn."""
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([python38(), "-m", "venv", VENV], check=True)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run([python, "-c", "import graphite, whisper"], capture_output=True).returncode != 0:
        subprocess.run(pip + ["-r", os.path.join(REFERENCE, "requirements.txt")], check=True)
    if subprocess.run([python, "-c", "import gunicorn"], capture_output=True).returncode != 0:
        subprocess.run(pip + [GUNICORN], check=True)
    return python


def value(series, t):
    return (series * 7 + t) % 1000 / 10


def fill_eardrum(port, start, series, points):
    """Puts every point, pipelined, and reads every reply."""
    put_all(port, [
        f"put host{s}.cpu {value(s, t)} {start + t * STEP}\n" for t in range(points) for s in range(series)
    ])


def fill_whisper(python, storage, start, series, points):
    """The same points in whisper files of 10s:2d, as carbon would write them."""
    script = """
import os, sys, whisper
storage, start, series, points, step = sys.argv[1], *map(int, sys.argv[2:])
for s in range(series):
    path = os.path.join(storage, "whisper", f"host{s}", "cpu.wsp")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(step, 2 * 86400 // step)], xFilesFactor=0.5, aggregationMethod="average")
    whisper.update_many(path, [(start + t * step, (s * 7 + t) % 1000 / 10) for t in range(points)])
"""
    subprocess.run([python, "-c", script, storage, str(start), str(series), str(points), str(STEP)], check=True)


def start_graphite_web(python, storage, settings_dir, port):
    env = dict(
        os.environ,
        GRAPHITE_STORAGE_DIR=storage,
        GRAPHITE_SETTINGS_MODULE="bench_settings",
        DJANGO_SETTINGS_MODULE="graphite.settings",
        PYTHONPATH=settings_dir,
    )
    os.makedirs(os.path.join(storage, "log", "webapp"), exist_ok=True)
    migrate = "import django; django.setup(); from django.core.management import call_command; " \
              "call_command('migrate', verbosity=0, run_syncdb=True)"
    subprocess.run([python, "-c", migrate], env=env, check=True, capture_output=True)
    gunicorn = os.path.join(os.path.dirname(python), "gunicorn")
    process = subprocess.Popen(
        [gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "300", "graphite.wsgi:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return process


def fetch(port, query, time_range):
    """Seconds to the last byte, and the parsed reply (None if refused)."""
    pairs = urllib.parse.parse_qsl(f"{query}&{time_range}&format=json")
    url = f"http://127.0.0.1:{port}/render?{urllib.parse.urlencode(pairs)}"
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        return time.perf_counter() - started, f"HTTP {error.code}"
    return time.perf_counter() - started, json.loads(body)


def same(ours, theirs):
    """Whether two /render replies hold the same series, points and values."""
    if not isinstance(ours, list) or not isinstance(theirs, list) or len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if a["target"] != b["target"] or len(a["datapoints"]) != len(b["datapoints"]):
            return False
        for (x, t), (y, u) in zip(a["datapoints"], b["datapoints"]):
            if t != u or (x is None) != (y is None) or (x is not None and not math.isclose(x, y, abs_tol=1e-9)):
                return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--eardrum", default=EARDRUM)
    args = parser.parse_args()
    python = reference_python()
    work = tempfile.mkdtemp(prefix="eardrum-vs-graphite-")
    processes = []
    try:
        now = int(time.time())
        start = now - now % 3600 - args.points * STEP
        time_range = f"from={start - STEP}&until={start + args.points * STEP}"
        with open(os.path.join(work, "bench_settings.py"), "w") as f:
            f.write(SETTINGS)
        with open(os.path.join(work, "storage-schemas.conf"), "w") as f:
            f.write("[everything]\npattern = .*\nretentions = 10s:2d\n")
        with open(os.path.join(work, "storage-aggregation.conf"), "w") as f:
            f.write("[everything]\npattern = .*\nxFilesFactor = 0.5\naggregationMethod = average\n")
        storage = os.path.join(work, "graphite")
        fill_whisper(python, storage, start, args.series, args.points)
        graphite_port = free_port()
        processes.append(start_graphite_web(python, storage, work, graphite_port))
        port, http = free_port(), free_port()
        processes.append(subprocess.Popen(
            [args.eardrum, "serve", "--data-dir", os.path.join(work, "eardrum"), "--port", str(port),
             "--http-port", str(http), "--graphite-port", "0",
             "--storage-schemas", os.path.join(work, "storage-schemas.conf"),
             "--storage-aggregation", os.path.join(work, "storage-aggregation.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(http)
        fill_eardrum(port, start, args.series, args.points)
        servers = {"eardrum": http, "graphite-web": graphite_port}
        print(f"{args.series} series x {args.points} points, {time_range}; medians of {args.runs} runs")
        print(f"  {'query':<58} {'eardrum':>10} {'graphite-web':>13} {'ratio':>7}  same answer")
        for query in QUERIES:
            times = {name: [] for name in servers}
            answers = {}
            # Warm: each of graphite-web's workers answers it once.
            for name, port_of in servers.items():
                for _ in range(2):
                    answers[name] = fetch(port_of, query, time_range)[1]
            for run in range(args.runs):
                order = list(servers) if run % 2 == 0 else list(reversed(servers))
                for name in order:
                    times[name].append(fetch(servers[name], query, time_range)[0])
            ours = statistics.median(times["eardrum"]) * 1000
            theirs = statistics.median(times["graphite-web"]) * 1000
            agree = "yes" if same(answers["eardrum"], answers["graphite-web"]) else "NO"
            print(f"  {query:<58} {ours:8.1f} ms {theirs:10.1f} ms {theirs / ours:7.1f}  {agree}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
