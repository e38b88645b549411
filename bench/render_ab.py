#!/usr/bin/env python3
"""Graphite /render with two eardrum builds, put side by side on the same
data folder: BENCHMARKS.md's render queries, the builds taking turns.

    bench/render_ab.py OLD_BINARY NEW_BINARY [--runs 5] [--rounds 3] [--storage-schemas FILE]

The data: 1,000 series `host<N>.cpu`, 1,000 points each, every 10 s from
1700000000 (1,000,000 points), put through the protocol once. Each round
starts each build on the folder in turn and times every query --runs times
(time to the last byte); printed: the medians over all rounds, and new/old.
"""

import argparse
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

sys.path.insert(0, os.path.dirname(__file__))
from processes import free_port, put_all, wait_for_port  # noqa: E402

QUERIES = [
    "target=host42.cpu",
    "target=sumSeries(host*.cpu)&maxDataPoints=1000",
    'target=summarize(host*.cpu,"1h","max")',
    "target=host*.cpu&maxDataPoints=1000",
    "target=movingAverage(host*.cpu,10)&maxDataPoints=1000",
    "target=groupByNode(host*.cpu,1,\"sum\")",
]
RANGE = "from=1699999990&until=1700010000"


def fill(port):
    """Puts the million points, pipelined, and reads every reply."""
    put_all(port, [
        f"put host{s}.cpu {(s * 7 + t) % 1000 / 10} {1_700_000_000 + t * 10}\n"
        for t in range(1000) for s in range(1000)
    ])


def serve(binary, data, port, http, schemas=None):
    extra = ["--storage-schemas", schemas] if schemas else []
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--port", str(port), "--http-port", str(http),
         "--graphite-port", "0", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(http)
    return process


def timed(http, query):
    """Seconds to the last byte; None when the build refuses the query."""
    pairs = urllib.parse.parse_qsl(f"{query}&{RANGE}")
    url = f"http://127.0.0.1:{http}/render?{urllib.parse.urlencode(pairs)}"
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url) as response:
            response.read()
    except urllib.error.HTTPError:
        return None
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage-schemas", help="a storage-schemas.conf both builds read with")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="eardrum-render-")
    try:
        port, http = free_port(), free_port()
        loader = serve(args.new, data, port, http)
        wait_for_port(port)
        fill(port)
        loader.terminate()
        loader.wait()
        times = {name: {query: [] for query in QUERIES} for name in ("old", "new")}
        for round_number in range(args.rounds):
            order = ("old", "new") if round_number % 2 == 0 else ("new", "old")
            for name in order:
                binary = args.old if name == "old" else args.new
                port, http = free_port(), free_port()
                server = serve(binary, data, port, http, args.storage_schemas)
                try:
                    for query in QUERIES:
                        timed(http, query)  # warm
                        runs = (timed(http, query) for _ in range(args.runs))
                        times[name][query].extend(t for t in runs if t is not None)
                finally:
                    server.terminate()
                    server.wait()
        print(f"medians of {args.rounds * args.runs} runs each, time to the last byte")
        for query in QUERIES:
            if not times["new"][query]:
                print(f"  {query:<60} refused by both")
                continue
            if not times["old"][query]:
                new = statistics.median(times["new"][query]) * 1000
                print(f"  {query:<60} old (refused)    new {new:8.2f} ms")
                continue
            old = statistics.median(times["old"][query]) * 1000
            new = statistics.median(times["new"][query]) * 1000
            print(f"  {query:<60} old {old:8.2f} ms   new {new:8.2f} ms   new/old {new / old:.3f}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
