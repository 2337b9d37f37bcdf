#!/usr/bin/env bash
# Contract check: records every answer the tests see and validates them against the
# reference (tests/contract/check.py, docs/contract.md).
#
#   tests/contract/run.sh                 # cargo test (both backends when
#                                         # UC_TEST_POSTGRES_URL is set), then check
#   tests/contract/run.sh --all           # also tests/sdk/run.sh and tests/browser/run.sh
#   tests/contract/run.sh FILE.jsonl      # only check an existing recording
#
# The checker runs in its own virtualenv in a temporary folder, with pinned jsonschema and
# PyYAML from PyPI. Exit status: non-zero when any answer fails the contract.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/uc-contract.XXXXXX")"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
  jsonschema==4.26.0 PyYAML==6.0.3

answers=""
all=0
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    *) answers="$arg" ;;
  esac
done

if [[ -z "$answers" ]]; then
  answers="$root/target/contract/answers.jsonl"
  mkdir -p "$(dirname "$answers")"
  : >"$answers"
  export UC_RECORD_ANSWERS="$answers"
  echo "recording answers to $answers"
  (cd "$root" && cargo test --quiet)
  if [[ $all == 1 ]]; then
    for suite in tests/sdk/run.sh tests/browser/run.sh; do
      if [[ -x "$root/$suite" ]]; then
        echo "running $suite"
        (cd "$root" && "./$suite")
      fi
    done
  fi
fi

status=0
"$work/venv/bin/python" "$here/check.py" "$answers" || status=$?
echo
echo "==> the same answers against production's recordings (tests/contract/production_shapes.py)"
"$work/venv/bin/python" "$here/production_shapes.py" compare "$answers" || status=$?
exit "$status"
