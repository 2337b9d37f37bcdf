#!/usr/bin/env python3
"""Contract check: validates recorded emulator answers against the reference.

Reads the JSON lines written by `--record-answers FILE` (one answer each: method, path,
route, query, status, content_type, body), maps each to its OpenAPI operation in
the reference specs in tests/contract/reference/ (Upload API, Upload groups, REST, CDN), and checks:

* JSON bodies against the response schema for the status (OpenAPI 3.0 translated to JSON
  Schema: `nullable` -> type unions, `$ref`s inlined within each file, the documented
  example's keys made `required` where the schema lists properties but no `required`);
* Upload API `text/plain` errors and `jsonerrors=1` JSON errors against
  upload-api-errors.tsv (message with %s/%d as wildcards, status, error_code);
* REST content types (exactly application/json or application/vnd.uploadcare-v0.7+json).

Where the reference is wrong or incomplete, FIXUPS below patch it; each is explained in
docs/contract.md. Answers of routes the reference does not describe are skipped.

Usage: check.py ANSWERS.jsonl [--reference DIR] [--verbose]
Prints `ok`/`FAIL` lines (grouped by operation, status and failure) and
`N passed, M failed, K skipped`; exits 1 on any failure.
"""

import argparse
import collections
import copy
import json
import os
import re
import sys
import uuid as uuidlib
from urllib.parse import urlsplit

import jsonschema

# Answers every REST operation can give, whatever the reference lists for it.
GENERIC_REST_ERRORS = {
    (413, '{"detail":"Request body is too large."}'),
    (500, '{"detail":"Internal server error."}'),
}

# Documented REST operations the emulator has not built yet (issue 15).
NOT_BUILT_REST = ()


def copy_difference(status, body):
    """Why a copy answer differs from the reference on purpose, or None."""
    if status != 400 or not body:
        return None
    detail = json.loads(body).get("detail", "")
    if detail == "`metadata` parameter should be an object of strings." or (
            detail.startswith("File's metadata ")):
        return "metadata broke the file metadata rules (the reference lists no metadata errors)"
    if detail.startswith("The emulator cannot make this copy: "):
        return "an operation the emulator cannot apply (never an unprocessed copy)"
    if re.fullmatch(r"Invalid pattern provided: `.+`", detail, re.S):
        return "the reference writes the refused pattern as `pattern_value`"
    if detail == "`make_public` parameter should be `true` or `false`.":
        return "a `make_public` that is not a boolean (the reference lists no error for it)"
    return None


def webhook_difference(status, body):
    """Why a webhooks answer differs from the reference on purpose, or None."""
    if status == 400 and body and not body.startswith('{"detail"'):
        return "validation errors in Django REST framework's per-field shape, as rest-client parses"
    if status == 404 and body == '{"detail":"Not found."}':
        return "unsubscribing an unknown target answers REST's 404"
    return None
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# The reference specs, copied verbatim into the repository (see reference/README.md), and
# the error table the Rust tests share.
DEFAULT_REFERENCE = os.environ.get("UC_REFERENCE_DIR", os.path.join(HERE, "reference"))
DEFAULT_ERRORS = os.path.join(HERE, "..", "..", "src", "upload_api", "upload-api-errors.tsv")

# (area, file) in matching order: the Upload API files first, then REST, then the CDN.
SPECS = [
    ("upload", "uploadcare-upload-api.openapi.yml"),
    ("upload", "uploadcare-upload-groups.openapi.yml"),
    ("rest", "uploadcare-rest-api.openapi.yml"),
    ("cdn", "uploadcare-cdn-api.openapi.yml"),
]

REST_JSON_TYPES = ("application/json", "application/vnd.uploadcare-v0.7+json")

# ---------------------------------------------------------------------------------------
# Fixups: where the reference contradicts production recordings or itself. Each takes the
# loaded spec (dict) of one file and patches it in place. See docs/contract.md.


def _schemas(spec):
    return spec.get("components", {}).get("schemas", {})


