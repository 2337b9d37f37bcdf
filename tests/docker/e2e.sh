#!/usr/bin/env bash
# The Docker image and compose files in a real container engine (issue 18).
#
# Starts its own dockerd (Debian's docker.io, installed when missing), builds every image
# locally (no registry is needed), then for docker/docker-compose.sqlite.yml,
# docker/docker-compose.postgres.yml and docker/docker-compose.replicas.yml (two replicas on
# Postgres with bytes in S3, nginx in front): brings the stack up, waits for every service to
# be healthy, runs the official SDKs (pyuploadcare, @uploadcare/upload-client,
# @uploadcare/rest-client: upload, group, REST list/info, CDN bytes) against the published
# port and from a container on the compose network by service name, checks that data
# survives `down` / `up` (for the replicas: that both replicas, recreated without their
# disks, still serve it), that the emulator runs as a non-root user and that `docker stop`
# ends it within 2 s. Measures the image size, the time to ready and to healthy, and the idle
# memory, and stops dockerd (by its PID) at the end.
#
# Knobs (environment):
#   UC_DOCKER_BIN    the static emulator binary (default: built with docker/build-static.sh)
#   UC_DOCKER_CACHE  kept between runs: the Debian root file system tarball and the engine's
#                    data root, so a second run neither debootstraps nor imports again
#                    (default: target/docker-e2e)
#
# Runs as root (dockerd needs it); CI runs it from .ci/run. Publishes port 8000.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'e2e.sh: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

[[ $(id -u) -eq 0 ]] || die "run as root (dockerd needs it): sudo $0"
STARTED=$(now)

PROJECT=ucdockere2e
EMULATOR_IMAGE=uploadcare-emulator:latest
DEBIAN_IMAGE=uc-e2e-debian:bookworm
# Read by the compose files in place of the official images (none can be pulled here).
export UC_POSTGRES_IMAGE=uc-e2e-postgres:15
export UC_NGINX_IMAGE=uc-e2e-nginx:bookworm
MOTO_VERSION=5.2.1 # moto[server] from PyPI, as tests/replicas/run.sh installs it
export UC_S3_IMAGE=uc-e2e-s3:moto-$MOTO_VERSION
CACHE=${UC_DOCKER_CACHE:-$ROOT/target/docker-e2e}
PY_DIR="$ROOT/tests/sdk/python"
JS_DIR="$ROOT/tests/sdk/js"
# The SDK suites' scenarios this smoke test runs: upload, group, REST list/info.
MOTO_VENV="$ROOT/target/replicas/moto-venv"
PY_SCENARIOS=(upload_small_file upload_png_image create_group_with_cdn_operations_member
  rest_file_info_after_upload rest_group_info rest_list_groups_limit)
JS_SCENARIOS=(upload_small_file upload_file_group_from_buffers group_with_cdn_operations_member
  file_info_by_uuid rest_group_info rest_list_groups_from rest_store_files)
FIGURES=()
figure() { FIGURES+=("$(printf '%-46s %s' "$1" "$2")"); printf '    %-46s %s\n' "$1" "$2" >&2; }

WORK=$(mktemp -d /tmp/uc-docker-e2e.XXXXXX)
DOCKERD_PID=""
COMPOSE_FILE=""

# ------------------------------------------------------------------------------ cleanup
compose() { docker-compose -p "$PROJECT" -f "$ROOT/docker/$COMPOSE_FILE" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$DOCKERD_PID" ]]; then
    if [[ $rc -ne 0 ]]; then
      if [[ -n "$COMPOSE_FILE" ]]; then
        say "logs of $COMPOSE_FILE"
        compose logs --no-color --tail=15 >&2
      fi
      say "dockerd log (last lines)"
      tail -n 20 "$WORK/dockerd.log" >&2
    fi
    [[ -n "$COMPOSE_FILE" ]] && compose down -v --remove-orphans -t 5 >/dev/null 2>&1
    docker rm -f "$PROJECT-measure" >/dev/null 2>&1
    say "stopping dockerd (pid $DOCKERD_PID)"
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 150); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null
    wait "$DOCKERD_PID" 2>/dev/null
  fi
  # Whatever dockerd left mounted (nothing after a clean stop).
  grep -oE " ($WORK|$CACHE/engine)/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  [[ $rc -ne 0 ]] || echo "e2e run time, dockerd stopped and cleaned up: $(($(ms_since "$STARTED") / 1000)) s" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------ tools
