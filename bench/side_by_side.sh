#!/usr/bin/env bash
# eardrum and VictoriaMetrics side by side on the same workload, one run.
#
#   bench/side_by_side.sh [--series 10000] [--points 100]
#
# Installs Debian's victoria-metrics package if it is missing (needs root),
# builds eardrum in release mode, then runs bench/side_by_side.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v victoria-metrics >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq victoria-metrics >/dev/null
fi
cargo build --release --quiet -p eardrum
exec python3 bench/side_by_side.py "$@"
