#!/usr/bin/env bash
# Pipelined put throughput over loopback, median of several fresh runs.
#
#   bench/put_throughput.sh [RUNS] [FSYNC...]      e.g. bench/put_throughput.sh 5 everysec always
#
# Each run starts `eardrum serve` on an empty data folder, sends 2,000,000
# fleet-shaped puts over 4 connections (10,000 series, windows of 1024
# pipelined requests per connection) with the client example, and stops the
# server with SIGTERM. Figures go to stdout; nothing is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
modes=("${@:-everysec}")
[[ ${#modes[@]} -gt 0 ]] || modes=(everysec)

cargo build --release --quiet -p eardrum -p eardrum-client --bins --examples
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

for mode in "${modes[@]}"; do
  rates=()
  for _ in $(seq "$runs"); do
    rm -rf "$data/store"
    target/release/eardrum serve --port "$port" --http-port 0 --graphite-port 0 --data-dir "$data/store" --fsync "$mode" 2>"$data/server.log" &
    server=$!
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    line=$(target/release/examples/put_throughput --addr "127.0.0.1:$port" --connections 4 --points 2000000 --series 10000)
    kill -TERM "$server"
    wait "$server"
    rates+=("$(awk '{print $(NF-1)}' <<<"$line")")
    echo "  fsync=$mode: $line"
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "fsync=$mode: median of $runs runs: $median acknowledged samples/s"
done
