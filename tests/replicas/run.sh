#!/usr/bin/env bash
# Two emulator replicas for real (issue 16): one fresh Postgres database, file bytes in an
# S3-compatible server (moto_server from PyPI's moto[server]), nginx round-robin in front
# (docker/nginx.replicas.conf, one choice per request). Then, through the proxy:
#   1. the official SDK suites (tests/sdk/run.sh in its external mode): pyuploadcare,
#      @uploadcare/upload-client, @uploadcare/rest-client;
#   2. the kill test: tests/replicas/writer.py uploads files (direct and multipart) and
#      creates groups from several threads; replica 1 is SIGKILLed mid-run and restarted a
#      few seconds later; afterwards every acknowledged file (REST info, CDN bytes by
#      SHA-256) and group is read back through the proxy. Nothing acknowledged may be lost;
#      requests in flight on the killed replica may fail (they are counted and printed).
# Starts everything it needs and stops it (by PID) and drops the database at the end.
#
# Knobs (environment):
#   UC_REPLICAS_BIN       emulator binary (default: cargo build, debug profile)
#   UC_TEST_POSTGRES_URL  server to create the database on
#                         (default postgres://postgres@127.0.0.1:5432/test)
#   UC_REPLICAS_DURATION  seconds the writer writes (default 24; the kill comes at a third)
#   UC_REPLICAS_SKIP_SDK  set to skip the SDK suites (the kill test alone)
#   UC_REPLICAS_SDK_SKIP  SDK scenarios not to run, comma-separated (default: none)
#   UC_REPLICAS_KEEP      set to keep the work directory (logs) instead of removing it
#
# Needs python3 (venv), node/npm (the SDK suites), psql, curl; installs nginx-light with apt
# and moto[server] into a venv under target/replicas/ when they are missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG_URL=${UC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
DURATION=${UC_REPLICAS_DURATION:-24}
PUB=demopublickey
SECRET=demosecretkey
BUCKET=uc-replicas

STARTED=$(date +%s.%N)
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'replicas/run.sh: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
SUMMARY=()
note() { SUMMARY+=("$(printf '%-44s %s' "$1" "$2")"); }

# ------------------------------------------------------------------------------ cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/uc-replicas.XXXXXX")
PIDS=()    # name=pid of every process started here
DB=""

stop() { # stop NAME: SIGTERM the process started under that name, and wait for it
  local i entry
  for i in "${!PIDS[@]}"; do
    entry=${PIDS[$i]}
    if [[ ${entry%%=*} == "$1" ]]; then
      kill "${entry#*=}" 2>/dev/null || true
      wait "${entry#*=}" 2>/dev/null || true
      unset "PIDS[$i]"
    fi
  done
}

