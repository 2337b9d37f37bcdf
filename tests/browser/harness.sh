# Shared start-up of the browser tests (run.sh, console.sh), sourced after `set -euo pipefail`
# with NAME set to the calling script's name: a work folder removed at exit, Debian's Chromium
# and the npm packages installed when missing, the emulator binary resolved, and
# `start_emulator [VAR=value ...]` starting a fresh emulator on a free loopback port (its
# first stdout line names the address, read through a FIFO, no polling) and setting BASE_URL.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$NAME" "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uc-$NAME.XXXXXX")
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

# playwright-core never downloads a browser; Chromium comes from Debian.
for package in playwright-core @uploadcare/file-uploader @uploadcare/upload-client @uploadcare/rest-client; do
    if [[ ! -d "$HERE/node_modules/$package" ]]; then
        say "installing the test's npm packages (npm ci)"
        (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
        break
    fi
done

if [[ -n "${UC_BROWSER_BIN:-}" ]]; then
    BIN=$UC_BROWSER_BIN
else
    say "building the emulator"
    (cd "$ROOT" && cargo build --quiet --bin uploadcare-emulator)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/uploadcare-emulator"
fi
[[ -x "$BIN" ]] || die "emulator binary not found: $BIN"

start_emulator() {
    mkfifo "$WORK/stdout"
    env "$@" "$BIN" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
        --project demopublickey:demosecretkey >"$WORK/stdout" 2>"$WORK/emulator.err" &
    SERVER_PID=$!
    exec 3<"$WORK/stdout"
    local banner=""
    read -r -t 120 banner <&3 || { cat "$WORK/emulator.err" >&2; die "the emulator did not start"; }
    cat <&3 >/dev/null &
    BASE_URL=$(sed -n 's#^.*listening on \(http://[^ ]*\).*$#\1#p' <<<"$banner")
    [[ -n "$BASE_URL" ]] || die "unexpected first line from the emulator: $banner"
    say "emulator at $BASE_URL"
}
