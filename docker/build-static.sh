#!/usr/bin/env bash
# Builds the static binary the image ships: glibc with crt-static, release profile.
# Used by docker/Dockerfile and by .ci/run (so CI builds exactly what the image builds).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --release --target "$target" --bin uploadcare-emulator
bin="target/$target/release/uploadcare-emulator"
# A static binary has no program interpreter; refuse to ship anything else.
if command -v file >/dev/null 2>&1; then
  file "$bin" | grep -Eq "statically linked|static-pie linked" || { file "$bin"; echo "not static" >&2; exit 1; }
elif readelf -l "$bin" 2>/dev/null | grep -q "Requesting program interpreter"; then
  echo "not static: $bin has a program interpreter" >&2
  exit 1
fi
echo "$bin"
