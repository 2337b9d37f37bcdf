#!/usr/bin/env bash
# The emulator's console (/_emulator/console/) in headless Chromium against the emulator
# binary started with an admin token: see tests/browser/console.mjs for the scenario.
# Screenshots of each page go to target/console/*.png.
#
# Knobs (environment):
#   UC_BROWSER_BIN          use this emulator binary instead of building one (debug)
#   UC_CONSOLE_SCREENSHOTS  where to save the screenshots [target/console]
#   UC_CHROMIUM             Chromium executable [/usr/bin/chromium]; Debian's package
#                           `chromium` is installed with apt-get when missing
#   UC_RECORD_ANSWERS       passed on to the emulator (contract checks, tests/contract/)
#
# Prints `N passed, M failed`; exit status 0 only when every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'console.sh: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uc-console.XXXXXX")
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CHROMIUM=${UC_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" ]]; then
    say "installing Debian's chromium"
    apt-get install -y -q chromium >/dev/null || die "cannot install chromium (apt-get install -y chromium)"
fi
export UC_CHROMIUM=$CHROMIUM

if [[ ! -d "$HERE/node_modules/playwright-core" ]]; then
    say "installing playwright-core (npm ci)"
    # playwright-core never downloads a browser; Chromium comes from Debian.
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ -n "${UC_BROWSER_BIN:-}" ]]; then
    BIN=$UC_BROWSER_BIN
else
    say "building the emulator"
    (cd "$ROOT" && cargo build --quiet --bin uploadcare-emulator)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/uploadcare-emulator"
fi
[[ -x "$BIN" ]] || die "emulator binary not found: $BIN"

# A fresh emulator on a free loopback port with an admin token; its first stdout line names
# the address, read through a FIFO (no polling).
TOKEN="console-test-$RANDOM$RANDOM"
mkfifo "$WORK/stdout"
UC_ADMIN_TOKEN="$TOKEN" "$BIN" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --project demopublickey:demosecretkey >"$WORK/stdout" 2>"$WORK/emulator.err" &
SERVER_PID=$!
exec 3<"$WORK/stdout"
banner=""
read -r -t 120 banner <&3 || { cat "$WORK/emulator.err" >&2; die "the emulator did not start"; }
cat <&3 >/dev/null &
BASE_URL=$(sed -n 's#^.*listening on \(http://[^ ]*\).*$#\1#p' <<<"$banner")
[[ -n "$BASE_URL" ]] || die "unexpected first line from the emulator: $banner"
say "emulator at $BASE_URL"

export UC_CONSOLE_SCREENSHOTS=${UC_CONSOLE_SCREENSHOTS:-$ROOT/target/console}
node "$HERE/console.mjs" "$BASE_URL" "$TOKEN"
