#!/usr/bin/env bash
# The emulator's benchmark: every workload of BENCHMARKS.md against the emulator and, when
# ../shared/bench is present, against the ceiling server, alternating, in one run.
#   bench/run.sh              full run (about 15 minutes on 2 cores)
#   QUICK=1 bench/run.sh      smoke run for CI (seconds; numbers meaningless)
# Knobs: ROUNDS (3), DURATION (10 s per wrk run), BACKEND (sqlite | postgres, with
# UC_BENCH_POSTGRES_URL), DEEP_GROUPS (1000000), BIG_MB (90), MULTIPART_MB (1024),
# EMULATOR_BIN (a prebuilt emulator binary instead of `cargo build --release`),
# THROUGHPUT_ONLY=1 (only the req/s table), ONLY=a,b (only the workloads whose names contain
# one of these, e.g. ONLY='group/info,limit'), REPLICAS=2 (with BACKEND=postgres: two replicas
# behind nginx, docker/nginx.replicas.conf; nginx from Debian's nginx-light).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
emulator="${EMULATOR_BIN:-}"
if [ -z "$emulator" ]; then
  cargo build --release --bin uploadcare-emulator >&2
  emulator="$root/target/release/uploadcare-emulator"
fi
ceiling=""
if [ -d "$root/../shared/bench/baseline" ]; then
  CARGO_TARGET_DIR="$root/target/ceiling" cargo build --release \
    --manifest-path "$root/../shared/bench/baseline/Cargo.toml" >&2
  ceiling="$root/target/ceiling/release/ucbench-baseline"
fi
exec python3 "$root/bench/bench.py" "$emulator" "$ceiling"
