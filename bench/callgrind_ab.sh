#!/usr/bin/env bash
# The instructions `eardrum serve` (BINARY, one worker thread) executes to
# take 1 M fleet-shaped puts from `eardrum bench` (4 connections), counted
# by callgrind: repeatable where wall time on a shared machine is not.
#
#     bench/callgrind_ab.sh OLD_BINARY /tmp/old.out; bench/callgrind_ab.sh NEW_BINARY /tmp/new.out
#
# Needs valgrind; the load comes from target/release/eardrum.
set -euo pipefail
bin=$1; out=$2; port=$((20000 + RANDOM % 10000)); dir=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file=$out $bin serve --port $port --http-port 0 --graphite-port 0 --data-dir $dir --threads 1 > /dev/null 2>&1 &
vpid=$!
trap 'kill "$vpid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.5; done
"$(dirname "$0")/../target/release/eardrum" bench --port $port --series 10000 --points 100 --connections 4 --no-query > /dev/null 2>&1
kill -TERM $vpid; wait $vpid || true
callgrind_annotate $out 2>/dev/null | grep -m1 'PROGRAM TOTALS'
