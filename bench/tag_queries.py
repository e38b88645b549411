#!/usr/bin/env python3
"""Tag queries over many tagged series, with one or two eardrum builds
taking turns on the same data folder.

    bench/tag_queries.py BINARY [OTHER_BINARY] [--series 100000] [--runs 10]

The data: SERIES tagged series `disk.used;dc=d<i%10>;host=h<i>;rack=r<i%50>`,
one point each, put through the protocol once. Each build in turn is
started on the folder and every query timed --runs times (to the last
byte); printed: each server's RSS at start and after the queries, the
medians, and other/first when two builds are given.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from processes import free_port, put_all, status_bytes, wait_for_port  # noqa: E402

QUERIES = [
    "/tags/findSeries?expr=host=h4242",
    "/render?target=seriesByTag('host=h4242')&from=1699999990&until=1700000100",
    "/render?target=sumSeries(seriesByTag('dc=d3','rack=r13'))&from=1699999990&until=1700000100",
    "/tags/findSeries?expr=host=~h42.*&expr=dc!=d2",
    "/tags/autoComplete/values?tag=dc",
]


def fill(port, series):
    put_all(port, [f"put disk.used;dc=d{i % 10};host=h{i};rack=r{i % 50} {i % 97} 1700000000\n" for i in range(series)])


def serve(binary, data):
    port, http = free_port(), free_port()
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--port", str(port), "--http-port", str(http), "--graphite-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(http)
    return process, port, http


def timed(http, query):
    path, _, params = query.partition("?")
    url = f"http://127.0.0.1:{http}{path}?{urllib.parse.urlencode(urllib.parse.parse_qsl(params))}"
    started = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="eardrum-tags-")
    try:
        loader, port, _ = serve(args.binaries[-1], data)
        wait_for_port(port)
        fill(port, args.series)
        loader.terminate()
        loader.wait()
        times = {binary: {query: [] for query in QUERIES} for binary in args.binaries}
        rss = {binary: [] for binary in args.binaries}
        for round_number in range(2):
            order = args.binaries if round_number % 2 == 0 else list(reversed(args.binaries))
            for binary in order:
                server, _, http = serve(binary, data)
                try:
                    started_rss = status_bytes(server.pid, "VmRSS")
                    for query in QUERIES:
                        timed(http, query)  # warm: the name index catches up
                        times[binary][query].extend(timed(http, query) for _ in range(args.runs))
                    rss[binary].append((started_rss, status_bytes(server.pid, "VmRSS")))
                finally:
                    server.terminate()
                    server.wait()
        print(f"{args.series} tagged series; medians of {2 * args.runs} runs, ms")
        for binary in args.binaries:
            shown = ", ".join(f"{before >> 20} -> {after >> 20} MiB" for before, after in rss[binary])
            print(f"  server RSS at start -> after the queries, {binary}: {shown}")
        for query in QUERIES:
            medians = [statistics.median(times[binary][query]) * 1000 for binary in args.binaries]
            shown = "  ".join(f"{median:9.2f}" for median in medians)
            ratio = f"  second/first {medians[1] / medians[0]:.3f}" if len(medians) == 2 else ""
            print(f"  {query:<92} {shown}{ratio}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
