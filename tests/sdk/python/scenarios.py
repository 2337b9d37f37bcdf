"""Scenarios running pyuploadcare 6.3.0, unchanged, against the emulator.

Only the client's public API is used, configured through its constructor with the
emulator's base URLs and keys; nothing in the library is patched.

Environment (set by tests/sdk/run.sh):
    UC_UPLOAD_URL, UC_API_URL, UC_CDN_URL   base URLs of the Upload API, REST API and CDN
    UC_PUB_KEY, UC_SECRET_KEY               a project with unsigned uploads allowed
    UC_SIGNED_PUB_KEY, UC_SIGNED_SECRET_KEY a project requiring signed uploads (optional)

Each scenario prints `ok <name>` or `FAIL <name>: <reason>`; the last line is
`N passed, M failed` and the exit status is non-zero when M > 0. Scenarios that
need the REST API say so in their failure reason ("[needs REST API] ..."), so a
missing endpoint reads as such rather than as a client or upload problem.
"""

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
import zlib
from typing import Callable, List, Optional, Tuple

from pyuploadcare import File, FileGroup, FileSearchRequest, TagsFilter, Uploadcare
from pyuploadcare.api.addon_entities import (
    AddonClamAVExecutionParams,
    AddonLabels,
    AddonRemoveBGExecutionParams,
)
from pyuploadcare.api.auth import UploadcareSimpleAuth
from pyuploadcare.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    UploadcareException,
)


UUID_RE = re.compile(
    r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)
GROUP_ID_RE = re.compile(
    r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}~[0-9]+\Z"
)
# The documented 401 `detail` strings of the REST API (authorizationProblemsResponse).
AUTH_DETAILS = {
    "Incorrect authentication credentials.",
    "Secret key not found.",
    "Invalid signature. Please check your Secret key.",
}


def env(name: str, default: Optional[str] = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"scenarios.py: environment variable {name} is required")
    return value


UPLOAD_URL = env("UC_UPLOAD_URL")
API_URL = env("UC_API_URL")
CDN_URL = env("UC_CDN_URL")
if not CDN_URL.endswith("/"):
    CDN_URL += "/"  # pyuploadcare concatenates cdn_base and the path
PUB_KEY = env("UC_PUB_KEY")
SECRET_KEY = env("UC_SECRET_KEY")
SIGNED_PUB_KEY = os.environ.get("UC_SIGNED_PUB_KEY")
SIGNED_SECRET_KEY = os.environ.get("UC_SIGNED_SECRET_KEY")

WORK_DIR = tempfile.mkdtemp(prefix="uc-sdk-py-")


def client(
    public_key: str = PUB_KEY,
    secret_key: str = SECRET_KEY,
    **kwargs,
) -> Uploadcare:
    """A client pointed at the emulator; default (signed) REST auth and signed uploads."""
    return Uploadcare(
        public_key=public_key,
        secret_key=secret_key,
        upload_base=UPLOAD_URL,
        api_base=API_URL,
        cdn_base=CDN_URL,
        **kwargs,
    )


UC = client()


# --------------------------------------------------------------------------- fixtures


