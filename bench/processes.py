"""What the benchmark scripts share: free ports, waiting for a listener, and a
process's CPU time, peak memory and folder size from /proc and the disk."""
import os
import socket
import sys
import time

EARDRUM = os.path.join(os.path.dirname(__file__), "..", "target", "release", "eardrum")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listened on port {port}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_bytes(pid, field):
    """A size from /proc/PID/status, such as VmHWM or VmRSS, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss(pid):
    return status_bytes(pid, "VmHWM")


def folder_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def put_all(port, lines):
    """Sends protocol lines to the server on `port`, pipelined, and reads
    every reply: each line is acknowledged (`ok` and an empty line)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall("".join(lines).encode())
    expected, got = len(b"ok\n\n") * len(lines), 0
    while got < expected:
        chunk = sock.recv(1 << 20)
        if not chunk:
            sys.exit("the server closed the connection while loading")
        got += len(chunk)
    sock.close()