def fix_group_files_array(spec):
    """groupInfo/groupWithFiles `files`: the item schema sits on the array itself
    (`type: array` + `allOf: [object, file]`), which no array can satisfy. Move it to
    `items`, each item nullable (a removed file is `null`)."""
    for name in ("groupInfo", "groupWithFiles"):
        s = _schemas(spec).get(name)
        if s is None:
            continue
        parts = [s] + [p for p in s.get("allOf", []) if isinstance(p, dict)]
        for part in parts:
            files = part.get("properties", {}).get("files")
            if files and files.get("type") == "array" and "allOf" in files:
                item = {"allOf": files.pop("allOf"), "nullable": True}
                files["items"] = item


def fix_default_effects_format(spec):
    """`default_effects` is declared `format: uri` but is a bare operations string
    (`resize/x800/`, or `""` when none): drop the format."""

    def walk(node):
        if isinstance(node, dict):
            de = node.get("properties", {}).get("default_effects") if isinstance(
                node.get("properties"), dict) else None
            if isinstance(de, dict):
                de.pop("format", None)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)


def fix_upload_image_info_nullable(spec):
    """Upload API `image_info` references the non-nullable `imageInfo`, yet production
    answers `"image_info": null` for every non-image (recorded)."""
    for name in ("fileUploadInfo",):
        s = _schemas(spec).get(name)
        if s and "image_info" in s.get("properties", {}):
            ref = s["properties"]["image_info"]
            s["properties"]["image_info"] = {"allOf": [ref], "nullable": True}


def fix_group_error_defaults(spec):
    """The groups spec swaps the texts of groupFileURLParsingFailedError and
    groupFilesInvalidError (compare upload-api-errors.tsv). Only `default` is affected,
    which is not a constraint; swapped back for the record (messages are checked against
    the TSV anyway)."""
    s = _schemas(spec)
    a, b = s.get("groupFileURLParsingFailedError"), s.get("groupFilesInvalidError")
    if a and b and a.get("default", "").startswith("No files"):
        a["default"], b["default"] = b["default"], a["default"]


def fix_base_upload_answer(spec):
    """`POST /base/` answers map each file's form field name to its uuid, but the schema
    declares a single property literally named `filename`: check every value instead."""
    r = spec.get("components", {}).get("responses", {}).get("baseUploadSuccessful")
    if r:
        schema = r["content"]["application/json"]["schema"]
        schema.pop("properties", None)
        schema["additionalProperties"] = {"type": "string", "format": "uuid"}
        schema["minProperties"] = 1


def fix_progress_total(spec):
    """`/from_url/status/` progress: `total` is documented as a nullable number, but the
    JS upload client (and Uploadcare's own mock server) expect the string "unknown" when
    the source sends no length; the emulator sends that."""
    s = _schemas(spec).get("fileUploadInfoProgressStatus")
    if s and "total" in s.get("properties", {}):
        s["properties"]["total"] = {"anyOf": [{"type": "number", "nullable": True},
                                              {"type": "string", "enum": ["unknown"]}]}


