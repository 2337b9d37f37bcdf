#!/usr/bin/env bash
# Runs the official-SDK scenario suites (tests/sdk/python, tests/sdk/js) against the
# emulator binary, once per storage backend: SQLite always, Postgres too when
# UC_TEST_POSTGRES_URL is set (a fresh database is created on that server and dropped).
#
# External mode: with UC_SDK_URL set, no server is started; the suites run once against that
# URL (e.g. a proxy in front of several replicas, see tests/replicas/run.sh). The emulator
# there must serve the projects and the custom storage this script configures: start it with
# `--project demopublickey:demosecretkey --config DIR/emulator.toml` after
# `tests/sdk/run.sh config DIR` wrote that file (its storage directory is DIR/storage).
#
# Knobs (environment):
#   UC_SDK_URL       run against the emulator at this base URL instead of starting one
#   UC_SDK_PROFILE   debug (default) or release: which cargo profile to build and run
#   UC_SDK_BIN       use this emulator binary instead of building one
#   UC_SDK_SUITES    suites to run, comma-separated (default: python,js)
#   UC_SDK_BACKENDS  backends to run, comma-separated (default: sqlite, plus postgres
#                    when UC_TEST_POSTGRES_URL is set)
#   UC_TEST_POSTGRES_URL  e.g. postgres://postgres@127.0.0.1:5432/test
#   UC_SDK_VERBOSE   set to print Python tracebacks and JS stacks for failures
#   UC_SDK_STORAGE_DIR  external mode: the custom storage's directory (DIR/storage), so
#                    the remote copy scenario checks the file written there
#
# Exit status: 0 when every suite passed on every backend, 1 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFILE=${UC_SDK_PROFILE:-debug}
SUITES=${UC_SDK_SUITES:-python,js}
PY_DIR="$HERE/python"
JS_DIR="$HERE/js"

PUB=demopublickey
SECRET=demosecretkey
SIGNED_PUB=sdksignedpublickey
SIGNED_SECRET=sdksignedsecretkey

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# write_config DIR: DIR/emulator.toml, the projects and custom storage the suites expect
# besides the demo project (--project $PUB:$SECRET): a signed-uploads project and the demo
# project's custom storage "sdktarget" writing to DIR/storage.
write_config() {
    mkdir -p "$1/storage"
    cat >"$1/emulator.toml" <<EOF
# A second project that requires signed uploads, for the signature scenarios.
[[projects]]
pub_key = "$SIGNED_PUB"
secret_key = "$SIGNED_SECRET"
name = "SDK signed project"
signed_uploads = true

# A custom storage of the demo project, for the remote copy scenarios.
[[storages]]
pub_key = "$PUB"
name = "sdktarget"
directory = "$1/storage"
bucket = "sdkbucket"
EOF
}

if [[ "${1:-}" == config ]]; then
    [[ -n "${2:-}" ]] || die "usage: run.sh config DIR"
    write_config "$2"
    echo "$2/emulator.toml"
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: run.sh [config DIR]"

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/uc-sdk.XXXXXX")
SERVER_PID=""
PG_DBS=()

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

cleanup() {
    stop_server
    for db in "${PG_DBS[@]+"${PG_DBS[@]}"}"; do
        psql "$UC_TEST_POSTGRES_URL" -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- build
EXTERNAL=${UC_SDK_URL:-}
if [[ -n "$EXTERNAL" ]]; then
    BIN=""
elif [[ -n "${UC_SDK_BIN:-}" ]]; then
    BIN=$UC_SDK_BIN
else
    case "$PROFILE" in
        debug) build_flags=() ;;
        release) build_flags=(--release) ;;
        *) die "UC_SDK_PROFILE must be debug or release, got $PROFILE" ;;
    esac
    say "building the emulator ($PROFILE)"
    (cd "$ROOT" && cargo build --quiet --bin uploadcare-emulator "${build_flags[@]+"${build_flags[@]}"}")
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/uploadcare-emulator"
fi
[[ -n "$EXTERNAL" || -x "$BIN" ]] || die "emulator binary not found: $BIN"

# ---------------------------------------------------------------- clients
fingerprint() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

