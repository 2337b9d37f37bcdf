#!/usr/bin/env python3
"""Production's recorded answers as a second oracle: compares the JSON *shapes* of the answers
the emulator gave in the test run with the shapes of the answers production gave in the
official Python client's recordings.

    production_shapes.py extract PYUPLOADCARE_CHECKOUT > tests/contract/production-shapes.json
    production_shapes.py compare ANSWERS.jsonl [--shapes tests/contract/production-shapes.json]

`extract` reads pyuploadcare's VCR cassettes (`tests/functional/**/cassettes/*.yaml`, recorded
against production in 2021-2023) and keeps, per operation (API, method, path template, status), the
content types, only the shape of the JSON body: which keys objects have (and whether every
sample had them), the JSON types of their values, recursively. No value is kept. The result is
committed, so CI needs neither the repository nor the network.

`compare` reads the emulator's recorded answers (`--record-answers`, src/record.rs) and, for each
operation both sides answered, reports:
- a key production always sends that the emulator's answer lacks,
- a key the emulator sends that production never sent,
- a value whose JSON type production never sent (null is compatible with anything: samples are
  few and nullable fields were often recorded filled, or empty).
Every difference fails the check unless KNOWN lists it with its reason (docs/contract.md).
Operations recorded by production that the test run never exercised are listed, not failed.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import urllib.parse
from fnmatch import fnmatchcase

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SHAPES = os.path.join(HERE, "production-shapes.json")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Objects whose keys are data (file uuids, paths, user metadata keys), not a schema: their
# values are compared as one merged shape under the key "*".
MAP_KEYS = {"metadata", "problems", "converted_groups", "appdata"}
# Operations whose whole body is such a map.
MAP_BODIES = {"upload POST /base/ 200", "rest GET /files/{uuid}/metadata/ 200"}

# Known, explained differences: (operation, JSON path) -> reason. The path is dotted from
# the body's root, `[]` for array items, `*` for map values.
OLD_FILE = ("recorded in September/October 2021, before production's file object gained "
            "`content_info` and `metadata` and REST v0.7 dropped `image_info`/`video_info`; "
            "the reference and the 2022-2023 recordings of GET /files/{uuid}/ have the new shape")
OLD_HOOK = ("recorded in October 2021, before webhooks had a payload `version`; the "
            "reference's webhook schemas have it")
KNOWN = {
    # production's `GET /groups/` items still carry datetime_stored although the v0.7 `group`
    # schema (../shared/reference) no longer lists it; the emulator follows the reference.
    ("rest GET /groups/ 200", "results[].datetime_stored"):
        "kept out: the v0.7 reference's group schema no longer has it (docs/contract.md)",
    ("*", "*content_info.image"):
        "production's recordings are all of images; `image` is there for images only "
        "(the reference's content_info.image is optional)",
    ("rest PUT /files/storage/ 200", "result[].*"): OLD_FILE,
    ("rest DELETE /files/{uuid}/storage/ 200", "*"): OLD_FILE,
    ("rest POST /files/local_copy/ 201", "result.*"): OLD_FILE,
    ("upload POST /group/ 200", "files[].*"): OLD_FILE,
    ("upload POST /multipart/complete/ 200", "*"): OLD_FILE,
    ("rest * /webhooks/* 20?", "*version"): OLD_HOOK,
    ("rest *", "*tags"):
        "file tags are newer than the recordings (2021-2023): the docs (changelog 2026-06-29) "
        "put `tags` in every v0.7 file info",
    ("rest GET /addons/remove_bg/execute/status/ 200", "result"):
        "production's one recording is of a finished run; a run that ended in `error` has no "
        "`result` (the reference's status schema has none either)",
    ("rest GET /files/* 200 *appdata*", "appdata.*.data.*"):
        "production's one appdata recording has a clean ClamAV scan and no remove.bg run; "
        "`infected_with` and `foreground_type` are the reference's (applicationDataObject)",
}

# --- shapes ----------------------------------------------------------------------------------

def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_of(value, key=None):
    """The shape of one JSON value: {"types": [...], "keys": {k: {"seen": n, "shape": s}},
    "samples": n, "items": s}."""
    shape = {"types": [json_type(value)]}
    if isinstance(value, dict):
        shape["samples"] = 1
        if key in MAP_KEYS:
            merged = None
            for v in value.values():
                merged = merge(merged, shape_of(v))
            shape["keys"] = {"*": {"seen": 1, "shape": merged}} if merged else {}
        else:
            shape["keys"] = {k: {"seen": 1, "shape": shape_of(v, k)} for k, v in value.items()}
    elif isinstance(value, list):
        items = None
        for v in value:
            items = merge(items, shape_of(v, key))
        if items:
            shape["items"] = items
    return shape


def merge(a, b):
    """The union of two shapes: keys counted by how many object samples had them."""
    if a is None:
        return b
    if b is None:
        return a
    out = {"types": sorted(set(a["types"]) | set(b["types"]))}
    if "keys" in a or "keys" in b:
        out["samples"] = a.get("samples", 0) + b.get("samples", 0)
        keys = {}
        for side in (a, b):
            for k, entry in side.get("keys", {}).items():
                if k in keys:
                    keys[k] = {"seen": keys[k]["seen"] + entry["seen"],
                               "shape": merge(keys[k]["shape"], entry["shape"])}
                else:
                    keys[k] = dict(entry)
        out["keys"] = keys
    if "items" in a or "items" in b:
        out["items"] = merge(a.get("items"), b.get("items"))
    return out


# --- operations ------------------------------------------------------------------------------

def template(path):
    """A path with its variable segments named, as both sides spell them (pyuploadcare sends
    `/group//`: repeated slashes are one)."""
    path = re.sub(r"//+", "/", path)
    path = re.sub(rf"/{UUID}~\d+/", "/{group_id}/", path)
    path = re.sub(rf"/{UUID}/", "/{uuid}/", path)
    path = re.sub(r"^/webhooks/\d+/", "/webhooks/{id}/", path)
    path = re.sub(r"^/convert/(document|video)/status/[^/]+/", r"/convert/\1/status/{token}/", path)
    path = re.sub(r"^/files/\{uuid\}/metadata/[^/]+/", "/files/{uuid}/metadata/{key}/", path)
    return path


def essence(content_type):
    return (content_type or "").split(";")[0].strip().lower()


def operation(api, method, path, status):
    return f"{api} {method} {template(path)} {status}"


def variant(op, body, query):
    """The operation refined by what selects the answer's shape: the `type` or `status` an
    Upload API answer declares (a from_url token or file, a task's progress or success), and
    `include=appdata` on REST file answers."""
    if isinstance(body, dict):
        for field in ("type", "status"):
            if op.startswith("upload ") and isinstance(body.get(field), str):
                op += f" [{field}={body[field]}]"
                break
    if query and re.search(r"(^|&)include=appdata", query):
        op += " [include=appdata]"
    return op


def body_shape(op, body):
    return shape_of(body, "metadata" if op in MAP_BODIES else None)


# --- extract ---------------------------------------------------------------------------------

HOSTS = {"api.uploadcare.com": "rest", "upload.uploadcare.com": "upload",
         "ucarecdn.com": "cdn"}


def header(headers, name):
    for k, v in (headers or {}).items():
        if k.lower() == name:
            return v[0] if isinstance(v, list) else v
    return None


def body_text(response):
    if "content" in response:
        return response["content"]
    body = response.get("body", {})
    return body.get("string") if isinstance(body, dict) else body


def extract(checkout):
    import yaml  # only extraction needs it

    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    shapes = {}
    unreadable = []
    pattern = os.path.join(checkout, "tests", "functional", "**", "cassettes", "*.yaml")
    for name in sorted(glob.glob(pattern, recursive=True)):
        rel = os.path.relpath(name, checkout)
        try:
            with open(name, encoding="utf-8") as f:
                cassette = yaml.safe_load(f)
        except yaml.YAMLError:
            unreadable.append(rel)
            continue
        for interaction in cassette.get("interactions", []):
            request, response = interaction["request"], interaction["response"]
            m = re.match(r"https?://([^/]+)(/[^?]*)", request["uri"])
            if not m or m.group(1) not in HOSTS:
                continue
            status = (response.get("status") or {}).get("code", response.get("status_code"))
            content_type = header(response.get("headers"), "content-type")
            text = body_text(response)
            if not content_type or "json" not in content_type or not text:
                continue
            if isinstance(text, bytes):
                continue  # gzip-encoded bodies recorded as bytes
            try:
                body = json.loads(text)
            except ValueError:
                continue
            op = operation(HOSTS[m.group(1)], request["method"], m.group(2), status)
            body_op = op
            op = variant(op, body, urllib.parse.urlsplit(request["uri"]).query)
            entry = shapes.setdefault(op, {"content_types": [], "shape": None, "cassettes": []})
            entry["shape"] = merge(entry["shape"], body_shape(body_op, body))
            if essence(content_type) not in entry["content_types"]:
                entry["content_types"].append(essence(content_type))
            if rel not in entry["cassettes"]:
                entry["cassettes"].append(rel)
    json.dump({"source": f"github.com/uploadcare/pyuploadcare@{commit}",
               "unreadable": unreadable, "operations": dict(sorted(shapes.items()))},
              sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


# --- compare ---------------------------------------------------------------------------------

def differences(ours, theirs, path=""):
    """Differences of one of our values' shape against production's merged shape."""
    out = []
    our_types = set(ours["types"]) - {"null"}
    their_types = set(theirs["types"]) - {"null"}
    if our_types and their_types and not our_types <= their_types:
        out.append((path or "(body)", f"type {sorted(our_types)}, production sent "
                                      f"{sorted(their_types)}"))
        return out
    if "keys" in ours and "keys" in theirs:
        samples = theirs.get("samples", 1)
        for k, entry in theirs["keys"].items():
            if k == "*" or k in ours["keys"]:
                continue
            if entry["seen"] == samples:
                out.append((join(path, k), "missing: production always sends it"))
        for k, entry in ours["keys"].items():
            if k == "*" and "*" not in theirs["keys"]:
                continue  # a map production only ever sent empty
            if k not in theirs["keys"]:
                out.append((join(path, k), "extra: production never sent it"))
                continue
            out += differences(entry["shape"], theirs["keys"][k]["shape"], join(path, k))
    if "items" in ours and "items" in theirs:
        out += differences(ours["items"], theirs["items"], path + "[]")
    return out


def known(op, where):
    """The KNOWN rule (patterns, `*` matching anything) explaining a difference, if any."""
    for rule in KNOWN:
        if fnmatchcase(op, rule[0]) and fnmatchcase(where, rule[1]):
            return rule
    return None


def join(path, key):
    return f"{path}.{key}" if path else key


def compare(answers, shapes_file):
    with open(shapes_file, encoding="utf-8") as f:
        production = json.load(f)["operations"]
    seen = collections.Counter()
    found = collections.OrderedDict()
    with open(answers, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("body") is None or "json" not in (rec.get("content_type") or ""):
                continue
            op = operation(rec["api"], rec["method"], rec["path"], rec["status"])
            try:
                body = json.loads(rec["body"])
            except ValueError:
                continue
            if rec["api"] == "upload" and isinstance(body, dict) and "error" in body:
                continue  # an Upload API error (status 200 with ?jsonerrors); none recorded
            body_op = op
            op = variant(op, body, rec.get("query"))
            if op not in production:
                continue
            ours, theirs = essence(rec["content_type"]), production[op]["content_types"]
            if ours not in theirs:
                if ours.startswith("application/vnd.uploadcare-") and any(
                        t.startswith("application/vnd.uploadcare-") for t in theirs):
                    continue  # asked for another REST version than production was
                found.setdefault((op, "(content type)"), f"{ours}, production sent {theirs}")
            seen[op] += 1
            for where, what in differences(body_shape(body_op, body), production[op]["shape"]):
                found.setdefault((op, where), what)
    failed = 0
    used = set()
    for op in sorted(production):
        if not seen[op]:
            print(f"skip {op}: production recorded it, the test run did not exercise it")
            continue
        problems = [(w, what) for (o, w), what in found.items() if o == op]
        unexplained = 0
        for w, what in problems:
            rule = known(op, w)
            if rule:
                used.add(rule)
                print(f"known {op}: {w}: {what} [{list(KNOWN).index(rule) + 1}]")
            else:
                unexplained += 1
                print(f"FAIL {op}: {w}: {what}")
        if unexplained:
            failed += 1
        else:
            print(f"ok   {op} (x{seen[op]}, production: "
                  f"{len(production[op]['cassettes'])} cassette(s))")
    for n, rule in enumerate(KNOWN, 1):
        if rule in used:
            print(f"[{n}] {KNOWN[rule]}")
    for rule in KNOWN:
        # A rule for every operation ("*") cannot tell a partial run from a stale rule.
        exercised = rule[0] != "*" and any(fnmatchcase(op, rule[0]) for op in seen)
        if exercised and rule not in used:
            print(f"FAIL known difference no longer seen, remove it from KNOWN: {rule}")
            failed += 1
    print(f"{sum(1 for op in production if seen[op])} operations compared, {failed} failed, "
          f"{sum(1 for op in production if not seen[op])} not exercised")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("checkout")
    co = sub.add_parser("compare")
    co.add_argument("answers")
    co.add_argument("--shapes", default=DEFAULT_SHAPES)
    args = ap.parse_args()
    if args.command == "extract":
        extract(args.checkout)
        return 0
    return compare(args.answers, args.shapes)


if __name__ == "__main__":
    sys.exit(main())