say "tools: dockerd, docker-compose, debootstrap, node, python3-venv"
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [[ ${#missing[@]} -gt 0 ]]; then
  # Never let a package's maintainer script start a system dockerd: this script runs its own.
  policy=/usr/sbin/policy-rc.d
  added_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  [[ -z "$added_policy" ]] || rm -f "$policy"
fi
docker --version
docker-compose version --short

# ------------------------------------------------------------------------------ SDKs
# The same installs, in the same places, as tests/sdk/run.sh (its stamps, so either reuses
# the other's work).
fingerprint() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }
stamp="$PY_DIR/.venv/.sdk-installed"
want=$(fingerprint "$PY_DIR/requirements.txt")
if [[ ! -x "$PY_DIR/.venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  say "creating the Python venv (pyuploadcare)"
  python3 -m venv "$PY_DIR/.venv"
  "$PY_DIR/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt"
  echo "$want" >"$stamp"
fi
stamp="$JS_DIR/node_modules/.sdk-installed"
want=$(fingerprint "$JS_DIR/package.json" "$JS_DIR/package-lock.json")
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  say "npm ci (@uploadcare/upload-client, @uploadcare/rest-client)"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
# The client container runs Debian 12's python3 on the venv's packages (same minor version).
site_packages=$(echo "$PY_DIR"/.venv/lib/python3*/site-packages)
[[ "$site_packages" == */python3.11/site-packages ]] ||
  die "the SDK venv must use Python 3.11 (Debian 12's, as the client container): $site_packages"
# The S3 stand-in image runs Debian 12's python3 on this venv's packages, the same way.
if [[ ! -x "$MOTO_VENV/bin/moto_server" ]] ||
  ! "$MOTO_VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')"; then
  say "creating the moto venv (moto[server]==$MOTO_VERSION)"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
moto_site=$(echo "$MOTO_VENV"/lib/python3*/site-packages)
[[ "$moto_site" == */python3.11/site-packages ]] ||
  die "the moto venv must use Python 3.11 (Debian 12's, as the S3 container): $moto_site"

# ------------------------------------------------------------------------------ binary
BIN=${UC_DOCKER_BIN:-}
if [[ -z "$BIN" ]]; then
  say "static binary (docker/build-static.sh)"
  BIN="$ROOT/$(./docker/build-static.sh | tail -n 1)"
fi
[[ -x "$BIN" ]] || die "emulator binary not found: $BIN"
BIN=$(realpath "$BIN")

# ------------------------------------------------------------------------------ dockerd
if (exec 3<>"/dev/tcp/127.0.0.1/8000") 2>/dev/null; then
  die "port 8000 is in use; the compose files publish it"
fi
say "dockerd (data root $CACHE/engine)"
export DOCKER_HOST="unix://$WORK/docker.sock"
mkdir -p "$CACHE/engine"
dockerd --host "$DOCKER_HOST" --data-root "$CACHE/engine" --exec-root "$WORK/exec" \
  --pidfile "$WORK/dockerd.pid" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 300); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2>/dev/null || die "dockerd exited: $(tail -n 5 "$WORK/dockerd.log")"
  sleep 0.1
done
docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'
# Whatever an interrupted run left behind in the kept data root.
docker rm -f "$PROJECT-measure" >/dev/null 2>&1 || true
for file in docker-compose.sqlite.yml docker-compose.postgres.yml docker-compose.replicas.yml; do
  docker-compose -p "$PROJECT" -f "docker/$file" down -v --remove-orphans -t 1 >/dev/null 2>&1 || true
done

# ------------------------------------------------------------------------------ images
# The legacy builder is in every engine and client version; BuildKit needs the buildx plugin.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

say "image $EMULATOR_IMAGE from $BIN (docker/Dockerfile --target from-binary)"
ctx="$WORK/context"
mkdir -p "$ctx/data"
install -s -m 0755 "$BIN" "$ctx/uploadcare-emulator" # stripped, as the from-source stage does
build() { docker build -q "$@" >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; die "docker build $* failed"; }; }
build -f docker/Dockerfile --target from-binary -t "$EMULATOR_IMAGE" "$ctx"
image_bytes=$(docker image inspect -f '{{.Size}}' "$EMULATOR_IMAGE")

key=$(sha256sum <"$HERE/images/build-rootfs.sh" | cut -c1-16)
DEBIAN_IMAGE="$DEBIAN_IMAGE-$key"
say "image $DEBIAN_IMAGE (debootstrap + docker import) and $UC_POSTGRES_IMAGE"
rootfs="$CACHE/debian-bookworm-$key.tar"
if docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
  echo "reusing the image $DEBIAN_IMAGE" >&2
else
  if [[ -s "$rootfs" ]]; then
    echo "reusing $rootfs" >&2
  else
    started=$(now)
    TMPDIR="$WORK" bash "$HERE/images/build-rootfs.sh" "$rootfs"
    figure "debootstrap root file system" "$(ms_since "$started") ms"
  fi
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["/bin/bash"]' "$rootfs" "$DEBIAN_IMAGE" >/dev/null
  # Older root file systems, from an earlier build-rootfs.sh.
  docker images --format '{{.Repository}}:{{.Tag}}' "${DEBIAN_IMAGE%%:*}" |
    grep -vxF "$DEBIAN_IMAGE" | xargs -r docker rmi >/dev/null 2>&1 || true
  find "$CACHE" -maxdepth 1 -name 'debian-bookworm-*.tar' ! -name "${rootfs##*/}" -delete
fi
build -f "$HERE/images/postgres.Dockerfile" --build-arg "BASE=$DEBIAN_IMAGE" \
  -t "$UC_POSTGRES_IMAGE" "$HERE/images"
build -f "$HERE/images/nginx.Dockerfile" --build-arg "BASE=$DEBIAN_IMAGE" \
  -t "$UC_NGINX_IMAGE" "$HERE/images"
# moto's packages are some 100 MB of build context: built once per root file system and
# Dockerfile (the image's label), kept in the engine's data root.
s3_key="$key-$(sha256sum <"$HERE/images/s3.Dockerfile" | cut -c1-16)"
say "image $UC_S3_IMAGE (moto[server] $MOTO_VERSION)"
if [[ "$(docker image inspect -f '{{index .Config.Labels "uc-e2e-key"}}' "$UC_S3_IMAGE" 2>/dev/null)" == "$s3_key" ]]; then
  echo "reusing the image $UC_S3_IMAGE" >&2
else
  s3ctx="$WORK/s3-context"
  mkdir -p "$s3ctx"
  cp -a "$moto_site" "$s3ctx/site-packages"
  printf '#!/bin/sh\nexec python3 -c "import sys; from moto.server import main; sys.exit(main())" "$@"\n' \
    >"$s3ctx/moto_server"
  chmod 0755 "$s3ctx/moto_server"
  cp "$HERE/images/s3.Dockerfile" "$s3ctx/"
  build -f "$s3ctx/s3.Dockerfile" --build-arg "BASE=$DEBIAN_IMAGE" --label "uc-e2e-key=$s3_key" \
    -t "$UC_S3_IMAGE" "$s3ctx"
  rm -rf "$s3ctx"
fi
docker image prune -f >/dev/null # the previous run's images, now untagged

# ------------------------------------------------------------------------------ helpers
# health CONTAINER: its health status, or its state when it has no health check.
health() {
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1"
}

# wait_healthy: every container of the stack healthy (or running, without a health check).
wait_healthy() {
  local ids id status pending
  ids=$(compose ps -q)
  [[ -n "$ids" ]] || die "no containers in $COMPOSE_FILE"
  for _ in $(seq 1 600); do
    pending=""
    for id in $ids; do
      status=$(health "$id")
      case "$status" in
        healthy) ;;
        running) docker inspect -f '{{.State.Health}}' "$id" | grep -q '<nil>' || pending=1 ;;
        unhealthy | exited | dead) die "container $(docker inspect -f '{{.Name}}' "$id") is $status" ;;
        *) pending=1 ;;
      esac
    done
    [[ -n "$pending" ]] || return 0
    sleep 0.1
  done
  die "$COMPOSE_FILE: not every service healthy within 60 s"
}

