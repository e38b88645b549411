#!/usr/bin/env python3
"""The storage issue's figures for one build: a fleet's history put through
the protocol, then memory, disk, restart and reads measured against the
issue's targets.

    cargo build --release
    python3 bench/history.py [--series 10000] [--points 100000] [--eardrum BINARY]

The issue's scale is 10,000 series of 100,000 points (1 billion): about 20
minutes here, `eardrum bench` encoding its workload in rounds of 16 M points
while it sends. Smaller runs (--points 10000) show the trend in two. Steps:

1. `eardrum serve` on a fresh folder takes the points from `eardrum bench
   --no-query` (fleet-shaped values, 10 s apart from 1700000000, 4
   connections): ingest rate, and the server's peak RSS while ingesting.
2. SIGTERM (the final checkpoint), then the folder's bytes per point, and
   the same without the log (which the newest checkpoint covers, kept
   until the next one as the fallback to the previous checkpoint).
3. A restart: seconds from the spawn to the first `get` answered, and the
   RSS then (what memory holds before any read).
4. Reads, medians of --runs: `get` of one key's points; `/render` of one
   series over its whole range with maxDataPoints=1000; then `get *`,
   once counted, then the median of three timed (points/s), and the
   server's peak RSS by its end.

With --year, a year of one more series every 10 s (3.15 M points, ending
where the fleet starts) is put through the protocol after the fleet, and
step 4 also renders that year with maxDataPoints=1000 (read from hourly
rollups), first once cold, then the median of --runs.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from processes import EARDRUM, folder_bytes, free_port, peak_rss, status_bytes, wait_for_port

START = 1_700_000_000
STEP = 10
KEY = "host0.cpu.user"


def serve(binary, data):
    port, http = free_port(), free_port()
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--port", str(port), "--http-port", str(http), "--graphite-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, port, http


def get(port, key):
    """The points of a `get`, counted, and the seconds to the reply's end."""
    return read_get(port, key, count=True)


def get_timed(port, key):
    """The seconds to the end of a `get` reply read as fast as this client
    can: counting lines in Python costs more than the server spends on
    them, and this machine has two cores, so `get` counts in another
    pass."""
    return read_get(port, key, count=False)[1]


def read_get(port, key, count):
    """A `get`'s reply read into one buffer, its points counted if `count`
    (else looking only at each read's last bytes): (points, seconds)."""
    buffer = bytearray(4 << 20)
    view = memoryview(buffer)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"get {key}\n".encode())
        tail, lines = b"", 0
        while True:
            received = sock.recv_into(buffer)
            if not received:
                sys.exit(f"the server closed the connection during get {key}")
            if count:
                lines += buffer.count(b"\n", 0, received)
            tail = (tail + bytes(view[max(0, received - 3):received]))[-3:]
            if tail.endswith(b"\n\n"):
                break
    # `ok`, a line per point, and the empty line.
    return lines - 2, time.perf_counter() - started


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=3600)


YEAR_KEY = "year.cpu"
YEAR = 365 * 86_400