cleanup() {
  local rc=$? entry
  set +e
  if [[ $rc -ne 0 ]]; then
    for log in "$WORK"/*.log; do
      [[ -s "$log" ]] || continue
      say "last lines of ${log##*/}"
      tail -n 15 "$log" >&2
    done
  fi
  for entry in "${PIDS[@]+"${PIDS[@]}"}"; do kill "${entry#*=}" 2>/dev/null; done
  for entry in "${PIDS[@]+"${PIDS[@]}"}"; do wait "${entry#*=}" 2>/dev/null; done
  [[ -z "$DB" ]] || psql "$PG_URL" -q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
  if [[ -n "${UC_REPLICAS_KEEP:-}" ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a loopback port nobody listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL WHAT PID: until URL answers (any status), or fail when PID died.
wait_http() {
  local i
  for ((i = 0; i < 600; i++)); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited during start-up"
    sleep 0.1
  done
  die "$2 did not answer within 60 s"
}

# Thousands of kill-test answers from two processes are not for the contract check (.ci/run
# records the SDK suites' answers against one server).
unset UC_RECORD_ANSWERS

# ------------------------------------------------------------------------------ tools
if [[ -n "${UC_REPLICAS_BIN:-}" ]]; then
  BIN=$UC_REPLICAS_BIN
else
  say "building the emulator (debug)"
  (cd "$ROOT" && cargo build --quiet --bin uploadcare-emulator)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/uploadcare-emulator"
fi
[[ -x "$BIN" ]] || die "emulator binary not found: $BIN"
BIN=$(realpath "$BIN")

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$NGINX" ]]; then
  say "installing nginx-light"
  # Never let the package's maintainer script start a system nginx: this script runs its own.
  policy=/usr/sbin/policy-rc.d
  added_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    added_policy=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nginx-light >/dev/null
  [[ -z "$added_policy" ]] || as_root rm -f "$policy"
  NGINX=/usr/sbin/nginx
fi

MOTO=$(command -v moto_server || true)
if [[ -z "$MOTO" ]]; then
  venv="$ROOT/target/replicas/moto-venv"
  if [[ ! -x "$venv/bin/moto_server" ]]; then
    say "installing moto[server] into $venv"
    python3 -m venv "$venv"
    # The version tests/docker/e2e.sh puts into its S3 image (it shares this venv).
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
  fi
  MOTO="$venv/bin/moto_server"
fi

# ------------------------------------------------------------------------------ S3
say "S3-compatible server (moto_server) and bucket $BUCKET"
S3_PORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=("moto=$!")
wait_http "http://127.0.0.1:$S3_PORT/" moto_server "$!"
curl -fsS -X PUT "http://127.0.0.1:$S3_PORT/$BUCKET" -o /dev/null || die "could not create the bucket"
export AWS_ACCESS_KEY_ID=replicas-test AWS_SECRET_ACCESS_KEY=replicas-test-secret
export AWS_DEFAULT_REGION=us-east-1
BLOB_STORE="s3://$BUCKET?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1"

# ------------------------------------------------------------------------------ Postgres
DB="uc_replicas_$(date +%s)_$$"
say "Postgres database $DB"
psql "$PG_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\"" >/dev/null
base=${PG_URL%%\?*}
query=""
[[ "$PG_URL" == *\?* ]] && query="?${PG_URL#*\?}"
DATABASE_URL="${base%/*}/$DB$query"

# ------------------------------------------------------------------------------ replicas
bash "$ROOT/tests/sdk/run.sh" config "$WORK/sdk" >/dev/null
export UC_BLOB_STORE="$BLOB_STORE"
PORT1=$(free_port)
PORT2=$(free_port)
PROXY_PORT=$(free_port)
PROXY="http://127.0.0.1:$PROXY_PORT"

# start_replica N PORT: replica N on that port, with its own data directory (temporary
# files only: the bytes are in the bucket); links in answers follow the Host header the
# proxy passes on.
start_replica() {
  local data="$WORK/data-$1"
  mkdir -p "$data"
  UC_DATABASE_URL="$DATABASE_URL" UC_DATA_DIR="$data" \
    "$BIN" --listen "127.0.0.1:$2" --config "$WORK/sdk/emulator.toml" \
    --project "$PUB:$SECRET" >>"$WORK/replica-$1.log" 2>&1 &
  PIDS+=("replica-$1=$!")
  REPLICA_PID=$!
}

say "two replicas on ports $PORT1 and $PORT2, bytes in $UC_BLOB_STORE"
t=$(now)
# Both at once, as an orchestrator starts them: migrations and project set-up must not race.
start_replica 1 "$PORT1"
pid1=$REPLICA_PID
start_replica 2 "$PORT2"
pid2=$REPLICA_PID
wait_http "http://127.0.0.1:$PORT1/_emulator/ready" "replica 1" "$pid1"
wait_http "http://127.0.0.1:$PORT2/_emulator/ready" "replica 2" "$pid2"
for port in "$PORT1" "$PORT2"; do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/_emulator/ready" || die "replica on $port is not ready"
done
note "replicas started (both ready)" "$(secs_since "$t") s"

# ------------------------------------------------------------------------------ proxy
say "nginx round-robin proxy on $PROXY"
mkdir -p "$WORK/nginx"
sed -e "s/uploadcare-1:8000/127.0.0.1:$PORT1/" -e "s/uploadcare-2:8000/127.0.0.1:$PORT2/" \
  -e "s/listen 8000;/listen 127.0.0.1:$PROXY_PORT;/" \
  "$ROOT/docker/nginx.replicas.conf" >"$WORK/nginx/replicas.conf"
grep -q "127.0.0.1:$PORT2" "$WORK/nginx/replicas.conf" || die "docker/nginx.replicas.conf changed shape"
# As root, nginx's workers would run as nobody, who may not write into $WORK.
user_line=""
[[ $(id -u) -ne 0 ]] || user_line="user root;"
cat >"$WORK/nginx/nginx.conf" <<EOF
$user_line
worker_processes 2;
error_log $WORK/nginx.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  log_format upstream '\$upstream_addr \$status \$request_method \$uri';
  access_log $WORK/nginx/access.log upstream;
  client_body_temp_path $WORK/nginx/client_body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  include $WORK/nginx/replicas.conf;
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off; master_process on;' \
  >>"$WORK/nginx.log" 2>&1 &
PIDS+=("nginx=$!")
wait_http "$PROXY/_emulator/ready" nginx "$!"

# spread: "replica 1: N, replica 2: M" requests in the proxy's access log so far.
spread() {
  awk -v a="127.0.0.1:$PORT1" -v b="127.0.0.1:$PORT2" '
    { n = split($1, tried, ", "); last = tried[n]; if (last == a) one++; else if (last == b) two++ }
    END { printf "replica 1: %d, replica 2: %d", one, two }' "$WORK/nginx/access.log"
}

STATUS=0
# ------------------------------------------------------------------------------ SDK suites
# Every scenario runs, those of faults, the clock and webhook delivery too: the replicas
# share that state (docs/replicas.md, "What is shared").
SDK_SKIP=${UC_REPLICAS_SDK_SKIP:-}
[[ -z "$SDK_SKIP" ]] || echo "note: skipping the SDK scenarios $SDK_SKIP" >&2
if [[ -z "${UC_REPLICAS_SKIP_SDK:-}" ]]; then
  say "SDK suites through the proxy"
  t=$(now)
  if UC_SDK_URL="$PROXY" UC_SDK_STORAGE_DIR="$WORK/sdk/storage" UC_SDK_SKIP="$SDK_SKIP" \
    bash "$ROOT/tests/sdk/run.sh"; then
    note "SDK suites through the proxy: passed" "$(secs_since "$t") s"
  else
    note "SDK suites through the proxy: FAILED" "$(secs_since "$t") s"
    STATUS=1
  fi
  note "requests per replica (SDK suites)" "$(spread)"
fi

# ------------------------------------------------------------------------------ kill test
say "kill test: writing for $DURATION s, replica 1 SIGKILLed at a third, restarted at two thirds"
: >"$WORK/nginx/access.log"
kill -USR1 "$(cat "$WORK/nginx/nginx.pid")" # reopen the access log
t=$(now)
python3 "$HERE/writer.py" write --base "$PROXY" --out "$WORK/acked.jsonl" --duration "$DURATION" \
  >"$WORK/writer.out" 2>&1 &
writer=$!
PIDS+=("writer=$writer")
sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 3 }')"
kill -KILL "$pid1"
wait "$pid1" 2>/dev/null || true
killed_at=$(secs_since "$t")
say "SIGKILLed replica 1 (pid $pid1) at $killed_at s"
# Alone on the database now, replica 2 takes the sole-replica lease and reads from memory.
alone_at=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT2/_emulator/store" | grep -q '"reads":"memory"'; then
    alone_at=$(secs_since "$t")
    break
  fi
  sleep 0.1
done
[[ -n "$alone_at" ]] || { STATUS=1; echo "FAIL replica 2, alone, kept checking its reads" >&2; }
sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 3 }')"
start_replica 1 "$PORT1"
pid1=$REPLICA_PID
restarted_at=$(secs_since "$t")
wait_http "http://127.0.0.1:$PORT1/_emulator/ready" "replica 1 (restarted)" "$pid1"
say "restarted replica 1 at $restarted_at s, ready at $(secs_since "$t") s"
# Two replicas again: neither may trust its memory.
for port in "$PORT1" "$PORT2"; do
  reads=$(curl -fsS "http://127.0.0.1:$port/_emulator/store" || true)
  [[ $reads == *'"reads":"checked"'* ]] ||
    { STATUS=1; echo "FAIL the replica on $port answers $reads beside another" >&2; }
