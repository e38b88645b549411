#!/usr/bin/env python3
"""Ingest through a front end over ClickHouse, beside the embedded store, in one run.

Run through bench/clickhouse.sh, which builds eardrum first; Debian's
clickhouse-server must be installed (.ci/test-deps installs it).

Each run starts a ClickHouse server on loopback in a temporary folder and
`eardrum serve --storage clickhouse://…` over it, sends the fleet workload
with `eardrum bench` (4 connections, window 64), and then polls ClickHouse
until it holds every sample: the lag until visible is the time from the last
`ok` to that moment. The same workload against `eardrum bench --serve` (the
embedded store) gives the ratio. Figures are medians of the runs.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from processes import EARDRUM, cpu_seconds, free_port, wait_for_port

def clickhouse_query(port, query):
    url = f"http://127.0.0.1:{port}/?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=60) as reply:
        return reply.read().decode().strip()


def start_clickhouse(root):
    http_port, tcp_port = free_port(), free_port()
    with open(os.path.join(root, "users.xml"), "w") as f:
        f.write(
            "<yandex><profiles><default></default></profiles><quotas><default></default></quotas>"
            "<users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
            "<profile>default</profile><quota>default</quota></default></users></yandex>"
        )
    config = os.path.join(root, "config.xml")
    with open(config, "w") as f:
        f.write(
            f"<yandex><logger><level>warning</level><console>1</console></logger>"
            f"<http_port>{http_port}</http_port><tcp_port>{tcp_port}</tcp_port>"
            f"<listen_host>127.0.0.1</listen_host><path>{root}/data/</path><tmp_path>{root}/tmp/</tmp_path>"
            f"<user_files_path>{root}/files/</user_files_path><users_config>{root}/users.xml</users_config>"
            f"<default_profile>default</default_profile><default_database>default</default_database>"
            f"<mark_cache_size>104857600</mark_cache_size></yandex>"
        )
    process = subprocess.Popen(
        ["/usr/sbin/clickhouse-server", f"--config-file={config}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(http_port)
    deadline = time.time() + 60
    while True:
        try:
            clickhouse_query(http_port, "SELECT 1")
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    return process, http_port


def read_reply(connection):
    """A whole reply: it ends with an empty line."""
    data = b""
    while not (data.endswith(b"\n\n")):
        chunk = connection.recv(1 << 20)
        if not chunk:
            raise SystemExit(f"the server closed the connection: {data[-200:]!r}")
        data += chunk
    return data


def first_key(port):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"get *\n")
        return read_reply(connection).split(b"\n")[1].split(b" ")[0].decode()


def timed_get(port, key):
    """Seconds from sending `get KEY` to the reply's last byte."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        started = time.perf_counter()
        connection.sendall(f"get {key}\n".encode())
        read_reply(connection)
        return time.perf_counter() - started


def bench(args, extra):
    command = [EARDRUM, "bench", "--series", str(args.series), "--points", str(args.points), "--json"] + extra
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def one_run(args):
    root = tempfile.mkdtemp(prefix="eardrum-clickhouse-bench-")
    clickhouse, http_port = start_clickhouse(root)
    port, api = free_port(), free_port()
    server = subprocess.Popen(
        [EARDRUM, "serve", "--port", str(port), "--http-port", str(api), "--graphite-port", "0",
         "--data-dir", os.path.join(root, "front-end"), "--ship-interval", args.ship_interval,
         "--storage", f"clickhouse://127.0.0.1:{http_port}/bench"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        cpu_before = cpu_seconds(server.pid), cpu_seconds(clickhouse.pid)
        report = bench(args, ["--port", str(port), "--no-query"])
        acked = time.time()
        total = args.series * args.points
        count_query = "SELECT count() FROM (SELECT key, timestamp FROM bench.points GROUP BY key, timestamp)"
        while int(clickhouse_query(http_port, count_query) or 0) < total:
            time.sleep(0.02)
        visible = time.time()
        cpu_after = cpu_seconds(server.pid), cpu_seconds(clickhouse.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{api}/api/v1/stats", timeout=10) as reply:
            shipping = json.load(reply)["shipping"]
        one_key = statistics.median(timed_get(port, first_key(port)) for _ in range(5))
        every_key = timed_get(port, "*")
        ingest_seconds = report["seconds"] + (visible - acked)
        return {
            "acknowledged_per_second": report["samples_per_second"],
            "visible_per_second": total / ingest_seconds,
            "lag_seconds": visible - acked,
            "inserts": shipping["inserts"],
            "points_per_insert": shipping["points_shipped"] / max(shipping["inserts"], 1),
            "front_end_cpu_us_per_sample": (cpu_after[0] - cpu_before[0]) / total * 1e6,
            "clickhouse_cpu_us_per_sample": (cpu_after[1] - cpu_before[1]) / total * 1e6,
            "get_one_key_seconds": one_key,
            "get_all_seconds": every_key,
            "embedded_acknowledged_per_second": bench(args, ["--serve"])["samples_per_second"],
        }
    finally:
        server.terminate()
        server.wait()
        clickhouse.kill()
        clickhouse.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ship-interval", default="1s")
    args = parser.parse_args()
    runs = []
    for number in range(args.runs):
        run = one_run(args)
        runs.append(run)
        print(f"run {number + 1}: " + ", ".join(f"{k}={v:.4g}" for k, v in run.items()), flush=True)
    print(f"\nmedians of {args.runs} runs, {args.series} series x {args.points} points, "
          f"ship interval {args.ship_interval}:")
    for key in runs[0]:
        print(f"  {key:36} {statistics.median(r[key] for r in runs):.4g}")
    median = lambda key: statistics.median(r[key] for r in runs)
    print(f"  {'front end / embedded (acknowledged)':36} {median('acknowledged_per_second') / median('embedded_acknowledged_per_second'):.3f}")


if __name__ == "__main__":
    main()