def png_bytes(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size (gradient pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data))
            + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    rows = b"".join(
        b"\x00"
        + bytes(
            v
            for x in range(width)
            for v in ((x * 7) % 256, (y * 11) % 256, (x + y) % 256)
        )
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_file(name: str, data: bytes) -> str:
    """Writes `data` to a fresh directory under the work dir; returns the path."""
    directory = tempfile.mkdtemp(dir=WORK_DIR)
    path = os.path.join(directory, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def upload(
    name: str, data: bytes, store: Optional[bool] = None, uc: Uploadcare = UC
) -> File:
    """Uploads one file from disk the way users do: `uploadcare.upload(open(...))`."""
    with open(write_file(name, data), "rb") as fh:
        return uc.upload(fh, store=store)


def upload_text(store: Optional[bool] = None) -> File:
    return upload("hello.txt", b"hello from the sdk suite\n", store=store)


def new_group(n: int = 2, store: Optional[bool] = None) -> Tuple[FileGroup, List[File]]:
    files = [
        upload(f"member{i}.txt", f"member {i}\n".encode(), store=store)
        for i in range(n)
    ]
    return UC.create_file_group(files), files


# --------------------------------------------------------------------------- checks


class Failure(Exception):
    """A scenario's expectation did not hold."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def eq(got, want, what: str) -> None:
    if got != want:
        raise Failure(f"{what}: expected {want!r}, got {got!r}")


def expect_error(
    error_type: type, action: Callable[[], object], what: str
) -> UploadcareException:
    """Runs `action`, which must raise `error_type`; returns the error."""
    try:
        result = action()
    except error_type as e:  # noqa: PERF203
        return e
    except Exception as e:  # the wrong kind of error
        raise Failure(
            f"{what}: expected {error_type.__name__}, got "
            f"{type(e).__name__}: {e}"
        ) from e
    raise Failure(
        f"{what}: expected {error_type.__name__}, but it succeeded ({result!r})"
    )


def rest_detail(error: Exception) -> Optional[str]:
    """The `detail` of a REST error body (pyuploadcare passes the raw body as message)."""
    try:
        body = json.loads(str(error))
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None


def expect_detail(error: Exception, allowed, what: str) -> None:
    """The REST error body must be JSON `{"detail": ...}` with a detail in `allowed`."""
    allowed = {allowed} if isinstance(allowed, str) else set(allowed)
    if rest_detail(error) not in allowed:
        raise Failure(
            f"{what}: expected a body {{\"detail\": {' | '.join(map(repr, sorted(allowed)))}}}, "
            f"got {str(error)!r}"
        ) from error


# --------------------------------------------------------------------------- scenarios

SCENARIOS: List[Tuple[str, bool, Callable[[], None]]] = []


def scenario(name: str, rest: bool = False):
    """Registers a scenario; `rest=True` marks that it needs the REST API."""

    def register(fn: Callable[[], None]) -> Callable[[], None]:
        SCENARIOS.append((name, rest, fn))
        return fn

    return register


# Upload API -------------------------------------------------------------------------


@scenario("upload_small_file")
def upload_small_file() -> None:
    f = upload_text()
    check(isinstance(f, File), f"upload returned {type(f).__name__}, not File")
    check(UUID_RE.match(f.uuid) is not None, f"uuid {f.uuid!r} is not a UUID")
    eq(f.cdn_url, f"{CDN_URL}{f.uuid}/", "cdn_url")


@scenario("upload_multipart_sized_file")
def upload_multipart_sized_file() -> None:
    # pyuploadcare switches to /multipart/start/ + part PUTs + /multipart/complete/ at 10 MB.
    data = os.urandom(11 * 1024 * 1024)
    f = upload("big.bin", data)
    check(UUID_RE.match(f.uuid) is not None, f"uuid {f.uuid!r} is not a UUID")
    eq(f.info["size"], len(data), "size of the multipart upload")


def inject_fault(fault: dict) -> None:
    """Arms a fault through the emulator's admin API (`POST /_emulator/faults`)."""
    request = urllib.request.Request(
        f"{API_URL.rstrip('/')}/_emulator/faults",
        data=json.dumps(fault).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        eq(answer.status, 201, "fault armed")


@scenario("rest_throttle_is_retried", rest=True)
def rest_throttle_is_retried() -> None:
    # One 429 with Retry-After: 1 on the next REST call of this project: pyuploadcare waits
    # Retry-After + 1 s and retries, and the call succeeds.
    inject_fault({"kind": "throttle", "api": "rest", "pub_key": PUB_KEY, "retry_after": 1})
    started = time.monotonic()
    groups = list(UC.list_file_groups(limit=1))
    elapsed = time.monotonic() - started
    check(isinstance(groups, list), "listing succeeded after the throttle")
    check(elapsed >= 1.0, f"answered after {elapsed:.2f} s: the client did not wait and retry")


@scenario("upload_png_image")
def upload_png_image() -> None:
    f = upload("pixel.png", png_bytes(20, 10))
    check(UUID_RE.match(f.uuid) is not None, f"uuid {f.uuid!r} is not a UUID")


@scenario("upload_several_files_in_one_request")
def upload_several_files() -> None:
    paths = [
        write_file("one.txt", b"one\n"),
        write_file("two.txt", b"two two\n"),
        write_file("three.png", png_bytes(3, 3)),
    ]
    handles = [open(p, "rb") for p in paths]
    try:
        files = UC.upload_files(handles)
    finally:
        for h in handles:
            h.close()
    eq(len(files), 3, "number of files")
    uuids = [f.uuid for f in files]
    check(all(UUID_RE.match(u) for u in uuids), f"not all uuids: {uuids}")
    eq(len(set(uuids)), 3, "distinct uuids")


@scenario("upload_unsigned_when_signing_is_off")
def upload_unsigned() -> None:
    f = upload("plain.txt", b"unsigned\n", uc=client(signed_uploads=False))
    check(UUID_RE.match(f.uuid) is not None, f"uuid {f.uuid!r} is not a UUID")


@scenario("create_group_with_cdn_operations_member")
def create_group_with_effects() -> None:
    a = upload_text()
    b = upload("photo.png", png_bytes(16, 16))
    b.set_effects("resize/x800/")
    eq(str(b), f"{CDN_URL}{b.uuid}/-/resize/x800/", "member URL sent by the client")
    group = UC.create_file_group([a, b])
    check(GROUP_ID_RE.match(group.id) is not None, f"group id {group.id!r}")
    check(group.id.endswith("~2"), f"group id {group.id!r} should end in ~2")
    eq(len(group), 2, "len(group)")
    eq(group.cdn_url, f"{CDN_URL}{group.id}/", "group.cdn_url")
    members = list(group)  # read from the /group/ answer, no REST call
    eq([m.uuid for m in members], [a.uuid, b.uuid], "member uuids in order")
    eq(members[0].default_effects, "", "member 0 default_effects")
    eq(members[1].default_effects, "resize/x800/", "member 1 default_effects")
    eq(members[1].cdn_url, f"{CDN_URL}{b.uuid}/-/resize/x800/", "member 1 cdn_url")
    info = group.info
    eq(info["files_count"], 2, "files_count")
    eq(info["cdn_url"].rstrip("/").rsplit("/", 1)[-1], group.id, "cdn_url tail")


@scenario("create_group_repeated_member")
def create_group_repeated_member() -> None:
    a = upload_text()
    group = UC.create_file_group([a, UC.file(a.uuid)])
    check(group.id.endswith("~2"), f"group id {group.id!r} should end in ~2")
    eq([m.uuid for m in group], [a.uuid, a.uuid], "member uuids")


@scenario("error_group_with_unknown_file")
def error_group_unknown_file() -> None:
    a = upload_text()
    err = expect_error(
        InvalidRequestError,
        lambda: UC.create_file_group([a, UC.file(str(uuid.uuid4()))]),
        "group with an unknown uuid",
    )
    eq(str(err), "Some files not found.", "error message")


@scenario("error_upload_unknown_public_key")
def error_upload_unknown_pub_key() -> None:
    err = expect_error(
        AuthenticationError,
        lambda: upload("x.txt", b"x", uc=client(public_key="nosuchpublickey")),
        "upload with an unknown public key",
    )
    eq(str(err), "UPLOADCARE_PUB_KEY is invalid.", "error message")


@scenario("error_group_unknown_public_key")
def error_group_unknown_pub_key() -> None:
    a = upload_text()
    other = client(public_key="nosuchpublickey")
    err = expect_error(
        AuthenticationError,
        lambda: other.create_file_group([other.file(a.uuid)]),
        "group with an unknown public key",
    )
    eq(str(err), "pub_key is invalid.", "error message")


@scenario("error_group_of_another_projects_file")
def error_group_other_project() -> None:
    if not SIGNED_PUB_KEY or not SIGNED_SECRET_KEY:
        raise Failure("UC_SIGNED_PUB_KEY/UC_SIGNED_SECRET_KEY not set (run via run.sh)")
    a = upload_text()
    other = client(SIGNED_PUB_KEY, SIGNED_SECRET_KEY)
    err = expect_error(
        InvalidRequestError,
        lambda: other.create_file_group([other.file(a.uuid)]),
        "group of a file from another project",
    )
    eq(str(err), "Some files not found.", "error message")


@scenario("signed_project_upload_and_group")
def signed_project_upload() -> None:
    if not SIGNED_PUB_KEY or not SIGNED_SECRET_KEY:
        raise Failure("UC_SIGNED_PUB_KEY/UC_SIGNED_SECRET_KEY not set (run via run.sh)")
    uc = client(SIGNED_PUB_KEY, SIGNED_SECRET_KEY)
    f = upload("signed.txt", b"signed\n", uc=uc)
    group = uc.create_file_group([f])
    check(group.id.endswith("~1"), f"group id {group.id!r}")


@scenario("error_signed_project_wrong_secret")
def error_signed_wrong_secret() -> None:
    if not SIGNED_PUB_KEY:
        raise Failure("UC_SIGNED_PUB_KEY not set (run via run.sh)")
    uc = client(SIGNED_PUB_KEY, "not-the-secret")
    err = expect_error(
        AuthenticationError,
        lambda: upload("x.txt", b"x", uc=uc),
        "signed upload with a wrong secret",
    )
    eq(str(err), "Invalid signature.", "error message")


@scenario("error_signed_project_unsigned_upload")
def error_signed_unsigned() -> None:
    if not SIGNED_PUB_KEY or not SIGNED_SECRET_KEY:
        raise Failure("UC_SIGNED_PUB_KEY/UC_SIGNED_SECRET_KEY not set (run via run.sh)")
    uc = client(SIGNED_PUB_KEY, SIGNED_SECRET_KEY, signed_uploads=False)
    err = expect_error(
        InvalidRequestError,
        lambda: upload("x.txt", b"x", uc=uc),
        "unsigned upload to a project requiring signatures",
    )
    eq(str(err), "`signature` is required.", "error message")


# REST API ---------------------------------------------------------------------------


@scenario("rest_file_info_after_upload", rest=True)
def rest_file_info() -> None:
    data = b"hello from the sdk suite\n"
    f = upload("hello.txt", data)
    eq(f.size, len(data), "size")
    eq(f.filename, "hello.txt", "original_filename")
    eq(f.is_image, False, "is_image")
    eq(f.is_ready, True, "is_ready")
    eq(f.is_removed, False, "is_removed")
    check(f.datetime_uploaded is not None, "datetime_uploaded is missing")
    eq(f.is_stored, True, "is_stored (demo project autostores)")


@scenario("rest_image_info_after_upload", rest=True)
def rest_image_info() -> None:
    f = upload("pixel.png", png_bytes(20, 10))
    eq(f.is_image, True, "is_image")
    eq(f.mime_type, "image/png", "mime_type")
    image = (f.info.get("content_info") or {}).get("image") or {}
    eq((image.get("width"), image.get("height")), (20, 10), "image width/height")
    eq(image.get("format"), "PNG", "image format")


@scenario("rest_upload_with_store_false_is_not_stored", rest=True)
def rest_not_stored() -> None:
    f = upload_text(store=False)
    eq(f.is_stored, False, "is_stored")


@scenario("rest_group_info", rest=True)
def rest_group_info() -> None:
    a = upload_text()
    b = upload("photo.png", png_bytes(8, 8))
    b.set_effects("resize/x800/")
    created = UC.create_file_group([a, b])
    group = UC.file_group(created.id)  # fresh: its info comes from GET /groups/<id>/
    info = group.info
    eq(info["id"], created.id, "id")
    eq(info["files_count"], 2, "files_count")
    check(info.get("datetime_created") is not None, "datetime_created is missing")
    eq(info["cdn_url"].rstrip("/").rsplit("/", 1)[-1], created.id, "cdn_url tail")
    eq([m.uuid for m in group], [a.uuid, b.uuid], "member uuids")
    eq(info["files"][1]["is_image"], True, "member 1 is_image")


@scenario("rest_list_groups_pages_both_orderings", rest=True)
def rest_list_groups() -> None:
    created = [new_group(1)[0].id for _ in range(5)]
    for ordering, expected in (
        (None, created),
        ("datetime_created", created),
        ("-datetime_created", list(reversed(created))),
    ):
        seen = [
            g.id
            for g in UC.list_file_groups(ordering=ordering, request_limit=2)
        ]
        dupes = sorted({i for i in seen if seen.count(i) > 1})
        check(not dupes, f"ordering={ordering}: groups listed twice: {dupes}")
        ours = [i for i in seen if i in created]
        eq(ours, expected, f"ordering={ordering}: created groups in list order")
        eq(len(seen), UC.list_file_groups().count(), f"ordering={ordering}: walked vs count()")


@scenario("rest_list_groups_limit", rest=True)
def rest_list_groups_limit() -> None:
    new_group(1)
    new_group(1)
    got = list(UC.list_file_groups(limit=2, request_limit=1))
    eq(len(got), 2, "groups returned with limit=2")
    # (FileGroup.datetime_created only parses strings; listed groups carry datetimes)
    first, second = (g.info["datetime_created"] for g in got)
    check(first is not None and second is not None, "datetime_created missing")
    check(first < second, f"ascending order: {first} then {second}")


@scenario("rest_count_groups", rest=True)
def rest_count_groups() -> None:
    before = UC.list_file_groups().count()
    new_group(1)
    new_group(2)
    eq(UC.list_file_groups().count(), before + 2, "count after creating two groups")


@scenario("rest_store_group", rest=True)
def rest_store_group() -> None:
    group, files = new_group(2, store=False)
    fresh = UC.file_group(group.id)
    eq(fresh.is_stored, False, "is_stored before store()")
    eq(fresh.store(), True, "group.store() result")
    for f in files:
        again = UC.file(f.uuid)
        eq(again.is_stored, True, f"file {f.uuid} is_stored after group.store()")


@scenario("rest_delete_group", rest=True)
def rest_delete_group() -> None:
    group, files = new_group(2)
    fresh = UC.file_group(group.id)
    fresh.delete()
    eq(fresh.is_deleted, True, "is_deleted")
    err = expect_error(
        InvalidRequestError,
        lambda: UC.file_group(group.id).info,
        "group info after delete",
    )
    expect_detail(err, "Not found.", "error body")
    for f in files:  # members survive their group
        eq(UC.file(f.uuid).is_removed, False, f"member {f.uuid} is_removed")


@scenario("rest_delete_member_file", rest=True)
def rest_delete_member_file() -> None:
    group, (a, b) = new_group(2)
    doomed = UC.file(a.uuid)
    doomed.delete()  # its info now comes from the DELETE answer
    eq(doomed.is_removed, True, "deleted file is_removed")
    fresh = UC.file_group(group.id)
    eq(fresh.info["files_count"], 2, "files_count after deleting a member")
    eq(fresh.info["files"][0], None, "deleted member shows as null")
    eq([m.uuid for m in fresh], [b.uuid], "live members")


@scenario("rest_simple_auth", rest=True)
def rest_simple_auth() -> None:
    uc = client(auth_class=UploadcareSimpleAuth)
    group, _ = new_group(1)
    eq(uc.file_group(group.id).info["id"], group.id, "group id via Simple auth")
    check(uc.list_file_groups().count() >= 1, "count via Simple auth")


@scenario("rest_error_wrong_secret_signed", rest=True)
def rest_wrong_secret_signed() -> None:
    uc = client(secret_key="not-the-secret")
    err = expect_error(
        AuthenticationError, lambda: uc.list_file_groups().count(), "wrong secret"
    )
    expect_detail(err, AUTH_DETAILS, "error body")


@scenario("rest_error_wrong_secret_simple", rest=True)
def rest_wrong_secret_simple() -> None:
    uc = client(secret_key="not-the-secret", auth_class=UploadcareSimpleAuth)
    err = expect_error(
        AuthenticationError, lambda: uc.list_file_groups().count(), "wrong secret"
    )
    expect_detail(err, AUTH_DETAILS, "error body")


@scenario("rest_error_unknown_public_key", rest=True)
def rest_unknown_pub_key() -> None:
    uc = client(public_key="nosuchpublickey")
    err = expect_error(
        AuthenticationError, lambda: uc.list_file_groups().count(), "unknown pub key"
    )
    expect_detail(
        err, AUTH_DETAILS | {"Public key nosuchpublickey not found."}, "error body"
    )


@scenario("rest_error_unknown_group", rest=True)
def rest_unknown_group() -> None:
    err = expect_error(
        InvalidRequestError,
        lambda: UC.file_group(f"{uuid.uuid4()}~2").info,
        "unknown group",
    )
    expect_detail(err, "Not found.", "error body")


@scenario("rest_error_unknown_file", rest=True)
def rest_unknown_file() -> None:
    err = expect_error(
        InvalidRequestError, lambda: UC.file(str(uuid.uuid4())).info, "unknown file"
    )
    expect_detail(err, "Not found.", "error body")


# Webhooks --------------------------------------------------------------------------


class Receiver:
    """A local HTTP receiver in a thread: records every POST (path, headers, raw body)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.got: List[Tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.got.append((self.path, headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def flush_webhooks() -> None:
    """Waits until every due delivery was attempted (`POST /_emulator/webhooks/flush`)."""
    request = urllib.request.Request(
        f"{API_URL.rstrip('/')}/_emulator/webhooks/flush", data=b"", method="POST"
    )
    with urllib.request.urlopen(request) as answer:
        eq(answer.status, 200, "flush")


@scenario("webhooks_create_list_update_delete", rest=True)
def webhooks_crud() -> None:
    from pyuploadcare.exceptions import WebhookIsNotUnique

    target = f"http://127.0.0.1:9/{uuid.uuid4()}"
    hook = UC.create_webhook(target_url=target, event="file.uploaded", signing_secret="s3cret")
    eq(hook.target_url, target, "target_url")
    eq(hook.event, "file.uploaded", "event")
    eq(hook.is_active, True, "is_active")
    eq(hook.signing_secret, "s3cret", "signing_secret")
    listed = [w for w in UC.list_webhooks() if w.id == hook.id]
    eq(len(listed), 1, "the hook is listed")
    expect_error(
        WebhookIsNotUnique,
        lambda: UC.create_webhook(target_url=target, event="file.uploaded"),
        "a second identical subscription",
    )
    updated = UC.update_webhook(hook.id, is_active=False, event="file.stored")
    eq((updated.is_active, updated.event), (False, "file.stored"), "update")
    UC.delete_webhook(hook.id)
    check(all(w.id != hook.id for w in UC.list_webhooks()), "deleted hook still listed")


@scenario("webhooks_deliver_every_event_signed", rest=True)
def webhooks_deliver() -> None:
    import hashlib
    import hmac

    receiver = Receiver()
    secret = "py-signing-secret"
    hooks = [
        UC.create_webhook(target_url=f"{receiver.url}/{event}", event=event, signing_secret=secret)
        for event in ("file.uploaded", "file.stored", "file.info_updated", "file.deleted")
    ]
    try:
        f = upload_text(store=False)
        f.store()
        UC.metadata_api.update_or_create_key(f.uuid, "source", "sdk")
        f.delete()
        flush_webhooks()
        events = []
        for path, headers, body in receiver.got:
            payload = json.loads(body)
            if payload["data"]["uuid"] != f.uuid:
                continue
            want = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            eq(headers.get("x-uc-signature"), want, f"signature of {path}")
            eq(payload["hook"]["event"], path.lstrip("/"), "event of the hook")
            eq(payload["initiator"]["type"], "api", "initiator")
            events.append(payload["hook"]["event"])
        eq(
            sorted(events),
            sorted(["file.uploaded", "file.stored", "file.info_updated", "file.deleted"]),
            "events received for the file",
        )
    finally:
        for hook in hooks:
            UC.delete_webhook(hook.id)
        receiver.close()


# --------------------------------------------------------------------------- tags, search


def upload_tagged(name: str, data: bytes, tags: List[str]) -> File:
    with open(write_file(name, data), "rb") as fh:
        return UC.upload(fh, tags=tags)


def ucare(*args: str) -> object:
    """Runs pyuploadcare's `ucare` command line against the emulator; its JSON output."""
    cmd = [
        sys.executable, "-m", "pyuploadcare.ucare_cli.main",
        "--pub_key", PUB_KEY, "--secret", SECRET_KEY,
        "--api_base", API_URL, "--upload_base", UPLOAD_URL, *args,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    check(not out.startswith("ERROR"), f"ucare {args[0]}: {out.strip()}")
    return json.loads(out)


@scenario("rest_file_tags", rest=True)
def rest_file_tags() -> None:
    f = upload_tagged("tagged.txt", b"tagged\n", ["Cat", "animal"])
    eq(f.get_tags(), ["cat", "animal"], "tags after upload")
    r = f.set_tags(["dog", "cat"])
    eq((r.tags, r.added, r.deleted), (["dog", "cat"], ["dog"], ["animal"]), "set_tags")
    r = f.update_tags(add=["cute"], delete=["dog"])
    eq((r.tags, r.added, r.deleted), (["cat", "cute"], ["cute"], ["dog"]), "update_tags")
    eq(UC.file(str(f.uuid)).tags, ["cat", "cute"], "tags in file info")
    eq(ucare("get_file_tags", str(f.uuid)), ["cat", "cute"], "ucare get_file_tags")
    out = ucare("set_file_tags", str(f.uuid), "one", "two")
    eq(out["tags"], ["one", "two"], "ucare set_file_tags")
    out = ucare("update_file_tags", str(f.uuid), "--add", "three", "--delete", "one")
    eq(out["tags"], ["two", "three"], "ucare update_file_tags")


@scenario("rest_search_files", rest=True)
def rest_search_files() -> None:
    marker = "srch" + uuid.uuid4().hex[:8]
    files = [
        upload_tagged(f"{marker}-{i}.txt", b"x" * (i + 1), [marker, f"n{i}"])
        for i in range(3)
    ]
    want = [str(f.uuid) for f in files]
    request = FileSearchRequest(tags=TagsFilter(all_=[marker]), sort=["size"])
    page = UC.search_files(request, limit=2)
    eq([str(r.uuid) for r in page.results], want[:2], "first page by size")
    eq((page.total, page.per_page), (3, 2), "total, per_page")
    check(page.next is not None and page.previous is None, "next/previous of the first page")
    got = [str(r.uuid) for r in UC.iterate_search_files(request, request_limit=2)]
    eq(got, want, "iterate_search_files follows next")
    page = UC.search_files({"query": marker, "tags": {"none": ["n1"]}, "sort": ["-size"]})
    eq([str(r.uuid) for r in page.results], [want[2], want[0]], "query + tags.none")
    hl = page.results[0].highlight
    check(hl is not None and hl.original_filename == [f"<em>{marker}</em>-2.txt"],
          f"highlight: {hl}")
    page = UC.search_files({"exact": {"uuid": [want[1]]}, "size": {"gte": 2}})
    eq([str(r.uuid) for r in page.results], [want[1]], "exact uuid + size")
    found = ucare("search_files", "--tags_any", marker, "--sort=-size")
    eq([r["uuid"] for r in found], want[::-1], "ucare search_files")



# --------------------------------------------------------------------------- conversions


def two_page_pdf() -> bytes:
    """A two-page PDF whose pages say `Hello page 1` and `Hello page 2`."""
    texts = [b"BT /F1 12 Tf 20 50 Td (Hello page %d) Tj ET" % n for n in (1, 2)]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
    ]
    for n, text in enumerate(texts):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents %d 0 R "
            b"/Resources << /Font << /F1 7 0 R >> >> >>" % (4 + 2 * n)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pdf, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return pdf


def wait_ready(f: File, what: str) -> None:
    """Polls the file's REST info until the conversion made it ready (30 s at most)."""
    for _ in range(300):
        f.update_info()
        if f.info["is_ready"]:
            return
        time.sleep(0.1)
    raise Failure(f"{what}: not ready after 30 s")


@scenario("rest_convert_document", rest=True)
def rest_convert_document() -> None:
    from pyuploadcare.transformations.document import DocumentFormat, DocumentTransformation

    pdf = upload("report.pdf", two_page_pdf())
    page = pdf.convert(DocumentTransformation().format(DocumentFormat.png).page(2))
    check(UUID_RE.match(str(page.uuid)) is not None, f"converted uuid {page.uuid}")
    wait_ready(page, "png page")
    eq(page.info["mime_type"], "image/png", "converted page type")
    eq(page.info["original_filename"], "report-2.png", "converted page name")
    pages = pdf.convert(DocumentTransformation().format(DocumentFormat.jpg), save_in_group=True)
    wait_ready(pages, "all pages")
    group = pdf.get_converted_document_group(DocumentFormat.jpg)
    names = [f.info["original_filename"] for f in group]
    eq(names, ["report-1.jpg", "report-2.jpg"], "pages group, in order")
    # The low-level API: a job and its status by token.
    response = UC.document_convert_api.convert([f"{pdf.uuid}/document/-/format/txt/"])
    eq(dict(response.problems), {}, "problems")
    token = response.result[0].token
    for _ in range(300):
        status = UC.document_convert_api.status(token)
        if status.status not in ("pending", "processing"):
            break
        time.sleep(0.1)
    eq(status.status, "finished", "txt job status")
    text = UC.file(str(response.result[0].uuid))
    data = urllib.request.urlopen(f"{CDN_URL}{text.uuid}/").read()
    check(b"Hello page 2" in data, f"pdftotext output {data[:60]!r}")
    bad = expect_error(
        InvalidRequestError,
        lambda: pdf.convert(DocumentTransformation().format(DocumentFormat.pdf).page(1)),
        "page of a pdf target",
    )
    check("page operation" in str(bad), f"problem text: {bad}")
    # The `ucare` command line. It cannot name a page (its `--page` sets the format, a
    # pyuploadcare bug), and every page of a multi-page document as images is one zip.
    info = ucare("convert_document", str(pdf.uuid), "--format", "png", "--store")
    converted = UC.file(info["uuid"])
    wait_ready(converted, "ucare convert_document")
    eq((converted.info["mime_type"], converted.is_stored), ("application/zip", True),
       "ucare convert_document: all pages, zipped")


def image_facts(data: bytes) -> Tuple[str, int, int]:
    """Format and size of a PNG, JPEG or WebP read from its header bytes."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: baseline or progressive
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", width, height
            i += 2 + length
        raise AssertionError("JPEG without a frame header")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if data[12:16] == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if data[12:16] == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return "webp", width & 0x3FFF, height & 0x3FFF
    raise AssertionError(f"not an image: {data[:16]!r}")


def png_pixels(data: bytes) -> List[List[Tuple[int, ...]]]:
    """The pixels of an 8-bit, non-interlaced PNG (grey, RGB, with or without alpha)."""
    width, height = struct.unpack(">II", data[16:24])
    depth, color = data[24], data[25]
    check(depth == 8 and data[28] == 0, f"PNG depth {depth}, interlace {data[28]}")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    idat, i = b"", 8
    while i < len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        if data[i + 4 : i + 8] == b"IDAT":
            idat += data[i + 8 : i + 8 + length]
        i += 12 + length
    raw, stride, prev, rows = zlib.decompress(idat), width * channels, None, []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        up = prev or bytearray(stride)
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = up[x], up[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        prev = line
        rows.append([tuple(line[x : x + channels]) for x in range(0, stride, channels)])
    return rows


@scenario("cdn_image_transformation_builder")
def cdn_image_transformation_builder() -> None:
    """URLs built with pyuploadcare's ImageTransformation give the images they describe."""
    from pyuploadcare.transformations.image import (
        CropAlignment,
        ImageFormat,
        ImageTransformation,
        ScaleCropMode,
    )

    original = upload("gradient.png", png_bytes(40, 30))
    # Without `format`, processed images come as JPEG (PNG only when they have transparency).
    cases = [
        (ImageTransformation().preview(20, 20), ("jpeg", 20, 15)),
        (ImageTransformation().resize(20).format(ImageFormat.png), ("png", 20, 15)),
        (
            ImageTransformation().scale_crop(16, 16, mode=ScaleCropMode.center).format(ImageFormat.jpeg),
            ("jpeg", 16, 16),
        ),
        (ImageTransformation().crop(20, 10, alignment=CropAlignment.center).rotate(90), ("jpeg", 10, 20)),
        (ImageTransformation().grayscale().format(ImageFormat.webp), ("webp", 40, 30)),
    ]
    for transformation, want in cases:
        f = UC.file(original.uuid)
        f.set_effects(transformation)
        data = urllib.request.urlopen(f.cdn_url).read()
        eq(image_facts(data), want, f"image at {f.cdn_url}")
    # Pixels, losslessly (the fixture is a gradient: pixel (x, y) = (7x, 11y, x + y) mod 256).
    mirrored = UC.file(original.uuid)
    mirrored.set_effects(ImageTransformation().mirror().format(ImageFormat.png))
    rows = png_pixels(urllib.request.urlopen(mirrored.cdn_url).read())
    eq(rows[0][0][:3], ((39 * 7) % 256, 0, 39), "mirror: top-left pixel is the original's top-right")
    grey = UC.file(original.uuid)
    grey.set_effects(ImageTransformation().grayscale().format(ImageFormat.png))
    rows = png_pixels(urllib.request.urlopen(grey.cdn_url).read())
    check(
        all(len(set(px[:3])) == 1 for px in rows[5][:3]) if len(rows[5][0]) >= 3 else True,
        f"grayscale: channels differ in {rows[5][:3]}",
    )
    check(rows[5][10] != rows[5][30], "grayscale kept the gradient")


@scenario("rest_convert_video", rest=True)
def rest_convert_video() -> None:
    from pyuploadcare.transformations.video import VideoFormat, VideoTransformation

    out = os.path.join(tempfile.mkdtemp(), "clip.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=duration=1:size=64x48:rate=10", "-pix_fmt", "yuv420p", out],
        check=True,
    )
    with open(out, "rb") as fh:
        clip = upload("clip.mp4", fh.read())
    webm = clip.convert(VideoTransformation().format(VideoFormat.webm).thumbs(2))
    check(GROUP_ID_RE.match(str(webm.thumbnails_group_uuid)) is not None,
          f"thumbnails group {webm.thumbnails_group_uuid}")
    wait_ready(webm, "webm")
    eq(webm.info["mime_type"], "video/webm", "converted video type")
    thumbs = UC.file_group(str(webm.thumbnails_group_uuid))
    eq(len(list(thumbs)), 2, "thumbnails")
    info = ucare("convert_video", str(clip.uuid), "--transformation", "format/webm/-/thumbs~1/", "--store")
    check(GROUP_ID_RE.match(str(info["thumbnails_group_uuid"])) is not None,
          f"ucare convert_video thumbnails group {info['thumbnails_group_uuid']}")
    converted = UC.file(info["uuid"])
    wait_ready(converted, "ucare convert_video")
    eq((converted.info["mime_type"], converted.is_stored), ("video/webm", True), "ucare convert_video")


# Copies and add-ons (issue 15) ------------------------------------------------------


@scenario("rest_local_copy_with_effects", rest=True)
def rest_local_copy_with_effects() -> None:
    original = upload("roof.png", png_bytes(40, 20))
    copy = original.create_local_copy(effects="resize/10x/", store=True)
    check(copy.uuid != original.uuid, "the copy has its own uuid")
    copy.update_info()
    eq(copy.filename, "roof.png", "copy original_filename")
    eq(copy.is_stored, True, "copy is_stored")
    image = (copy.info.get("content_info") or {}).get("image") or {}
    eq((image.get("width"), image.get("height")), (10, 5), "copy dimensions")
    plain = original.create_local_copy()
    plain.update_info()
    eq((plain.size, plain.is_stored), (original.size, False), "plain copy size, stored")


@scenario("rest_local_copy_errors", rest=True)
def rest_local_copy_errors() -> None:
    err = expect_error(
        InvalidRequestError,
        lambda: UC.files_api.local_copy(source="not-a-uuid"),
        "copy of a bad source",
    )
    expect_detail(err, "Bad `source` parameter. Use UUID or CDN URL.", "bad source")
    f = upload_text()
    f.delete()
    err = expect_error(
        InvalidRequestError, lambda: f.create_local_copy(), "copy of a removed file"
    )
    expect_detail(err, "Bad `source` parameter. Use UUID or CDN URL.", "removed source")


EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def declare_labels(uuid_: str, addon: str, labels: list) -> None:
    """Declares what a Rekognition add-on finds in a file (emulator admin API)."""
    request = urllib.request.Request(
        f"{API_URL.rstrip('/')}/_emulator/projects/{PUB_KEY}/files/{uuid_}/addons/{addon}",
        data=json.dumps({"labels": labels}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request) as answer:
        eq(answer.status, 200, "labels declared")


@scenario("rest_addon_clamav_finds_eicar", rest=True)
def rest_addon_clamav() -> None:
    f = upload("eicar.com", EICAR)
    params = AddonClamAVExecutionParams(purge_infected=False)
    run = UC.addons_api.execute(f.uuid, AddonLabels.CLAM_AV, params)
    status = UC.addons_api.status(run.request_id, AddonLabels.CLAM_AV)
    eq(status.status, "done", "status")
    f.update_info(include_appdata=True)
    data = f.info["appdata"]["uc_clamav_virus_scan"]["data"]
    eq((data["infected"], data["infected_with"]), (True, "Win.Test.EICAR_HDB-1"), "scan")
    doomed = upload("eicar2.com", EICAR)
    UC.addons_api.execute(
        doomed.uuid, AddonLabels.CLAM_AV, AddonClamAVExecutionParams(purge_infected=True)
    )
    doomed.update_info()
    eq(doomed.is_removed, True, "purged")


@scenario("rest_addon_rekognition_declared_labels", rest=True)
def rest_addon_rekognition() -> None:
    f = upload("dog.png", png_bytes(16, 16))
    declare_labels(
        str(f.uuid),
        "aws_rekognition_detect_labels",
        [{"Name": "Dog", "Confidence": 97.5, "Parents": ["Animal"]}],
    )
    run = UC.addons_api.execute(f.uuid, AddonLabels.AWS_LABEL_RECOGNITION)
    eq(UC.addons_api.status(run.request_id, AddonLabels.AWS_LABEL_RECOGNITION).status, "done", "status")
    run = UC.addons_api.execute(f.uuid, AddonLabels.AWS_MODERATION_LABELS)
    eq(UC.addons_api.status(run.request_id, AddonLabels.AWS_MODERATION_LABELS).status, "done", "status")
    f.update_info(include_appdata=True)
    labels = f.info["appdata"]["aws_rekognition_detect_labels"]["data"]["labels"]
    eq([(label["name"], float(label["confidence"])) for label in labels], [("Dog", 97.5)], "labels")
    moderation = f.info["appdata"]["aws_rekognition_detect_moderation_labels"]["data"]["labels"]
    eq(moderation, [], "no moderation labels by default")


@scenario("rest_addon_remove_bg_new_file", rest=True)
def rest_addon_remove_bg() -> None:
    f = upload("product.png", png_bytes(32, 24))
    params = AddonRemoveBGExecutionParams(crop=False, type_level="none")
    run = UC.addons_api.execute(f.uuid, AddonLabels.REMOVE_BG, params)
    status = UC.addons_api.status(run.request_id, AddonLabels.REMOVE_BG)
    eq(status.status, "done", "status")
    result = UC.file(status.result["file_id"])
    eq(result.mime_type, "image/png", "result type")
    image = (result.info.get("content_info") or {}).get("image") or {}
    eq(image.get("color_mode"), "RGBA", "result has alpha")
    err = expect_error(
        InvalidRequestError,
        lambda: UC.addons_api.execute(f.uuid, AddonLabels.REMOVE_BG, {"channels": "rgb"}),
        "bad params",
    )
    expect_detail(err, "Bad `params` parameter: `channels` must be one of: rgba, alpha.", "params")


@scenario("rest_remote_copy_to_custom_storage", rest=True)
def rest_remote_copy() -> None:
    f = upload("roof.png", png_bytes(20, 10))
    url = f.create_remote_copy(
        target="sdktarget", make_public=True, pattern="${uuid}/${filename}${ext}"
    )
    eq(url, f"s3://sdkbucket/{f.uuid}/roof.png", "remote copy URL")
    storage = os.environ.get("UC_STORAGE_DIR")
    if storage:
        path = os.path.join(storage, str(f.uuid), "roof.png")
        check(os.path.exists(path), f"copy written to {path}")
    err = expect_error(
        InvalidRequestError, lambda: f.create_remote_copy(target="nope"), "unknown storage"
    )
    expect_detail(err, "Project has no storage with provided name.", "unknown storage")


# --------------------------------------------------------------------------- runner



def describe(e: BaseException, rest: bool) -> str:
    reason = f"{e}" if isinstance(e, Failure) else f"{type(e).__name__}: {e}"
    reason = reason.replace("\n", " ")
    if len(reason) > 400:
        reason = reason[:400] + "…"
    if rest:
        cause = e if isinstance(e, InvalidRequestError) else e.__cause__
        if isinstance(cause, InvalidRequestError) and str(cause) == "":
            reason = "REST endpoint missing? (404/400 with empty body): " + reason
        reason = "[needs REST API] " + reason
    return reason


def main() -> int:
    only = set(sys.argv[1:])
    # UC_SDK_SKIP: comma-separated scenarios not to run (tests/replicas/run.sh).
    skip = {name for name in os.environ.get("UC_SDK_SKIP", "").split(",") if name}
    passed = failed = skipped = 0
    for name, rest, fn in SCENARIOS:
        if only and name not in only:
            continue
        if name in skip:
            skipped += 1
            print(f"skip {name}", flush=True)
            continue
        try:
            fn()
        except Exception as e:  # every failure is reported, never raised
            failed += 1
            print(f"FAIL {name}: {describe(e, rest)}", flush=True)
            if os.environ.get("UC_SDK_VERBOSE"):
                traceback.print_exc()
        else:
            passed += 1
            print(f"ok {name}", flush=True)
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
