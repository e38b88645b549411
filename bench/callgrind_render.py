#!/usr/bin/env python3
"""The instructions `eardrum serve` (one worker thread, under callgrind)
executes to answer a /render query: for comparing two builds where wall
time is too noisy. The data is bench/render_ab.py's (1,000 series of 1,000
points).

    bench/callgrind_render.py fill BINARY DATA_DIR               # load the data once
    bench/callgrind_render.py count BINARY DATA_DIR OUT QUERY [REPEAT]
    callgrind_annotate OUT | grep TOTALS
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_ab  # noqa: E402
from processes import free_port, wait_for_port  # noqa: E402


def fill(binary, data):
    port, http = free_port(), free_port()
    server = render_ab.serve(binary, data, port, http)
    try:
        wait_for_port(port)
        render_ab.fill(port)
    finally:
        server.terminate()
        server.wait()


def count(binary, data, out, query, repeat):
    port, http = free_port(), free_port()
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve", "--data-dir", data,
         "--port", str(port), "--http-port", str(http), "--graphite-port", "0", "--threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(http, 300)
        for _ in range(repeat):
            render_ab.timed(http, query)
    finally:
        server.terminate()
        server.wait()


def main():
    match sys.argv[1:]:
        case ["fill", binary, data]:
            fill(binary, data)
        case ["count", binary, data, out, query, *repeat]:
            count(binary, data, out, query, int(repeat[0]) if repeat else 3)
        case _:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