# container SERVICE: the id of the stack's container of that service.
container() { compose ps -q "$1"; }

# check_user SERVICE: the emulator's process runs as uid 10001, not root.
check_user() {
  local id pid uid
  id=$(container "$1")
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
  [[ "$uid" == 10001 ]] || die "$1 runs as uid $uid, not 10001"
  echo "ok $1 runs as uid $uid (host pid $pid)"
}

# check_stop SERVICE: `docker stop` ends it within 2 s, by its own SIGTERM handling (exit 0).
check_stop() {
  local id started ms code
  id=$(container "$1")
  started=$(now)
  docker stop -t 10 "$id" >/dev/null
  ms=$(ms_since "$started")
  code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
  [[ $ms -lt 2000 && $code == 0 ]] || die "$1: docker stop took $ms ms, exit code $code"
  echo "ok docker stop $1: $ms ms, exit code 0"
  figure "docker stop ($COMPOSE_FILE, $1)" "$ms ms"
}

# smoke NAME UPLOAD/API/CDN-BASE [OTHER-BASES...]: the SDK subsets and the CDN bytes check
# from the host.
smoke_host() {
  local base=$1; shift
  say "[$COMPOSE_FILE] SDKs from the host against $base"
  (
    export UC_UPLOAD_URL="$base/" UC_API_URL="$base/" UC_CDN_URL="$base/"
    export UC_PUB_KEY=demopublickey UC_SECRET_KEY=demosecretkey UC_SDK_JS_DIR="$JS_DIR"
    export UC_OTHER_BASE_URLS="$*"
    "$PY_DIR/.venv/bin/python" "$PY_DIR/scenarios.py" "${PY_SCENARIOS[@]}"
    node "$JS_DIR/scenarios.mjs" "${JS_SCENARIOS[@]}"
    "$PY_DIR/.venv/bin/python" "$HERE/cdn_bytes.py"
    node "$HERE/cdn_bytes.mjs"
  )
}