def add_tags_and_search(spec):
    """File tags and file search are newer than the reference (docs changelog 2026-06-29):
    their operations are added here from the clients' models (pyuploadcare 6.3.0
    `GetFileTagsResponse`, `UpdateFileTagsResponse`, `FileSearchResponse`/`FileSearchInfo`;
    @uploadcare/rest-client 6.21.0 `GetTagsResponse`, `ReplaceTagsResponse`,
    `SearchFilesResponse`, `ServerValidationErrorResponse`), and `file` gains `tags`, a
    list of strings (see docs/contract.md)."""
    schemas = _schemas(spec)
    schemas["file"]["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    strings = {"type": "array", "items": {"type": "string"}}
    detail = {"type": "object", "required": ["detail"], "additionalProperties": False,
              "properties": {"detail": {"type": "string"}}}

    def answer(schema, description="answer"):
        return {"description": description,
                "content": {"application/json": {"schema": schema}}}

    tags_get = {"type": "object", "required": ["tags"], "additionalProperties": False,
                "properties": {"tags": strings}}
    tags_change = {"type": "object", "required": ["tags", "added", "deleted"],
                   "additionalProperties": False,
                   "properties": {"tags": strings, "added": strings, "deleted": strings}}
    errors = {"400": answer(detail), "401": answer(detail), "404": answer(detail),
              "405": answer(detail), "406": answer(detail), "409": answer(detail),
              "429": answer(detail)}
    spec["paths"]["/files/{uuid}/tags/"] = {
        method: {"operationId": f"fileTags{method.title()}",
                 "responses": {"200": answer(body), **errors}}
        for method, body in (("get", tags_get), ("put", tags_change), ("patch", tags_change))
    }
    highlight = {"type": "object", "additionalProperties": False, "properties": {
        "original_filename": strings, "detected_mime_type": strings,
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}}}}
    result = {"allOf": [{"$ref": "#/components/schemas/file"},
                        {"type": "object", "required": ["tags"], "properties": {
                            "tags": strings, "highlight": highlight}}]}
    page = {"type": "object", "additionalProperties": False,
            "required": ["next", "previous", "total", "per_page", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "total": {"type": "integer", "minimum": 0},
                "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                "results": {"type": "array", "maxItems": 100, "items": result}}}
    # DRF's per-field errors, nested for nested objects; or a parse error's `detail`.
    field_errors = {"type": "object", "minProperties": 1, "additionalProperties": {
        "anyOf": [strings, {"type": "object"}]}}
    spec["paths"]["/files/search/"] = {"post": {
        "operationId": "filesSearch",
        "responses": {"200": answer(page), **errors,
                      "400": answer({"anyOf": [detail, field_errors]})}}}


def fix_conversion_answers(spec):
    """Conversion submissions: `problems` maps each path to a *message* (the reference's own
    example), not a uuid; `thumbnails_group_uuid` is a group id (`<uuid>~<n>`, the
    reference's own example), not a uuid."""
    responses = spec.get("components", {}).get("responses", {})
    for name in ("documentJobSubmitResponse", "videoJobSubmitResponse", "videoJobStatusResponse"):
        r = responses.get(name)
        if not r:
            continue
        schema = r["content"]["application/json"]["schema"]
        problems = schema.get("properties", {}).get("problems")
        if problems:
            problems["additionalProperties"] = {"type": "string"}
        result = schema.get("properties", {}).get("result", {})
        for node in (result, result.get("items", {})):
            group = node.get("properties", {}).get("thumbnails_group_uuid")
            if group:
                group.pop("format", None)


def fix_document_info_groups(spec):
    """`GET /convert/document/<uuid>/`: production sends `converted_groups` inside `format`
    (pyuploadcare's recording test_convert_document_get_group_info.yaml, 2023), where the
    reference puts it beside `format`. Schema and example moved to production's place."""
    r = spec.get("components", {}).get("responses", {}).get("documentInfoResponse")
    if not r:
        return
    media = r["content"]["application/json"]
    props = media["schema"].get("properties", {})
    groups = props.pop("converted_groups", None)
    if groups and "format" in props:
        props["format"].setdefault("properties", {})["converted_groups"] = groups
    example = media["schema"].get("example") or media.get("example")
    if isinstance(example, dict) and "converted_groups" in example:
        example.setdefault("format", {})["converted_groups"] = example.pop("converted_groups")


def fix_not_ready_file(spec):
    """A conversion's result file exists before its bytes: production answers
    `"is_image": null` for it (pyuploadcare's recordings of `GET /files/<uuid>/` right after
    `POST /convert/document/` and `/convert/video/`)."""
    for name in ("file", "fileCopy"):
        s = _schemas(spec).get(name)
        if s and "is_image" in s.get("properties", {}):
            s["properties"]["is_image"]["nullable"] = True


FIXUPS = {
    "uploadcare-upload-api.openapi.yml": [
        fix_upload_image_info_nullable,
        fix_base_upload_answer,
        fix_progress_total,
    ],
    "uploadcare-upload-groups.openapi.yml": [
        fix_group_files_array,
        fix_default_effects_format,
        fix_upload_image_info_nullable,
        fix_group_error_defaults,
    ],
    "uploadcare-rest-api.openapi.yml": [
        fix_group_files_array,
        fix_default_effects_format,
        add_tags_and_search,
        fix_conversion_answers,
        fix_document_info_groups,
        fix_not_ready_file,
    ],
    "uploadcare-cdn-api.openapi.yml": [],
}

# ---------------------------------------------------------------------------------------
# OpenAPI 3.0 -> JSON Schema


def resolve_pointer(spec, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"external $ref not supported: {ref}")
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


OPENAPI_ONLY = {
    "example", "examples", "readOnly", "writeOnly", "deprecated", "xml", "externalDocs",
    "discriminator", "description", "title",
}


def to_json_schema(spec, node, stack=()):
    """Inlines `$ref`s (within `spec`) and translates OpenAPI 3.0 to JSON Schema draft 7."""
    if isinstance(node, list):
        return [to_json_schema(spec, v, stack) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            return {}  # recursive schema: accept anything below this point
        target = resolve_pointer(spec, ref)
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        return to_json_schema(spec, merged, stack + (ref,))
    out = {}
    for k, v in node.items():
        if k.startswith("x-") or k in OPENAPI_ONLY or k == "nullable":
            continue
        if k == "properties":
            out[k] = {name: to_json_schema(spec, s, stack) for name, s in v.items()}
        elif k in ("items", "additionalProperties", "not"):
            out[k] = to_json_schema(spec, v, stack)
        elif k in ("allOf", "anyOf"):
            out[k] = [to_json_schema(spec, s, stack) for s in v]
        elif k == "oneOf":
            # The reference uses oneOf for alternatives that overlap (e.g. two `{"detail"}`
            # objects in filesStoreUUIDSError), which no answer can satisfy: read as anyOf.
            out["anyOf"] = [to_json_schema(spec, s, stack) for s in v]
        elif k == "enum" and any(isinstance(x, str) and "{" in x for x in v):
            # Enum members with `{placeholders}` ("Public key {public_key} not found.").
            plain = [x for x in v if not (isinstance(x, str) and "{" in x)]
            patterns = [
                "^" + re.sub(r"\\\{[a-z_]+\\\}", ".+", re.escape(x)) + "$"
                for x in v
                if isinstance(x, str) and "{" in x
            ]
            out["anyOf"] = [{"enum": plain}] + [{"pattern": p} for p in patterns]
        else:
            out[k] = copy.deepcopy(v)
    # Rule (docs/contract.md): an object schema listing properties but no `required` must
    # carry every property its documented example shows.
    example = node.get("example")
    if "properties" in node and "required" not in node and isinstance(example, dict):
        req = [k for k in example if k in node["properties"]]
        if req:
            out["required"] = req
    if node.get("nullable") is True:
        if "type" in out:
            t = out["type"]
            out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


# ---------------------------------------------------------------------------------------
# Formats

ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$"
)

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid")
def _is_uuid(value):
    if not isinstance(value, str):
        return True
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except ValueError:
        return False


@FORMATS.checks("date-time")
def _is_datetime(value):
    # ISO 8601 as production writes it; the zone is optional because EXIF
    # `datetime_original` has none (documented examples).
    return not isinstance(value, str) or bool(ISO_DATETIME.match(value))


@FORMATS.checks("uri")
def _is_uri(value):
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# ---------------------------------------------------------------------------------------
# Reference model


class Operation:
    def __init__(self, area, file, template, method, op, spec):
        self.area, self.file, self.template, self.method = area, file, template, method
        self.op, self.spec = op, spec
        self.name = op.get("operationId", f"{method} {template}")

    def response(self, status):
        responses = self.op.get("responses", {})
        r = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") \
            or responses.get("default")
        if r is None:
            return None
        while "$ref" in r:
            r = resolve_pointer(self.spec, r["$ref"])
        return r


def template_regex(template):
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        out += "[^/]+" if piece.startswith("{") else re.escape(piece)
    return re.compile("^" + out + "$")


def load_reference(ref_dir):
    ops = []
    for area, file in SPECS:
        with open(os.path.join(ref_dir, file), encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        for fix in FIXUPS.get(file, []):
            fix(spec)
        for template, item in spec.get("paths", {}).items():
            if template.startswith("/<"):
                continue  # presigned S3 part URLs: the emulator's own, not described
            regex = template_regex(template)
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch", "head", "options"):
                    o = Operation(area, file, template, method.upper(), op, spec)
                    o.regex = regex
                    o.params = template.count("{")
                    ops.append(o)
    # Literal paths win over templated ones (/files/storage/ before /files/{uuid}/).
    ops.sort(key=lambda o: o.params)
    return ops


# Upload API errors the table lacks: the `tags` form field's rules answer
# `UploadViewsError` with the rule's text (the file-tags docs show "Too many tags: 51
# (max 50)."; the invalid-tag text is the emulator's, see docs/contract.md).
EXTRA_UPLOAD_ERRORS = (
    "UploadViewsError\t400\tToo many tags: %d (max 50).\n",
    "UploadViewsError\t400\tTag `%s` is not valid. Tags are limited to 100 characters and "
    "may contain Latin letters, digits, `-`, `_` and `.` only.\n",
)


def load_errors(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()[1:] + list(EXTRA_UPLOAD_ERRORS)
    for line in lines:
        if not line.strip():
            continue
        code, status, message = line.rstrip("\n").split("\t")
        pattern = ""
        for piece in re.split(r"(%s|%d)", message):
            pattern += {"%s": ".+", "%d": r"-?\d+"}.get(piece, re.escape(piece))
        rows.append((code, int(status), message, re.compile("^" + pattern + "$", re.S)))
    return rows


JSON_ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["content", "status_code", "error_code"],
            "properties": {
                "content": {"type": "string"},
                "status_code": {"type": "integer"},
                "error_code": {"type": "string"},
            },
        }
    },
}

# ---------------------------------------------------------------------------------------
# Checking


UUID_PATH = re.compile(r"^/[0-9a-fA-F-]{36}(~\d+)?/")


LEGACY_REST_TYPES = (
    "application/vnd.uploadcare-v0.5+json",
    "application/vnd.uploadcare-v0.6+json",
)


def essence(content_type):
    return (content_type or "").split(";")[0].strip().lower()


class Checker:
    def __init__(self, ref_dir, errors_path):
        self.ops = load_reference(ref_dir)
        self.errors = load_errors(errors_path)
        self.schema_cache = {}

    def find(self, path):
        norm = re.sub(r"/{2,}", "/", path)  # /group// (pyuploadcare) is /group/
        matches = [o for o in self.ops if o.regex.match(norm)]
        if matches and matches[0].params == 0:
            # A literal path shadows templated ones, as in the router: `GET /files/search/`
            # is that path's unknown method, not `GET /files/{uuid}/`.
            matches = [o for o in matches if o.template == matches[0].template]
        return norm, matches

    def validate(self, op, key, schema_node, value):
        ck = (op.file, key)
        if ck not in self.schema_cache:
            js = to_json_schema(op.spec, schema_node)
            jsonschema.Draft7Validator.check_schema(js)
            self.schema_cache[ck] = jsonschema.Draft7Validator(js, format_checker=FORMATS)
        v = self.schema_cache[ck]
        errs = sorted(v.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        out = []
        for e in errs[:5]:
            # anyOf/allOf: report the deepest failure inside, not the whole instance.
            while e.context:
                inner = [c for c in e.context if c.validator_value != "null"] or e.context
                e = max(inner, key=lambda c: len(c.absolute_path))
            where = "/".join(str(p) for p in e.absolute_path) or "<root>"
            out.append(f"{where}: {e.message[:200]}")
        return out

    def tsv_problems(self, message, status, code=None):
        rows = [r for r in self.errors if r[3].match(message)]
        if not rows:
            return [f"error text not in upload-api-errors.tsv: {message!r}"]
        if code is not None:
            rows_code = [r for r in rows if r[0] == code]
            if not rows_code:
                return [f"error_code {code} does not match text {message!r} "
                        f"(text belongs to {', '.join(r[0] for r in rows)})"]
            rows = rows_code
        if not any(r[1] == status for r in rows):
            return [f"status {status} for {message!r}; the table says "
                    f"{', '.join(f'{r[0]}={r[1]}' for r in rows)}"]
        return []

    def check(self, rec):
        """Returns (verdict, key, problems): verdict in ok/FAIL/skip."""
        method, path, status = rec["method"], rec["path"], rec["status"]
        ct, body = rec.get("content_type"), rec.get("body")
        if path.startswith("/_emulator/"):
            return "skip", "admin API (emulator only)", []
        norm, matches = self.find(path)
        if not matches:
            if UUID_PATH.match(norm):
                return "skip", "CDN file/group answer (not described as JSON)", []
            return "skip", "route not in the reference", []
        area = matches[0].area
        op = next((o for o in matches if o.method == method), None)
        if method in ("OPTIONS", "HEAD"):
            return "skip", f"{method} (no body to check)", []
        # Upload API errors are checked against the TSV whatever the operation.
        if area == "upload":
            return self.check_upload(rec, op, matches)
        if op is None:
            return "skip", f"{method} not documented for {matches[0].template}", []
        key = f"{method} {op.template} {status}"
        if area == "cdn" and essence(ct) != "application/json":
            # File bytes, group pages, archives and the CDN's plain 404s: the reference
            # describes only images here (docs/contract.md).
            return "skip", f"CDN non-JSON answer ({essence(ct) or 'no body'})", []
        if area == "rest":
            if ct in LEGACY_REST_TYPES:
                return "skip", "REST 0.5/0.6 answer (the reference describes 0.7 only)", []
            if (status == 404 and op.response(404) is None
                    and ("{" in op.template or op.template.startswith("/addons/"))
                    and body == '{"detail":"Not found."}'):
                # The reference omits 404 on some operations on a resource (metadata, an
                # add-on's `target` file): production answers an unknown resource with this
                # body everywhere.
                return "ok", key, []
            if (status, body) in GENERIC_REST_ERRORS:
                # Any REST operation can answer these; the reference lists them on a few
                # operations only (docs/contract.md, "Generic REST errors").
                return "ok", key, []
            if status == 404 and op.template.startswith(NOT_BUILT_REST):
                # Documented operations the emulator does not implement yet (issue 15):
                # REST's unknown-path 404, never a made-up success (docs/contract.md).
                return "skip", f"not implemented by the emulator yet: {op.template}", []
            if op.template.startswith(("/files/local_copy/", "/files/remote_copy/")):
                difference = copy_difference(status, body)
                if difference:
                    return "skip", f"copies, known difference: {difference}", []
            if op.template.startswith("/webhooks/"):
                difference = webhook_difference(status, body)
                if difference:
                    return "skip", f"webhooks, known difference: {difference}", []
            if ct is not None and ct not in REST_JSON_TYPES:
                return "FAIL", key, [f"REST content type {ct!r}: clients accept only "
                                     "application/json or application/vnd.uploadcare-v0.7+json"]
            if op.template.startswith("/webhooks/") and body and body.startswith(("{", "[")):
                # A hook without a secret carries `signing_secret: null`: checked against the
                # schema with the field as a string (docs/contract.md, "Webhooks").
                value = json.loads(body)
                for hook in value if isinstance(value, list) else [value]:
                    if isinstance(hook, dict) and hook.get("signing_secret", "") is None:
                        hook["signing_secret"] = ""
                return self.check_schema(op, key, rec, value)
        return self.check_schema(op, key, rec)

    def check_schema(self, op, key, rec, value=None):
        status, ct, body = rec["status"], rec.get("content_type"), rec.get("body")
        resp = op.response(status)
        if resp is None:
            return "FAIL", key, [f"status {status} is not documented for {op.name}"]
        content = resp.get("content")
        if not content:
            if body:
                return "FAIL", key, [f"documented without a body, got {len(body)} bytes"]
            return "ok", key, []
        if ct is None:
            if status == 204 or not body:
                return "FAIL", key, ["documented with a body, got none"]
        want = essence(ct)
        media = content.get(want)
        if media is None and want == "application/vnd.uploadcare-v0.7+json":
            media = content.get("application/json")
        if media is None:
            return "FAIL", key, [f"content type {ct!r} not documented "
                                 f"(documented: {', '.join(content)})"]
        if body is None:
            return "skip", f"{key} (body not recorded: {rec.get('body_omitted')})", []
        if value is None:
            if "json" not in want:
                return "skip", f"{key} ({want} body)", []
            try:
                value = json.loads(body)
            except ValueError as e:
                return "FAIL", key, [f"body is not JSON ({e}): {body[:120]!r}"]
        schema = dict(media.get("schema", {}))
        # Rule: no `required` and no schema example -> the media type's example keys.
        if "example" not in schema and "required" not in schema and "properties" in schema:
            ex = media.get("example")
            if ex is None and media.get("examples"):
                first = next(iter(media["examples"].values()))
                while isinstance(first, dict) and "$ref" in first:
                    first = resolve_pointer(op.spec, first["$ref"])
                ex = first.get("value") if isinstance(first, dict) else None
            if isinstance(ex, dict):
                schema["example"] = ex
        problems = self.validate(op, f"{key} {want}", schema, value)
        return ("FAIL" if problems else "ok"), key, problems

    def check_upload(self, rec, op, matches):
        method, status = rec["method"], rec["status"]
        ct, body = rec.get("content_type"), rec.get("body")
        template = (op or matches[0]).template
        key = f"{method} {template} {status}"
        want = essence(ct)
        if body is None:
            return "skip", f"{key} (body not recorded: {rec.get('body_omitted')})", []
        if want == "application/javascript":
            m = re.match(r"^[A-Za-z_$][\w$.]*\((.*)\)$", body, re.S)
            if not m:
                return "FAIL", key, [f"JSONP body is not callback(...): {body[:80]!r}"]
            body, want = m.group(1), "application/json"
            key += " jsonp"
        if want == "text/plain":
            if status < 400:
                return "FAIL", key, [f"text/plain answer with status {status}"]
            problems = self.tsv_problems(body, status)
            if ct != "text/plain; charset=utf-8":
                problems.append(f"error content type {ct!r}, production sends "
                                "'text/plain; charset=utf-8'")
            return ("FAIL" if problems else "ok"), key + " text error", problems
        if want != "application/json":
            return "FAIL", key, [f"Upload API content type {ct!r}"]
        if ct != "application/json" and not key.endswith(" jsonp"):
            return "FAIL", key, [f"content type {ct!r}, production sends 'application/json'"]
        try:
            value = json.loads(body)
        except ValueError as e:
            return "FAIL", key, [f"body is not JSON ({e}): {body[:120]!r}"]
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            key += " json error"
            errs = sorted(jsonschema.Draft7Validator(JSON_ERROR_SCHEMA).iter_errors(value),
                          key=str)
            problems = [e.message for e in errs[:3]]
            if not problems:
                e = value["error"]
                problems = self.tsv_problems(e["content"], e["status_code"], e["error_code"])
            return ("FAIL" if problems else "ok"), key, problems
        if op is None:
            return "FAIL", key, [f"{method} not documented for {template}, yet not an error"]
        # JSONP: the wrapped JSON is checked as the documented application/json answer.
        rec = dict(rec, body=body, content_type="application/json")
        return self.check_schema(op, key, rec, value=value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("answers")
    ap.add_argument("--reference", default=DEFAULT_REFERENCE,
                    help="folder of the four *.openapi.yml files")
    ap.add_argument("--errors", default=DEFAULT_ERRORS, help="upload-api-errors.tsv")
    ap.add_argument("--verbose", action="store_true", help="print every failing answer")
    args = ap.parse_args()
    checker = Checker(args.reference, args.errors)
    passed = failed = skipped = 0
    ok_keys = collections.Counter()
    fail_keys = collections.OrderedDict()
    skip_keys = collections.Counter()
    with open(args.answers, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                print(f"FAIL line {n}: not JSON: {line[:160]!r} … {line[-80:]!r}")
                failed += 1
                continue
            verdict, key, problems = checker.check(rec)
            if verdict == "ok":
                passed += 1
                ok_keys[key] += 1
            elif verdict == "skip":
                skipped += 1
                skip_keys[key] += 1
            else:
                failed += 1
                fk = (key, tuple(problems))
                entry = fail_keys.setdefault(fk, [0, rec])
                entry[0] += 1
    for key, count in sorted(ok_keys.items()):
        print(f"ok   {key} (x{count})")
    for key, count in sorted(skip_keys.items()):
        print(f"skip {key} (x{count})")
    for (key, problems), (count, rec) in fail_keys.items():
        print(f"FAIL {key} (x{count})")
        for p in problems:
            print(f"       {p}")
        q = f"?{rec['query']}" if rec.get("query") else ""
        print(f"       e.g. {rec['method']} {rec['path']}{q} -> {rec['status']} "
              f"{rec.get('content_type')}: {(rec.get('body') or '')[:300]}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
