#!/usr/bin/env python3
"""eardrum against the do-nothing ceiling, interleaved, medians and ratios.

    bench/ceiling.py [--runs 5] [--window 64] [--points 100] [--series 10000]

Each run starts, in turn: `eardrum bench --serve` (eardrum with its defaults
on a fresh data folder, CPU and peak RSS measured), and `eardrum bench`
against the null server example (parses nothing, answers `ok` to every line)
with tokio's default worker threads and with one, as eardrum's default uses
one on a 2-CPU machine. Runs alternate so that a noisy machine's slow
moments fall on all of them alike; the figures are medians per column and
the ratios are of those medians.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EARDRUM = ROOT / "target/release/eardrum"
NULL_SERVER = ROOT / "target/release/examples/null_server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(output):
    """The figures `eardrum bench` prints, as a dict."""
    figures = {}
    patterns = {
        "rate": r"([\d.]+) M samples/s",
        "cpu_us": r"= ([\d.]+) µs per sample",
        "rss_mib": r"peak RSS ([\d.]+) MiB",
        "p50_ms": r"latency\s+p50 ([\d.]+) ms",
        "p99_ms": r"p99 ([\d.]+) ms",
        "p999_ms": r"p99\.9 ([\d.]+) ms",
        "get_one_ms": r"rows, p50 ([\d.]+) ms",
        "get_all_s": r"get \*: \d+ rows, [\d.]+ MiB in ([\d.]+) s",
    }
    for name, pattern in patterns.items():
        match = re.search(pattern, output)
        if match:
            figures[name] = float(match.group(1))
    return figures


def bench(args, extra):
    command = [str(EARDRUM), "bench", "--window", str(args.window), "--points", str(args.points),
               "--series", str(args.series), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse(done.stdout + done.stderr)


def against_null(args, threads):
    port = free_port()
    env = dict(os.environ)
    if threads:
        env["TOKIO_WORKER_THREADS"] = str(threads)
    server = subprocess.Popen([str(NULL_SERVER), str(port)], stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        return bench(args, ["--port", str(port), "--no-query"])
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--series", type=int, default=10_000)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "eardrum", "-p", "eardrum-server",
                    "--bins", "--examples"], cwd=ROOT, check=True)

    columns = {"eardrum": [], "null (default threads)": [], "null (1 thread)": []}
    for run in range(args.runs):
        columns["eardrum"].append(bench(args, ["--serve"]))
        columns["null (default threads)"].append(against_null(args, 0))
        columns["null (1 thread)"].append(against_null(args, 1))
        rates = ", ".join(f"{name} {runs[-1].get('rate', 0):.3f}" for name, runs in columns.items())
        print(f"run {run + 1}: M samples/s: {rates}", file=sys.stderr)

    def median(name, figure):
        values = [run[figure] for run in columns[name] if figure in run]
        return statistics.median(values) if values else None

    print(f"window {args.window}, {args.series} series x {args.points} points, medians of {args.runs} runs")
    for name in columns:
        print(f"  {name:24} {median(name, 'rate'):.3f} M acknowledged samples/s")
    ours = median("eardrum", "rate")
    for name in list(columns)[1:]:
        print(f"  eardrum / {name}: {ours / median(name, 'rate'):.2f}")
    for figure, unit in [("cpu_us", "µs server CPU per sample"), ("rss_mib", "MiB server peak RSS"),
                         ("p50_ms", "ms latency p50"), ("p99_ms", "ms latency p99"),
                         ("p999_ms", "ms latency p99.9"), ("get_one_ms", "ms get of one key, p50"),
                         ("get_all_s", "s get * to the last byte")]:
        value = median("eardrum", figure)
        if value is not None:
            print(f"  eardrum {unit}: {value:g}")


if __name__ == "__main__":
    main()
