#!/usr/bin/env bash
# Runs one fuzz target for a while on the stable toolchain. An input that
# takes longer than 10 s or grows the process past 2 GiB counts as a crash
# (slow or hungry inputs are bugs too); later flags override these.
#
#   fuzz/run.sh TARGET [SECONDS [LIBFUZZER FLAGS...]]
#   e.g. fuzz/run.sh chunk 600, or fuzz/run.sh store_model 9000 -max_len=256
#
# New inputs go to target/fuzz-corpus/TARGET (not committed); the committed
# corpus in fuzz/corpus/TARGET seeds the run. Crashes land in
# fuzz/artifacts/TARGET; turn each into a named regression test and add the
# input to the committed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p "target/fuzz-corpus/$target"
cargo fuzz run "$target" --features libfuzzer --sanitizer none \
  "target/fuzz-corpus/$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=2048 "$@"