if [[ ",$SUITES," == *",python,"* ]]; then
    stamp="$PY_DIR/.venv/.sdk-installed"
    want=$(fingerprint "$PY_DIR/requirements.txt")
    if [[ ! -x "$PY_DIR/.venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        say "creating the Python venv (pyuploadcare)"
        python3 -m venv "$PY_DIR/.venv"
        "$PY_DIR/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt"
        echo "$want" >"$stamp"
    fi
fi

if [[ ",$SUITES," == *",js,"* ]]; then
    stamp="$JS_DIR/node_modules/.sdk-installed"
    want=$(fingerprint "$JS_DIR/package.json" "$JS_DIR/package-lock.json")
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        say "npm ci (@uploadcare/upload-client, @uploadcare/rest-client)"
        (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
fi

# ---------------------------------------------------------------- server
write_config "$WORK"

# start_server NAME [--database-url URL]: starts the emulator on a free loopback port
# and sets BASE_URL once it answers.
start_server() {
    local name=$1; shift
    local dir="$WORK/$name"
    mkdir -p "$dir/data"
    LOG="$dir/server.log"
    : >"$LOG"
    "$BIN" --listen 127.0.0.1:0 --data-dir "$dir/data" --config "$WORK/emulator.toml" \
        --project "$PUB:$SECRET" "$@" >"$LOG" 2>&1 &
    SERVER_PID=$!
    BASE_URL=""
    local i
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$LOG" >&2
            SERVER_PID=""
            die "the emulator exited during start-up"
        fi
        BASE_URL=$(sed -n 's#^.*listening on \(http://[^ ]*\).*$#\1#p' "$LOG" | head -n1)
        if [[ -n "$BASE_URL" ]] &&
            curl -s -o /dev/null --max-time 2 "$BASE_URL/info/?pub_key=$PUB&file_id=x"; then
            return 0
        fi
        sleep 0.1
    done
    cat "$LOG" >&2
    die "the emulator did not answer within 30 s"
}

run_suites() {
    local backend=$1 rc=0
    export UC_UPLOAD_URL="$BASE_URL/" UC_API_URL="$BASE_URL/" UC_CDN_URL="$BASE_URL/"
    export UC_PUB_KEY=$PUB UC_SECRET_KEY=$SECRET
    export UC_SIGNED_PUB_KEY=$SIGNED_PUB UC_SIGNED_SECRET_KEY=$SIGNED_SECRET
    if [[ -n "$EXTERNAL" ]]; then
        export UC_STORAGE_DIR="${UC_SDK_STORAGE_DIR:-}"
    else
        export UC_STORAGE_DIR="$WORK/storage"
    fi
    if [[ ",$SUITES," == *",python,"* ]]; then
        say "[$backend] pyuploadcare suite against $BASE_URL"
        "$PY_DIR/.venv/bin/python" "$PY_DIR/scenarios.py" || { rc=1; RESULTS+=("$backend python: FAILED"); }
        [[ $rc -ne 0 ]] || RESULTS+=("$backend python: ok")
    fi
    if [[ ",$SUITES," == *",js,"* ]]; then
        say "[$backend] @uploadcare JS suite against $BASE_URL"
        if node "$JS_DIR/scenarios.mjs"; then
            RESULTS+=("$backend js: ok")
        else
            rc=1
            RESULTS+=("$backend js: FAILED")
        fi
    fi
    return $rc
}

if [[ -n "$EXTERNAL" ]]; then
    BACKENDS=(external)
elif [[ -n "${UC_SDK_BACKENDS:-}" ]]; then
    IFS=, read -r -a BACKENDS <<<"$UC_SDK_BACKENDS"
elif [[ -n "${UC_TEST_POSTGRES_URL:-}" ]]; then
    BACKENDS=(sqlite postgres)
else
    BACKENDS=(sqlite)
fi

RESULTS=()
STATUS=0
for backend in "${BACKENDS[@]}"; do
    case "$backend" in
        sqlite)
            start_server sqlite
            ;;
        postgres)
            [[ -n "${UC_TEST_POSTGRES_URL:-}" ]] || die "postgres backend needs UC_TEST_POSTGRES_URL"
            db="uc_sdk_$(date +%s)_$$"
            psql "$UC_TEST_POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
            PG_DBS+=("$db")
            # Same server and credentials, the new database in place of the URL's path.
            base=${UC_TEST_POSTGRES_URL%%\?*}
            query=""
            [[ "$UC_TEST_POSTGRES_URL" == *\?* ]] && query="?${UC_TEST_POSTGRES_URL#*\?}"
            start_server postgres --database-url "${base%/*}/$db$query"
            ;;
        external)
            BASE_URL=${EXTERNAL%/}
            LOG=/dev/null
            curl -s -o /dev/null --max-time 5 "$BASE_URL/info/?pub_key=$PUB&file_id=x" ||
                die "no emulator answers at $BASE_URL"
            ;;
        *) die "unknown backend $backend (sqlite or postgres)" ;;
    esac
    run_suites "$backend" || STATUS=1
    stop_server
    if [[ $STATUS -ne 0 && -n "${UC_SDK_VERBOSE:-}" && -n "$BIN" ]]; then
        say "[$backend] server log:"
        cat "$LOG" >&2
    fi
done

say "summary"
printf '    %s\n' "${RESULTS[@]}" >&2
exit $STATUS
