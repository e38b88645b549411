#!/usr/bin/env python3
"""Two eardrum builds, put side by side: `eardrum bench --serve` with each,
alternating run by run, medians and the ratio new / old.

    bench/ab.py OLD_BINARY NEW_BINARY [--runs 8] [--window 64] [--points 100] [--series 10000]

For "no change may lower ingest": build the commit before a change into its
own target folder, e.g.

    git worktree add /tmp/eardrum-old HEAD~1
    CARGO_TARGET_DIR=/tmp/eardrum-old/target cargo build --release --bin eardrum \\
        --manifest-path /tmp/eardrum-old/Cargo.toml
    cargo build --release
    bench/ab.py /tmp/eardrum-old/target/release/eardrum target/release/eardrum

Alternating spreads a noisy machine's slow moments over both builds alike.
"""

import argparse
import re
import statistics
import subprocess
import sys

FIGURES = {
    "rate": (r"([\d.]+) M samples/s", "M acknowledged samples/s"),
    "cpu_us": (r"= ([\d.]+) µs per sample", "µs server CPU per sample"),
    "p50_ms": (r"latency\s+p50 ([\d.]+) ms", "ms latency p50"),
    "p99_ms": (r"p99 ([\d.]+) ms", "ms latency p99"),
}


def bench(binary, args):
    command = [binary, "bench", "--serve", "--window", str(args.window), "--points", str(args.points),
               "--series", str(args.series)]
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    text = output.stdout + output.stderr
    figures = {}
    for name, (pattern, _) in FIGURES.items():
        match = re.search(pattern, text)
        if match:
            figures[name] = float(match.group(1))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--series", type=int, default=10_000)
    args = parser.parse_args()
    runs = {"old": [], "new": []}
    for run in range(args.runs):
        # Which goes first alternates too.
        order = ["old", "new"] if run % 2 == 0 else ["new", "old"]
        for name in order:
            runs[name].append(bench(getattr(args, name), args))
        print(f"run {run + 1}: old {runs['old'][-1].get('rate', 0):.3f}, new {runs['new'][-1].get('rate', 0):.3f}"
              " M samples/s", file=sys.stderr)
    print(f"window {args.window}, {args.series} series x {args.points} points, medians of {args.runs} runs each")
    for name, (_, unit) in FIGURES.items():
        old = statistics.median(r[name] for r in runs["old"] if name in r)
        new = statistics.median(r[name] for r in runs["new"] if name in r)
        print(f"  {unit:28} old {old:<8g} new {new:<8g} new/old {new / old:.3f}")


if __name__ == "__main__":
    main()
