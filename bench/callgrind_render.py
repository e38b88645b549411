#!/usr/bin/env python3
"""The instructions `eardrum serve` (one worker thread, under callgrind)
executes to answer a /render query, for comparing two builds where wall
time is too noisy (bench/render_ab.py's data: 1,000 series of 1,000
points).

    bench/callgrind_render.py BINARY DATA_DIR fill x 0          # load the data once
    bench/callgrind_render.py BINARY DATA_DIR OUT 'QUERY' 3     # OUT: callgrind's file
    callgrind_annotate OUT | grep TOTALS
"""
import subprocess, sys, time, socket, os, urllib.request, urllib.parse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from processes import free_port, wait_for_port
import render_ab
binary, data, out, query, repeat = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
port, http = free_port(), free_port()
if out == 'fill':
    p = render_ab.serve(binary, data, port, http); wait_for_port(port); render_ab.fill(port); p.terminate(); p.wait(); sys.exit()
p = subprocess.Popen(['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}', binary, 'serve', '--data-dir', data, '--port', str(port), '--http-port', str(http), '--graphite-port', '0', '--threads', '1'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wait_for_port(http, 300)
for _ in range(repeat):
    render_ab.timed(http, query)
p.terminate(); p.wait()
