#!/usr/bin/env python3
"""Graphite /render under carbon's storage schemas, builds side by side:
the issue's chart targets when whisper's archives decide what is read.

    cargo build --release
    python3 bench/render_schemas.py OLD_BINARY NEW_BINARY [--series 1000] [--points 100000] [--runs 10]

For each build in turn, on a fresh folder served with --storage-schemas
(SCHEMAS below): a fleet from `eardrum bench --no-query` (fleet-shaped
values every 10 s from 1700000000), then a year of `year.cpu` every 10 s
ending where the fleet starts (3.15 M points, through the protocol); a stop
(the final checkpoint moves all but the newest windows to disk, and
retention takes the year's raw points older than a day); a restart. Then,
each first once cold and then the median of --runs (time to the last
byte), with maxDataPoints=1000:

- the year seen from its end (`now` at 1700000000): whisper reads its
  10-minute archive, 52,560 slots;
- the year seen from today: its hourly archive, 8,760 slots;
- one fleet series over its whole range: its 10 s archive, the points.

Also the folder's bytes and the server's peak RSS. The same binary's
`eardrum bench` makes both builds' fleets, so the data is the same.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from history import START, STEP, YEAR, YEAR_KEY, put_year  # noqa: E402
from processes import folder_bytes, free_port, peak_rss, wait_for_port  # noqa: E402

SCHEMAS = """[year]
pattern = ^year\\.
retentions = 10s:1d,1m:30d,10m:1y,1h:5y

[fleet]
pattern = .*
retentions = 10s:30d,10m:1y,1h:5y
"""
FLEET_KEY = "host0.cpu.user"


def serve(binary, data, schemas):
    port, http = free_port(), free_port()
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--port", str(port), "--http-port", str(http),
         "--graphite-port", "0", "--storage-schemas", schemas],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, seconds=3600)
    return process, port, http


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=3600)


def render(http, query):
    """Milliseconds to the last byte, and the points with a value."""
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/render?{query}", timeout=600) as reply:
        body = reply.read()
    elapsed = (time.perf_counter() - started) * 1000
    if b"datapoints" not in body:
        sys.exit(f"render gave {body[:200]!r}")
    return elapsed, body.count(b"[") - body.count(b"[null") - 2


def measure(binary, bench_binary, args, schemas):
    work = tempfile.mkdtemp(prefix="eardrum-schemas-")
    data = os.path.join(work, "data")
    try:
        server, port, _ = serve(binary, data, schemas)
        try:
            subprocess.run(
                [bench_binary, "bench", "--port", str(port), "--series", str(args.series), "--points",
                 str(args.points), "--no-query", "--timeout", "0"],
                check=True, stdout=subprocess.DEVNULL)
            put_year(port)
        finally:
            stop(server)
        server, port, http = serve(binary, data, schemas)
        fleet_end = START + args.points * STEP
        queries = {
            "a year from its end (10 min archive)": {
                "target": YEAR_KEY, "from": START - YEAR, "until": START, "now": START},
            "a year from today (hourly archive)": {
                "target": YEAR_KEY, "from": START - YEAR, "until": START},
            "one fleet series, whole range (points)": {
                "target": FLEET_KEY, "from": START - STEP, "until": fleet_end, "now": fleet_end},
        }
        figures = {}
        try:
            for name, query in queries.items():
                query = urllib.parse.urlencode({**query, "maxDataPoints": 1000})
                cold, values = render(http, query)
                warm = statistics.median(render(http, query)[0] for _ in range(args.runs))
                figures[name] = (cold, warm, values)
            rss = peak_rss(server.pid)
        finally:
            stop(server)
        return figures, folder_bytes(data), rss
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as file:
        file.write(SCHEMAS)
        schemas = file.name
    try:
        results = [measure(binary, args.binaries[-1], args, schemas) for binary in args.binaries]
    finally:
        os.unlink(schemas)
    mib = 1 << 20
    print(f"{args.series} series x {args.points} points, and a year of {YEAR_KEY}; maxDataPoints=1000")
    for name in results[0][0]:
        print(f"  {name}")
        base = results[0][0][name][1]
        for binary, (figures, _, _) in zip(args.binaries, results):
            cold, warm, values = figures[name]
            print(f"    {binary:40} {warm:8.2f} ms warm ({cold:.1f} ms cold), {values} values, {warm / base:.3f}x")
    for binary, (_, disk, rss) in zip(args.binaries, results):
        print(f"  {binary:42} folder {disk / mib:.0f} MiB, peak RSS {rss / mib:.0f} MiB")


if __name__ == "__main__":
    main()
