#!/usr/bin/env bash
# Validates docker/ without a Docker engine (see check.py) in a throwaway virtualenv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q jsonschema==4.23.0 PyYAML==6.0.2
"$work/venv/bin/pip" download -q --no-deps -d "$work" docker-compose==1.29.2
python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('compose/config/compose_spec.json', sys.argv[2])" \
  "$work"/docker_compose-1.29.2-*.whl "$work"
"$work/venv/bin/python" "$here/check.py" "$work/compose/config/compose_spec.json"
