#!/usr/bin/env bash
# CDN image processing figures (BENCHMARKS.md, "CDN image processing"), with public tools:
# libvips-tools (vipsthumbnail, vips), curl, wrk.
#   bench/cdn_images.sh [EMULATOR_BIN]     default: target/release/uploadcare-emulator
# 1. first request for preview/300x300/-/format/jpeg/ of a 3000x2000 JPEG (variant cache
#    off, so every request is a first one) against vipsthumbnail on the same file, in turn;
# 2. a cached variant's rate against the original file's, with wrk;
# 3. the emulator's peak RSS after 32 concurrent first requests on large images.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/target/release/uploadcare-emulator}"
runs="${RUNS:-15}"
for tool in vips vipsthumbnail wrk curl; do
  command -v "$tool" >/dev/null || apt-get install -y libvips-tools wrk curl >/dev/null
done
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
# A 3000x2000 photo-like JPEG: three blurred noise planes, quality 90.
for c in r:128:3 g:110:5 b:90:2; do
  IFS=: read -r name mean blur <<<"$c"
  vips gaussnoise "$name.v" 3000 2000 --sigma 60 --mean "$mean"
  vips gaussblur "$name.v" "${name}b.v" "$blur"
done
vips bandjoin "rb.v gb.v bb.v" rgb.v && vips cast rgb.v rgbu.v uchar && vips copy rgbu.v photo.jpg[Q=90]

start() { # $1: variant cache MB
  "$bin" --listen 127.0.0.1:18231 --data-dir "$work/data$1" --variant-cache-mb "$1" >"$work/log" 2>&1 &
  pid=$!
  until "$bin" --check-ready --listen 127.0.0.1:18231 2>/dev/null; do sleep 0.1; done
}
upload() {
  curl -s -F UPLOADCARE_PUB_KEY=demopublickey -F UPLOADCARE_STORE=1 -F "file=@$1" \
    http://127.0.0.1:18231/base/ | sed 's/.*"file": *"\([^"]*\)".*/\1/'
}
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start 0
id="$(upload photo.jpg)"
url="http://127.0.0.1:18231/$id/-/preview/300x300/-/format/jpeg/"
curl -s "$url" -o first.jpg && vipsheader first.jpg
: >emu.ms; : >vips.ms
for _ in $(seq "$runs"); do
  ms curl -s -o /dev/null "$url" >>emu.ms
  ms vipsthumbnail photo.jpg -s 300x300 -o "$work/thumb.jpg" >>vips.ms
done
echo "first request, median ms: emulator $(median <emu.ms), vipsthumbnail $(median <vips.ms)"

echo "peak RSS before the burst: $(grep VmHWM /proc/$pid/status)"
burst=()
for i in $(seq 0 31); do
  curl -s -o /dev/null "http://127.0.0.1:18231/$id/-/preview/$((1000 + i))x$((1000 + i))/-/format/jpeg/" &
  burst+=($!)
done
wait "${burst[@]}"
echo "after 32 concurrent first requests: $(grep VmHWM /proc/$pid/status)"
kill "$pid"; wait "$pid" 2>/dev/null || true

start 128
id="$(upload photo.jpg)"
curl -s -o /dev/null "http://127.0.0.1:18231/$id/-/preview/300x300/-/format/jpeg/"
for path in "$id/-/preview/300x300/-/format/jpeg/" "$id/"; do
  printf '%s: ' "$path"
  wrk -t2 -c32 -d"${DURATION:-10}s" "http://127.0.0.1:18231/$path" | grep -E "Requests/sec|Transfer/sec" | tr -s ' ' | tr '\n' ' '
  echo
done