# smoke_network BASE [OTHER-BASES...]: the same from a client container on the compose
# network, addressing the emulator by service name.
smoke_network() {
  local base=$1; shift
  say "[$COMPOSE_FILE] SDKs from a container on the compose network against $base"
  docker run --rm --network "${PROJECT}_default" -v "$ROOT/tests:/tests:ro" \
    -e UC_UPLOAD_URL="$base/" -e UC_API_URL="$base/" -e UC_CDN_URL="$base/" \
    -e UC_PUB_KEY=demopublickey -e UC_SECRET_KEY=demosecretkey \
    -e UC_OTHER_BASE_URLS="$*" -e UC_SDK_JS_DIR=/tests/sdk/js \
    -e PYTHONPATH="/tests/sdk/python/.venv/lib/python3.11/site-packages" \
    "$DEBIAN_IMAGE" sh -ec "
      curl -fsS $base/_emulator/ready; echo
      python3 /tests/sdk/python/scenarios.py ${PY_SCENARIOS[*]}
      node /tests/sdk/js/scenarios.mjs ${JS_SCENARIOS[*]}
      python3 /tests/docker/cdn_bytes.py
      node /tests/docker/cdn_bytes.mjs"
}

# upload_marker BASE: uploads random bytes (kept in $WORK/marker) and prints the uuid.
upload_marker() {
  head -c 4096 /dev/urandom >"$WORK/marker"
  curl -fsS "$1/base/" -F UPLOADCARE_PUB_KEY=demopublickey -F UPLOADCARE_STORE=1 \
    -F "file=@$WORK/marker" | sed -n 's/.*"file": *"\([^"]*\)".*/\1/p'
}

