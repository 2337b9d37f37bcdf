#!/usr/bin/env python3
"""The kill test's client (tests/replicas/run.sh): Python standard library only.

    writer.py write  --base URL --out ACKED.jsonl --duration SECONDS [--threads N]
    writer.py verify --base URL --acked ACKED.jsonl

`write` uploads files (direct `/base/` uploads and multipart uploads of 10.5 MiB) and creates
groups of the files it uploaded, through the proxy, from several threads, until the duration
has passed. Every acknowledged upload or group (a 200 answer with its uuid or group id) is
appended to ACKED.jsonl with the SHA-256 of the bytes sent. Each acknowledged file is read
back at once through the proxy (`/info/`; the next request usually reaches the other
replica): a 404 there is a consistency failure. Requests that fail because a replica died
under them (connection reset, the proxy's 502, a timeout) are counted and printed: they were
never acknowledged, so losing them is allowed.

`verify` reads every acknowledged file and group back through the proxy: the REST API's
file info (size, `is_ready`), the CDN's bytes (SHA-256) and the REST API's group (its files,
in order). With `--lists` it also pages `GET /files/` and `GET /groups/` by their `next`
links (each page from either replica): every acknowledged item once, `total` equal to what
was paged. Anything missing or different is lost data: exit status 1.

Both print one JSON summary line last (counts and timings) for run.sh.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid as uuidlib

PUB = os.environ.get("UC_PUB_KEY", "demopublickey")
SECRET = os.environ.get("UC_SECRET_KEY", "demosecretkey")
MULTIPART_SIZE = 10 * 1024 * 1024 + 512 * 1024  # over production's 10 MiB minimum
PART_SIZE = 5 * 1024 * 1024  # S3's smallest part, the Upload API's default
REST_HEADERS = {
    "Accept": "application/vnd.uploadcare-v0.7+json",
    "Authorization": f"Uploadcare.Simple {PUB}:{SECRET}",
}


class Unacknowledged(Exception):
    """A request a dying replica may have failed: not acknowledged, so not counted as lost."""


class Wrong(Exception):
    """An answer that is wrong whatever happened to a replica."""


class Client:
    """One keep-alive connection to the proxy (reopened after a failure)."""

    def __init__(self, base: str):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port or 80
        self.conn = None

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers, body bytes); transport failures raise Unacknowledged."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            raise Unacknowledged(f"{method} {path.split('?')[0]}: {type(e).__name__}: {e}")
        if resp.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if resp.status in (502, 503, 504):
            raise Unacknowledged(f"{method} {path.split('?')[0]}: proxy answered {resp.status}")
        return resp.status, resp, data

    def json(self, method, path, body=None, headers=None, want=200):
        status, _, data = self.request(method, path, body, headers)
        if status != want:
            raise Wrong(f"{method} {path.split('?')[0]}: {status} {data[:200]!r}")
        return json.loads(data)


def form(fields, files=()):
    """multipart/form-data body and its content type."""
    boundary = uuidlib.uuid4().hex
    out = []
    for name, value in fields:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, filename, data in files:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.append(data)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def urlencoded(fields):
    return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"


class Writer:
    """Shared state of the writing threads."""

    def __init__(self, base, out, deadline):
        self.base = base
        self.out = open(out, "a", encoding="utf-8")
        self.deadline = deadline
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []  # (time since start, reason) of unacknowledged requests
        self.wrong = []
        self.started = time.monotonic()

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def ack(self, record):
        with self.lock:
            self.out.write(json.dumps(record) + "\n")
            self.out.flush()
        self.count(record.get("via", record["kind"]))

    def direct(self, client, rng):
        data = rng.randbytes(rng.randint(1, 256 * 1024))
        body, ctype = form(
            [("UPLOADCARE_PUB_KEY", PUB), ("UPLOADCARE_STORE", "1")],
            [("file", f"w{rng.randint(0, 1 << 30)}.bin", data)],
        )
        answer = client.json("POST", "/base/", body, {"Content-Type": ctype})
        return answer["file"], data

    def multipart(self, client, rng):
        data = rng.randbytes(MULTIPART_SIZE)
        body, ctype = form(
            [
                ("UPLOADCARE_PUB_KEY", PUB),
                ("UPLOADCARE_STORE", "1"),
                ("filename", f"m{rng.randint(0, 1 << 30)}.bin"),
                ("size", str(len(data))),
                ("content_type", "application/octet-stream"),
                ("part_size", str(PART_SIZE)),
            ]
        )
        started = client.json("POST", "/multipart/start/", body, {"Content-Type": ctype})
        for i, url in enumerate(started["parts"]):
            path = urllib.parse.urlsplit(url)
            target = path.path + ("?" + path.query if path.query else "")
            chunk = data[i * PART_SIZE : (i + 1) * PART_SIZE]
            status, _, answer = client.request(
                "PUT", target, chunk, {"Content-Type": "application/octet-stream"}
            )
            if status != 200:
                raise Wrong(f"PUT part {i + 1}: {status} {answer[:200]!r}")
        body, ctype = form([("UPLOADCARE_PUB_KEY", PUB), ("uuid", started["uuid"])])
        done = client.json("POST", "/multipart/complete/", body, {"Content-Type": ctype})
        return done["uuid"], data

    def read_back(self, client, file_id):
        status, _, answer = client.request(
            "GET", f"/info/?pub_key={PUB}&file_id={file_id}"
        )
        if status != 200:
            raise Wrong(f"/info/ of acknowledged {file_id} right after: {status} {answer[:200]!r}")

    def group(self, client, members):
        fields = [("pub_key", PUB)] + [(f"files[{i}]", m) for i, m in enumerate(members)]
        body, ctype = urlencoded(fields)
        answer = client.json("POST", "/group/", body, {"Content-Type": ctype})
        return answer["id"]

    def run_thread(self, n):
        rng = random.Random(n * 7919 + int(time.time()))
        client = Client(self.base)
        mine = []
        i = 0
        while time.monotonic() < self.deadline:
            i += 1
            op = "group" if i % 4 == 0 and len(mine) >= 2 else "direct"
            if i % 12 == 6 and n % 2 == 0:
                op = "multipart"
            try:
                if op == "group":
                    members = mine[-3:]
                    gid = self.group(client, members)
                    self.ack({"kind": "group", "id": gid, "files": members})
                else:
                    fid, data = (self.multipart if op == "multipart" else self.direct)(client, rng)
                    self.ack(
                        {
                            "kind": "file",
                            "via": op,
                            "uuid": fid,
                            "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(),
                        }
                    )
                    mine.append(fid)
                    self.read_back(client, fid)
            except Unacknowledged as e:
                with self.lock:
                    self.failures.append((round(time.monotonic() - self.started, 2), f"{op}: {e}"))
            except (Wrong, KeyError, ValueError) as e:
                with self.lock:
                    self.wrong.append(f"{op}: {e}")


def write(args):
    writer = Writer(args.base, args.out, time.monotonic() + args.duration)
    threads = [threading.Thread(target=writer.run_thread, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - writer.started
    for at, reason in writer.failures:
        print(f"  unacknowledged at {at:6.2f} s: {reason}")
    for reason in writer.wrong:
        print(f"  WRONG: {reason}")
    c = writer.counts
    acked = sum(c.values())
    print(
        f"summary: {acked} acknowledged in {elapsed:.1f} s ({acked / elapsed:.0f}/s): "
        f"{c.get('direct', 0)} direct uploads, {c.get('multipart', 0)} multipart uploads, "
        f"{c.get('group', 0)} groups; {len(writer.failures)} unacknowledged (failed in flight), "
        f"{len(writer.wrong)} wrong answers"
    )
    print(
        json.dumps(
            {
                "phase": "write",
                "seconds": round(elapsed, 1),
                "acknowledged": writer.counts,
                "unacknowledged": len(writer.failures),
                "wrong": len(writer.wrong),
            }
        )
    )
    return 1 if writer.wrong else 0


def verify(args):
    records = [json.loads(line) for line in open(args.acked, encoding="utf-8") if line.strip()]
    started = time.monotonic()
    lost = []
    lock = threading.Lock()
    queue = list(records)

    def check_file(client, r):
        info = client.json("GET", f"/files/{r['uuid']}/", headers=REST_HEADERS)
        if info.get("size") != r["size"]:
            raise Wrong(f"REST size {info.get('size')} != {r['size']}")
        for _ in range(50):
            if info.get("is_ready"):
                break
            time.sleep(0.1)
            info = client.json("GET", f"/files/{r['uuid']}/", headers=REST_HEADERS)
        else:
            raise Wrong("never is_ready")
        status, _, data = client.request("GET", f"/{r['uuid']}/")
        if status != 200:
            raise Wrong(f"CDN answered {status}")
        if hashlib.sha256(data).hexdigest() != r["sha256"]:
            raise Wrong(f"CDN bytes differ ({len(data)} bytes, {r['size']} sent)")

    def check_group(client, r):
        group = client.json("GET", f"/groups/{r['id']}/", headers=REST_HEADERS)
        got = [(f or {}).get("uuid") for f in group.get("files", [])]
        if got != r["files"]:
            raise Wrong(f"files {got} != {r['files']}")
        info = client.json("GET", f"/group/info/?pub_key={PUB}&group_id={r['id']}")
        if info.get("files_count") != len(r["files"]):
            raise Wrong(f"/group/info/ files_count {info.get('files_count')}")

    def worker():
        client = Client(args.base)
        while True:
            with lock:
                if not queue:
                    return
                r = queue.pop()
            what = r.get("uuid") or r.get("id")
            try:
                (check_file if r["kind"] == "file" else check_group)(client, r)
            except (Wrong, Unacknowledged, KeyError, ValueError) as e:
                with lock:
                    lost.append(f"{r['kind']} {what}: {e}")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item_lost = len(lost)
    paged = []
    if args.lists:
        problems, paged = check_lists(Client(args.base), records)
        lost.extend(problems)
    for reason in lost:
        print(f"  LOST: {reason}")
    elapsed = time.monotonic() - started
    print(
        f"summary: {len(records)} acknowledged read back in {elapsed:.1f} s: "
        f"{len(records) - item_lost} intact, {item_lost} lost or different"
        + (f"; REST lists paged: {', '.join(paged)}, {len(lost) - item_lost} wrong" if paged else "")
    )
    print(
        json.dumps(
            {
                "phase": "verify",
                "seconds": round(elapsed, 1),
                "files": sum(r["kind"] == "file" for r in records),
                "groups": sum(r["kind"] == "group" for r in records),
                "lost": len(lost),
            }
        )
    )
    return 1 if lost or not records else 0


def list_ids(client, path, key):
    """Every item's id in a REST list, page after page by its `next` links (which the
    round-robin proxy sends to either replica), and the `total` of the first page."""
    ids, total, url = [], None, f"{path}?limit=100&ordering={key}"
    while url:
        page = client.json("GET", url, headers=REST_HEADERS)
        total = page.get("total") if total is None else total
        ids.extend(item.get("uuid") or item.get("id") for item in page.get("results", []))
        nxt = page.get("next")
        url = None
        if nxt:
            parts = urllib.parse.urlsplit(nxt)
            url = parts.path + ("?" + parts.query if parts.query else "")
    return ids, total


def check_lists(client, records):
    """The REST lists of files and groups, paged by their `from` cursors across both
    replicas, hold every acknowledged item once; the totals agree with the items."""
    problems, paged = [], []
    for path, key, kind, field in [
        ("/files/", "datetime_uploaded", "file", "uuid"),
        ("/groups/", "datetime_created", "group", "id"),
    ]:
        try:
            ids, total = list_ids(client, path, key)
        except (Wrong, Unacknowledged, KeyError, ValueError) as e:
            problems.append(f"list {path}: {e}")
            continue
        paged.append(f"{len(ids)} {path}")
        acked = {r[field] for r in records if r["kind"] == kind}
        seen = set(ids)
        missing = acked - seen
        if missing:
            problems.append(
                f"list {path}: {len(missing)} acknowledged missing when paged, e.g. {sorted(missing)[:3]}"
            )
        if len(ids) != len(seen):
            problems.append(f"list {path}: {len(ids) - len(seen)} items listed twice when paged")
        if total != len(ids):
            problems.append(f"list {path}: total {total} but {len(ids)} items paged")
    return problems, paged


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("--base", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--duration", type=float, required=True)
    w.add_argument("--threads", type=int, default=4)
    v = sub.add_parser("verify")
    v.add_argument("--base", required=True)
    v.add_argument("--acked", required=True)
    v.add_argument(
        "--lists", action="store_true", help="also page the REST lists of files and groups"
    )
    args = parser.parse_args()
    sys.exit(write(args) if args.command == "write" else verify(args))


if __name__ == "__main__":
    main()
