"""Checks the docker/ files without a Docker engine.

* Each docker/docker-compose*.yml validates against the Compose specification's JSON schema
  (compose/config/compose_spec.json from the docker-compose package on PyPI), with the
  jsonschema library.
* The Dockerfile builds with docker/build-static.sh (the script CI runs), runs as a non-root
  user, has a HEALTHCHECK using --check-ready, and declares the /data volume.
* docker-compose.replicas.yml runs two or more emulator replicas on one Postgres database and
  one S3 blob store, reachable only through nginx, whose configuration
  (docker/nginx.replicas.conf, also what tests/replicas/run.sh runs) names exactly those
  replicas and keeps the rules docs/replicas.md gives for any load balancer.
* Its two final stages (from-binary, the first stage, which CI builds from the host's static
  binary; from-source, the last stage and the default target) set the same user,
  environment, volume, ports, health check and entry point, so CI tests what users build.

Usage: python check.py <compose_spec.json>
"""
import glob
import json
import os
import sys

import jsonschema
import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
failures = 0
passes = 0


def check(name, ok, why=""):
    global failures, passes
    print(("ok " if ok else "FAIL ") + name + ("" if ok else ": " + why))
    failures += 0 if ok else 1
    passes += 1 if ok else 0


schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator(schema)
compose_files = sorted(glob.glob(os.path.join(root, "docker", "docker-compose*.yml")))
check("compose files exist", len(compose_files) >= 3, "expected the SQLite, Postgres and replicas examples")
for path in compose_files:
    doc = yaml.safe_load(open(path))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    check(
        os.path.basename(path) + " matches the Compose schema",
        not errors,
        "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]),
    )
    for name, service in doc.get("services", {}).items():
        if "uploadcare" in name:
            env = service.get("environment", {})
            check(f"{os.path.basename(path)}:{name} sets projects", "UC_PROJECTS" in env)

# ------------------------------------------------------------------ replicas behind nginx
replicas_doc = yaml.safe_load(open(os.path.join(root, "docker", "docker-compose.replicas.yml")))
services = replicas_doc.get("services", {})
replicas = {n: s for n, s in services.items() if "uploadcare" in n}
envs = [s.get("environment", {}) for s in replicas.values()]
check("replicas.yml runs two or more replicas", len(replicas) >= 2, f"{sorted(replicas)}")
check(
    "replicas.yml: every replica on the same Postgres database",
    len({e.get("UC_DATABASE_URL") for e in envs}) == 1
    and str(envs[0].get("UC_DATABASE_URL", "")).startswith("postgres://"),
    f"{[e.get('UC_DATABASE_URL') for e in envs]}",
)
check(
    "replicas.yml: every replica on the same S3 blob store",
    len({e.get("UC_BLOB_STORE") for e in envs}) == 1
    and str(envs[0].get("UC_BLOB_STORE", "")).startswith("s3://"),
    f"{[e.get('UC_BLOB_STORE') for e in envs]}",
)
check(
    "replicas.yml: links follow the Host nginx passes on (no UC_*_BASE_URL)",
    not any(k.endswith("_BASE_URL") for e in envs for k in e),
)
published = sorted(n for n, s in services.items() if s.get("ports"))
check("replicas.yml: only nginx publishes a port", published == ["nginx"], f"{published}")
nginx = services.get("nginx", {})
check(
    "replicas.yml: nginx runs docker/nginx.replicas.conf",
    any(str(v).startswith("./nginx.replicas.conf:") for v in nginx.get("volumes", [])),
)
check(
    "replicas.yml: nginx starts after every replica is healthy",
    all(
        (nginx.get("depends_on") or {}).get(n, {}).get("condition") == "service_healthy"
        for n in replicas
    ),
)
conf = open(os.path.join(root, "docker", "nginx.replicas.conf")).read()
directives = [" ".join(line.split("#")[0].split()) for line in conf.splitlines()]
upstreams = sorted(d.split()[1].split(":")[0] for d in directives if d.startswith("server ") and d.endswith(";"))
check("nginx.replicas.conf names the replicas", upstreams == sorted(replicas), f"{upstreams}")
for rule in [
    "proxy_set_header Host $http_host;",
    "proxy_request_buffering off;",
    "proxy_buffering off;",
    "client_max_body_size 0;",
    "proxy_next_upstream error timeout;",
    "listen 8000;",
]:
    check(f"nginx.replicas.conf: {rule}", rule in directives)

dockerfile = open(os.path.join(root, "docker", "Dockerfile")).read()
check("Dockerfile builds with build-static.sh", "docker/build-static.sh" in dockerfile)
check("Dockerfile runs as non-root", "USER 10001" in dockerfile)
check("Dockerfile has a HEALTHCHECK", "HEALTHCHECK" in dockerfile and "--check-ready" in dockerfile)
check("Dockerfile declares the data volume", 'VOLUME ["/data"]' in dockerfile)
check("Dockerfile uses a static base", "FROM scratch" in dockerfile)


def stages(text):
    """[(name, [instruction, ...])] with continuation lines joined and comments dropped."""
    result, joined = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not joined:
            continue
        joined += line.rstrip("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        instruction, joined = " ".join(joined.split()), ""
        if not instruction:
            continue
        if instruction.upper().startswith("FROM "):
            words = instruction.split()
            result.append((words[3] if len(words) > 3 else words[1], []))
        elif result:
            result[-1][1].append(instruction)
    return result


RUNTIME = ("USER", "ENV", "VOLUME", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "STOPSIGNAL")
found = stages(dockerfile)
names = [name for name, _ in found]
check("Dockerfile's first stage is from-binary", names[:1] == ["from-binary"], f"stages {names}")
check("Dockerfile's last stage is from-source", names[-1:] == ["from-source"], f"stages {names}")
runtime = {
    name: [i for i in body if i.split()[0].upper() in RUNTIME] for name, body in found
}
check(
    "from-binary and from-source set the same runtime settings",
    runtime.get("from-binary") == runtime.get("from-source") and bool(runtime.get("from-binary")),
    f"{runtime.get('from-binary')} != {runtime.get('from-source')}",
)

print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
