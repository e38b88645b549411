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
   series over its whole range with maxDataPoints=1000; then one `get *`
   (points/s) and the server's peak RSS by its end.
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
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"get {key}\n".encode())
        tail, lines = b"", 0
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                sys.exit(f"the server closed the connection during get {key}")
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[-3:]
            if tail.endswith(b"\n\n"):
                break
    # `ok`, a line per point, and the empty line.
    return lines - 2, time.perf_counter() - started


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=3600)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--eardrum", default=EARDRUM)
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
            rows, get_all = get(port, "*")
            if rows != total:
                sys.exit(f"get * gave {rows} points, not {total}")
            reading_rss = peak_rss(server.pid)
        finally:
            stop(server)
        mib = 1 << 20
        print(f"{args.series} series x {args.points} points = {total:,} points")
        print(f"  ingest                       {total / ingest / 1e6:8.2f} M points/s ({ingest:.1f} s)")
        print(f"  server peak RSS, ingesting   {ingest_rss / mib:8.0f} MiB   (target <= 256 MiB)")
        print(f"  disk per point               {disk / total:8.2f} bytes ({disk / mib:.0f} MiB; target <= 1.2)")
        print(f"    without the covered log    {(disk - log) / total:8.2f} bytes (log {log / mib:.0f} MiB)")
        print(f"  restart to the first get     {restart:8.2f} s       (target <= 1 s)")
        print(f"  RSS after restart            {resting_rss / mib:8.0f} MiB")
        print(f"  get of one key ({args.points} points) {one_key * 1000:8.1f} ms      (target <= 20 ms at 100,000)")
        render = statistics.median(render_times)
        print(f"  render one series, 1000 pts  {render * 1000:8.1f} ms      (target <= 20 ms)")
        print(f"  get * of every point         {total / get_all / 1e6:8.2f} M points/s ({get_all:.1f} s; target >= 20)")
        print(f"  server peak RSS, by the end  {reading_rss / mib:8.0f} MiB   (target <= 256 MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
