#!/usr/bin/env bash
# Ingest through a front end over ClickHouse, beside the embedded store.
#
#   bench/clickhouse.sh [--series 10000] [--points 100] [--runs 3] [--ship-interval 1s]
#
# Installs Debian's clickhouse-server if it is missing (through
# .ci/test-deps), builds eardrum in release mode, then runs
# bench/clickhouse.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x /usr/sbin/clickhouse-server ]] || bash .ci/test-deps
cargo build --release --quiet -p eardrum
exec python3 bench/clickhouse.py "$@"
