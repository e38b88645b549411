#!/usr/bin/env python3
"""`get *` of several eardrum builds, side by side on one data folder:
each round starts each build in turn over the same folder, reads the whole
store twice to warm it, then times one more read; medians and ratios to the
first build.

    cargo build --release
    python3 bench/get_all_ab.py OLD_BINARY NEW_BINARY [--series 1000] [--points 100000] [--rounds 4]

The folder is filled once, by the last build's `eardrum bench` (fleet-shaped
values, 10 s apart). Reads go into one buffer and look only at its last
bytes (see `get_timed` in history.py): the client must not be what is timed.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile

from history import get, get_timed, serve
from processes import wait_for_port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    total = args.series * args.points
    work = tempfile.mkdtemp(prefix="eardrum-get-all-")
    data = os.path.join(work, "data")
    try:
        server, port, _ = serve(args.binaries[-1], data)
        try:
            wait_for_port(port)
            subprocess.run(
                [args.binaries[-1], "bench", "--port", str(port), "--series", str(args.series), "--points",
                 str(args.points), "--no-query", "--timeout", "0"],
                check=True, stdout=subprocess.DEVNULL)
            rows, _ = get(port, "*")
            if rows != total:
                raise SystemExit(f"get * gave {rows} points, not {total}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=3600)
        rates = {binary: [] for binary in args.binaries}
        for round_ in range(args.rounds):
            for binary in args.binaries:
                server, port, _ = serve(binary, data)
                try:
                    wait_for_port(port, seconds=3600)
                    for _ in range(2):
                        get_timed(port, "*")
                    rate = total / get_timed(port, "*") / 1e6
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=3600)
                rates[binary].append(rate)
                print(f"round {round_ + 1}: {binary} {rate:.2f} M points/s", flush=True)
        base = statistics.median(rates[args.binaries[0]])
        print(f"{args.series} series x {args.points} points, medians of {args.rounds} rounds")
        for binary, runs in rates.items():
            median = statistics.median(runs)
            print(f"  {median:6.2f} M points/s  {median / base:5.2f}x  {binary}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
