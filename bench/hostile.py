#!/usr/bin/env python3
"""What a hostile client costs the server (release build, loopback): the
figures SECURITY.md quotes.

    cargo build --release && python3 bench/hostile.py [--points 10000000] [--slow 5000]

1. Slow headers: --slow connections to the HTTP port that send part of a
   request head and then nothing. Reported: the server's RSS while they are
   held, and how many are still open after the header timeout.
2. The largest reads: --points points in 1,000 series, then
   /api/v1/points?match=*.*&from=0 (all of them, streamed), /render of all
   of them, 100,000 keys from /api/v1/series, and a 1.9 MB brace pattern
   to /metrics/find.
   Reported: time, peak RSS (VmHWM) and RSS once the reply is done, and the
   worst protocol put latency while each read ran.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from processes import EARDRUM, free_port, peak_rss, status_bytes, wait_for_port  # noqa: E402


def rss(pid):
    return status_bytes(pid, "VmRSS")


def reset_peak(pid):
    """Starts VmHWM again from the current RSS (Linux 4.0 and later)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def mib(n):
    return f"{n / 1048576:.0f} MiB"


def load(port, points, series=1000):
    """Puts `points` points over `series` keys, pipelined in batches."""
    per_series = points // series
    sock = socket.create_connection(("127.0.0.1", port))
    sent = 0
    batch = []
    replies = b""
    for t in range(per_series):
        for s in range(series):
            batch.append(f"put host{s // 10}.m{s % 10} {t % 97}.5 {1_000_000 + t * 10}\n")
        if len(batch) >= 20_000:
            sock.sendall("".join(batch).encode())
            sent += len(batch)
            batch = []
            expected = sent * 4
            while len(replies) < expected:
                replies += sock.recv(1 << 20)
    if batch:
        sock.sendall("".join(batch).encode())
        sent += len(batch)
        while len(replies) < sent * 4:
            replies += sock.recv(1 << 20)
    assert replies.count(b"ok\n\n") == sent, "every put acknowledged"
    sock.close()
    return sent


class PutProbe(threading.Thread):
    """Puts one point every 10 ms and keeps the slowest round trip."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.worst = 0.0
        self.running = True

    def run(self):
        while self.running:
            started = time.perf_counter()
            self.sock.sendall(b"put probe.latency 1 1\n")
            reply = b""
            while not reply.endswith(b"\n\n"):
                reply += self.sock.recv(64)
            self.worst = max(self.worst, time.perf_counter() - started)
            time.sleep(0.01)


def timed_read(pid, put_port, url, data=None):
    probe = PutProbe(put_port)
    probe.start()
    reset_peak(pid)
    time.sleep(0.1)
    started = time.perf_counter()
    status, size = None, 0
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=600) as response:
            status = response.status
            while chunk := response.read(1 << 20):
                size += len(chunk)
    except urllib.error.HTTPError as error:
        status, size = error.code, len(error.read())
    elapsed = time.perf_counter() - started
    time.sleep(0.5)
    probe.running = False
    probe.join()
    return status, size, elapsed, probe.worst, peak_rss(pid), rss(pid)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--slow", type=int, default=5000)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="eardrum-hostile-")
    port, http = free_port(), free_port()
    server = subprocess.Popen(
        [EARDRUM, "serve", "--data-dir", data, "--port", str(port), "--http-port", str(http),
         "--graphite-port", "0", "--fsync", "never", "--max-points-per-request", str(args.points * 11 // 10),
         "--http-header-timeout", "10s", "--max-series-per-request", "200000"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(http)
        base = rss(server.pid)
        print(f"base RSS {mib(base)}, {open_fds(server.pid)} descriptors")

        slow = []
        for _ in range(args.slow):
            s = socket.create_connection(("127.0.0.1", http))
            s.sendall(b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        time.sleep(1)
        held = rss(server.pid)
        print(f"{args.slow} slow-header connections: RSS {mib(held)} (+{mib(held - base)}), "
              f"{open_fds(server.pid)} descriptors")
        time.sleep(11)
        print(f"after the 10 s header timeout: {open_fds(server.pid)} descriptors, RSS {mib(rss(server.pid))}")
        for s in slow:
            s.close()

        started = time.perf_counter()
        loaded = load(port, args.points)
        print(f"loaded {loaded:,} points in {time.perf_counter() - started:.1f} s; RSS {mib(rss(server.pid))}")
        keys = socket.create_connection(("127.0.0.1", port))
        keys.sendall("".join(f"put k.{i} 1 1\n" for i in range(100_000)).encode())
        got = b""
        while len(got) < 400_000:
            got += keys.recv(1 << 20)
        keys.close()
        before = rss(server.pid)
        for name, url, body in [
            ("100,000 keys listed", f"http://127.0.0.1:{http}/api/v1/series?match=k.*", None),
            ("all points, streamed", f"http://127.0.0.1:{http}/api/v1/points?match=*.*&from=0&until=2000000000", None),
            ("all points, rendered", f"http://127.0.0.1:{http}/render?target=host*.*&from=999990&until={1_000_000 + args.points // 100}", None),
            ("1.9 MB brace pattern", f"http://127.0.0.1:{http}/metrics/find",
             ("query=" + "%7Bx,y%7D" * 200_000).encode()),
        ]:
            status, size, elapsed, worst, peak, after = timed_read(server.pid, port, url, body)
            print(f"{name}: {status}, {size:,} bytes in {elapsed:.2f} s; worst put {worst * 1000:.1f} ms; "
                  f"peak RSS {mib(peak)} (data {mib(before)}), after {mib(after)}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