done
write_rc=0
wait "$writer" || write_rc=$?
cat "$WORK/writer.out"
[[ $write_rc -eq 0 ]] || { STATUS=1; echo "FAIL the writer saw wrong answers" >&2; }
write_summary=$(sed -n 's/^summary: //p' "$WORK/writer.out")
note "kill test: replica 1" "SIGKILLed at $killed_at s, restarted at $restarted_at s"
note "kill test: replica 2 alone, reads from memory" "from ${alone_at:-never} s"
note "kill test: requests per replica" "$(spread)"

say "kill test: reading every acknowledged file and group back through the proxy"
t=$(now)
verify_rc=0
python3 "$HERE/writer.py" verify --base "$PROXY" --acked "$WORK/acked.jsonl" --lists >"$WORK/verify.out" 2>&1 ||
  verify_rc=$?
cat "$WORK/verify.out"
[[ $verify_rc -eq 0 ]] || { STATUS=1; echo "FAIL acknowledged data lost or wrong" >&2; }
verify_summary=$(sed -n 's/^summary: //p' "$WORK/verify.out")

# ------------------------------------------------------------------------------ bytes in S3
objects=$(curl -fsS "http://127.0.0.1:$S3_PORT/$BUCKET?list-type=2&max-keys=1000" |
  grep -o '<Key>' | wc -l || true)
note "objects in the S3 bucket (first 1000)" "$objects"
[[ $objects -gt 0 ]] || { STATUS=1; echo "FAIL no object in the S3 bucket" >&2; }
# No file's bytes stay on a replica's disk: nothing as large as a multipart upload's.
big=$(find "$WORK"/data-* -type f -size +1M | head -n 5)
note "replica data directories" "$(du -sh "$WORK"/data-* | awk '{ printf "%s %s  ", $1, $2 }')"
[[ -z "$big" ]] || { STATUS=1; echo "FAIL file bytes on a replica's disk: $big" >&2; }

say "summary"
note "kill test: written" "$write_summary"
note "kill test: verified" "$verify_summary"
note "total" "$(secs_since "$STARTED") s"
printf '    %s\n' "${SUMMARY[@]}" >&2
[[ $STATUS -eq 0 ]] && say "replicas: passed" || say "replicas: FAILED"
exit $STATUS