def put_year(port):
    """A year of YEAR_KEY every STEP seconds, ending before START, through
    the protocol in pipelined batches; every put acknowledged."""
    batch = 20_000
    count = YEAR // STEP
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for first in range(0, count, batch):
            lines = []
            for i in range(first, min(first + batch, count)):
                value = round(20 + 10 * ((i // 360) % 24) / 24 + (i % 7) * 0.1, 1)
                lines.append(f"put {YEAR_KEY} {value} {START - YEAR + i * STEP}\n")
            sock.sendall("".join(lines).encode())
            replies = b""
            while replies.count(b"\n\n") < len(lines):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    sys.exit("the server closed the connection")
                replies += chunk
            if replies.count(b"ok\n\n") != len(lines):
                sys.exit(f"a put of the year was refused: {replies[:200]!r}")
    return count


def render_ms(http, query):
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/render?{query}", timeout=600) as reply:
        body = reply.read()
    if b"datapoints" not in body:
        sys.exit(f"render gave {body[:200]!r}")
    return (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--eardrum", default=EARDRUM)
    parser.add_argument("--year", action="store_true", help="also a year of one series (see above)")
    args = parser.parse_args()
    total = args.series * args.points
    work = tempfile.mkdtemp(prefix="eardrum-history-")
    data = os.path.join(work, "data")
    try:
        server, port, _ = serve(args.eardrum, data)
        try:
            wait_for_port(port)
            started = time.perf_counter()
            # `eardrum bench` encodes its whole workload before sending it:
            # about 40 bytes a point of its own memory.
            subprocess.run(
                [args.eardrum, "bench", "--port", str(port), "--series", str(args.series), "--points",
                 str(args.points), "--no-query", "--timeout", "0"],
                check=True, stdout=subprocess.DEVNULL)
            ingest = time.perf_counter() - started
            year_points = put_year(port) if args.year else 0
            ingest_rss = peak_rss(server.pid)
        finally:
            stop(server)
        disk = folder_bytes(data)
        # The log a checkpoint covers stays until the next one (the
        # fallback to the previous checkpoint): shown apart.
        log = folder_bytes(os.path.join(data, "wal"))

        started = time.perf_counter()
        server, port, http = serve(args.eardrum, data)
        try:
            wait_for_port(port, seconds=3600)
            rows, _ = get(port, KEY)
            restart = time.perf_counter() - started
            resting_rss = status_bytes(server.pid, "VmRSS")
            if rows != args.points:
                sys.exit(f"get {KEY} gave {rows} points, not {args.points}")
            one_key = statistics.median(get(port, KEY)[1] for _ in range(args.runs))
            query = urllib.parse.urlencode({
                "target": KEY, "from": START - STEP, "until": START + args.points * STEP, "maxDataPoints": 1000})
            render_times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/render?{query}", timeout=600) as reply:
                    reply.read()
                render_times.append(time.perf_counter() - started)
            if args.year:
                year_query = urllib.parse.urlencode({
                    "target": YEAR_KEY, "from": START - YEAR - STEP, "until": START, "maxDataPoints": 1000})
                year_cold = render_ms(http, year_query)
                year_warm = statistics.median(render_ms(http, year_query) for _ in range(args.runs))
            rows, _ = get(port, "*")
            if rows != total + year_points:
                sys.exit(f"get * gave {rows} points, not {total + year_points}")
            get_all = statistics.median(get_timed(port, "*") for _ in range(3))
            reading_rss = peak_rss(server.pid)
        finally:
            stop(server)
        mib = 1 << 20
        print(f"{args.series} series x {args.points} points = {total:,} points")
        print(f"  ingest                       {total / ingest / 1e6:8.2f} M points/s ({ingest:.1f} s)")
        print(f"  server peak RSS, ingesting   {ingest_rss / mib:8.0f} MiB   (target <= 256 MiB)")
        if args.year:
            print(f"  (and a year of {YEAR_KEY}: {year_points:,} points; disk figures count them)")
            total += year_points
        print(f"  disk per point               {disk / total:8.2f} bytes ({disk / mib:.0f} MiB; target <= 1.2)")
        print(f"    without the covered log    {(disk - log) / total:8.2f} bytes (log {log / mib:.0f} MiB)")
        print(f"  restart to the first get     {restart:8.2f} s       (target <= 1 s)")
        print(f"  RSS after restart            {resting_rss / mib:8.0f} MiB")
        print(f"  get of one key ({args.points} points) {one_key * 1000:8.1f} ms      (target <= 20 ms at 100,000)")
        render = statistics.median(render_times)
        print(f"  render one series, 1000 pts  {render * 1000:8.1f} ms      (target <= 20 ms)")
        if args.year:
            print(f"  render a year, 1000 pts      {year_warm:8.1f} ms      (target <= 5 ms; {year_cold:.1f} ms cold)")
        print(f"  get * of every point         {total / get_all / 1e6:8.2f} M points/s ({get_all:.1f} s; target >= 20)")
        print(f"  server peak RSS, by the end  {reading_rss / mib:8.0f} MiB   (target <= 256 MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