# check_marker BASE UUID: the CDN answers the marker's bytes.
check_marker() {
  curl -fsS "$1/$2/" -o "$WORK/marker.back"
  cmp -s "$WORK/marker" "$WORK/marker.back" || die "$1/$2/ does not answer the bytes uploaded"
  echo "ok $1/$2/ answers the bytes uploaded before down / up"
}

# up: brings the stack up and waits until every service is healthy; prints the time taken.
up() {
  local started
  started=$(now)
  compose up -d --no-build >/dev/null 2>&1 || { compose up -d --no-build; die "compose up failed"; }
  wait_healthy
  ms_since "$started"
}

# rss CONTAINER: its process's resident memory: "VmRSS MB (anon MB + file-backed MB)".
rss() {
  awk '/^(VmRSS|RssAnon|RssFile):/ { kb[$1] = $2 }
       END { printf "%.1f MB (%.1f + %.1f MB)", kb["VmRSS:"] / 1024, kb["RssAnon:"] / 1024, kb["RssFile:"] / 1024 }' \
    "/proc/$(docker inspect -f '{{.State.Pid}}' "$1")/status"
}

# ------------------------------------------------------------------------------ figures
say "measure: size, time to ready and to healthy, idle memory (docker run $EMULATOR_IMAGE)"
figure "image size ($EMULATOR_IMAGE)" "$(awk -v b="$image_bytes" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }')"
# epoch SECONDS.NANOS of a time docker prints (RFC 3339, or Go's "2006-01-02 15:04:05 +0000 UTC").
epoch() { date -d "${1% UTC}" +%s.%N; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
started=$(now)
docker run -d --name "$PROJECT-measure" -p 127.0.0.1::8000 \
  -e UC_PROJECTS=demopublickey:demosecretkey "$EMULATOR_IMAGE" >/dev/null
run_ms=$(ms_since "$started")
port=$(docker port "$PROJECT-measure" 8000/tcp | head -n1 | sed 's/.*://')
ready_at=""
for _ in $(seq 1 1000); do
  if [[ -z "$ready_at" ]] && curl -fs -o /dev/null "http://127.0.0.1:$port/_emulator/ready"; then
    ready_at=$(now)
  fi
  [[ "$(health "$PROJECT-measure")" == healthy ]] && break
  sleep 0.01
done
[[ "$(health "$PROJECT-measure")" == healthy ]] || die "the image never became healthy"
# The engine's own timestamps: when the process started, when the first good probe ended.
started_at=$(epoch "$(docker inspect -f '{{.State.StartedAt}}' "$PROJECT-measure")")
healthy_at=$(epoch "$(docker inspect -f \
  '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}}|{{end}}{{end}}' "$PROJECT-measure" | cut -d'|' -f1)")
interval=$(docker inspect -f '{{.Config.Healthcheck.Interval}}' "$PROJECT-measure")
figure "docker run (create and start the container)" "$run_ms ms"
figure "process start to ready (/_emulator/ready 200)" "$(ms_between "$started_at" "$ready_at") ms"
figure "process start to healthy ($interval interval)" "$(ms_between "$started_at" "$healthy_at") ms"
figure "docker run to healthy" "$(ms_between "$started" "$healthy_at") ms"
sleep 3
figure "idle memory after start, docker stats" "$(docker stats --no-stream --format '{{.MemUsage}}' "$PROJECT-measure" | cut -d' ' -f1)"
figure "idle RSS after start (anon + file-backed)" "$(rss "$PROJECT-measure")"
docker rm -f "$PROJECT-measure" >/dev/null

# ------------------------------------------------------------------------------ SQLite
COMPOSE_FILE=docker-compose.sqlite.yml
say "[$COMPOSE_FILE] up"
ms=$(up)
figure "compose up to all healthy ($COMPOSE_FILE)" "$ms ms"
check_user uploadcare
smoke_host http://127.0.0.1:8000
smoke_network http://uploadcare:8000
sleep 2
figure "idle RSS after the SDK suites (SQLite)" "$(rss "$(container uploadcare)")"
say "[$COMPOSE_FILE] data survives down / up"
uuid=$(upload_marker http://127.0.0.1:8000)
[[ -n "$uuid" ]] || die "upload of the marker failed"
compose down >/dev/null 2>&1
up >/dev/null
check_marker http://127.0.0.1:8000 "$uuid"
check_stop uploadcare
compose down -v >/dev/null 2>&1
COMPOSE_FILE=""

# ------------------------------------------------------------------------------ Postgres
COMPOSE_FILE=docker-compose.postgres.yml
say "[$COMPOSE_FILE] up (Postgres and the emulator)"
ms=$(up)
figure "compose up to all healthy ($COMPOSE_FILE)" "$ms ms"
check_user uploadcare
smoke_host http://127.0.0.1:8000
sleep 2
figure "idle RSS after the SDK suites (Postgres)" "$(rss "$(container uploadcare)")"
say "[$COMPOSE_FILE] data survives down / up"
uuid=$(upload_marker http://127.0.0.1:8000)
[[ -n "$uuid" ]] || die "upload of the marker failed"
compose down >/dev/null 2>&1
up >/dev/null
check_marker http://127.0.0.1:8000 "$uuid"
check_stop uploadcare
compose down -v >/dev/null 2>&1
COMPOSE_FILE=""

# ------------------------------------------------------------------------------ replicas
COMPOSE_FILE=docker-compose.replicas.yml
say "[$COMPOSE_FILE] up (Postgres, S3, two emulator replicas, nginx)"
ms=$(up)
figure "compose up to all healthy ($COMPOSE_FILE)" "$ms ms"
check_user uploadcare-1
check_user uploadcare-2
smoke_host http://127.0.0.1:8000
# Through nginx, and each replica reading what was written through it.
smoke_network http://nginx:8000 http://uploadcare-1:8000 http://uploadcare-2:8000
# s3_objects: how many objects the S3 service's bucket holds (up to 1000).
s3_objects() {
  compose exec -T s3 python3 -c "import urllib.request as u
print(u.urlopen('http://127.0.0.1:5000/uploadcare?list-type=2').read().decode().count('<Key>'))"
}
objects=$(s3_objects)
[[ "$objects" -gt 0 ]] || die "no object in the S3 service's bucket: the replicas keep bytes elsewhere"
echo "ok $objects objects in the bucket"
say "[$COMPOSE_FILE] both replicas, recreated without their disks, serve what was uploaded"
uuid=$(upload_marker http://127.0.0.1:8000)
[[ -n "$uuid" ]] || die "upload of the marker failed"
compose rm -s -f -v uploadcare-1 uploadcare-2 >/dev/null 2>&1
up >/dev/null
# nginx resolves the replicas' names when it starts; recreated containers may have new
# addresses (docs/replicas.md).
compose restart -t 5 nginx >/dev/null 2>&1
wait_healthy
check_marker http://127.0.0.1:8000 "$uuid" # round robin: one replica,
check_marker http://127.0.0.1:8000 "$uuid" # then the other
check_stop uploadcare-2
check_stop uploadcare-1
compose down -v >/dev/null 2>&1
COMPOSE_FILE=""

figure "e2e run time before cleanup" "$(($(ms_since "$STARTED") / 1000)) s"
say "figures"
printf '    %s\n' "${FIGURES[@]}" >&2
say "docker e2e passed"
