#!/usr/bin/env python3
"""The Graphite functions' requests as a hostile client sends them: long
pipes, templates with many values (in the target and as template[]
parameters), templates written per series (applyByNode over 10,000
series), queries written per series, a decade of Holt-Winters bootstrap,
reduceSeries over 10,000 series. Prints each answer's time, status and the
server's RSS (and peak) after it.

    cargo build --release && python3 bench/hostile_render.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from processes import EARDRUM, free_port, peak_rss, put_all, status_bytes, wait_for_port  # noqa: E402

data = tempfile.mkdtemp()
port, http = free_port(), free_port()
p = subprocess.Popen([EARDRUM,'serve','--data-dir',data,'--port',str(port),'--http-port',str(http),'--graphite-port','0'],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
wait_for_port(http)
put_all(port, [f"put host{s}.cpu {s%7} {1700000000+t*10}\n" for s in range(10000) for t in range(10)])
base = status_bytes(p.pid, "VmRSS")
def post(fields):
    body = urllib.parse.urlencode(fields).encode()
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/render", body, timeout=120) as r:
            out = r.status, len(r.read())
    except urllib.error.HTTPError as e:
        out = e.code, e.read()[:110]
    except urllib.error.URLError as e:
        out = "refused mid-send", str(e.reason)[:60]
    return round(time.perf_counter()-t, 3), out
R = [("from","1699999990"),("until","1700000100")]
cases = {
 "4,000 pipes": [("target","a"+"|absolute()"*4000)]+R,
 "400 values x 50 KB pattern": [("target","template(a.%s.$z,%s)" % ("x"*50000, ",".join(f"v{i}=1" for i in range(400))))]+R,
 "60k template[] params": [("target","template(host1.$x%s)" % "")]+[(f"template[v{i}]","y"*10) for i in range(60000)]+R,
 "applyByNode 60 KB template x 10k prefixes": [("target",'applyByNode(host*.cpu,0,"constantLine(1)%s")' % (" "*60000))]+R,
 "nested applyByNode": [("target",'applyByNode(host1*.cpu,0,"applyByNode(%.cpu,0,\'sumSeries(%.cpu)\')")')]+R,
 "aliasQuery over 10k series": [("target",'aliasQuery(host*.cpu,"cpu","cpu","%d")')]+R,
 "holtWinters 10y bootstrap": [("target",'holtWintersForecast(host*.cpu,"3650d")')]+R,
 "reduce 10k": [("target",'reduceSeries(mapSeries(host*.cpu,0),"sumSeries",1,"cpu")')]+R,
}
for name, fields in cases.items():
    print(name, post(fields), "RSS", status_bytes(p.pid,"VmRSS")>>20, "MiB, peak", peak_rss(p.pid)>>20)
print("base", base>>20)
p.terminate(); p.wait(); shutil.rmtree(data)
