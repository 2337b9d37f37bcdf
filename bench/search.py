#!/usr/bin/env python3
"""Search latency at scale: `POST /files/search/` over FILES files (1,000,000 by default).

Seeds a SQLite store straight through SQL (the emulator creates and migrates it first, then
stops): every file stored, 1–3 tags from a vocabulary of 200 (tag `t0` on half the files,
`t199` on about 1 in 400), a `batch` metadata key, one in four an image, sizes spread over
1 B–10 MB. Then starts the emulator on it and sends each query REQUESTS times, one at a time
over one keep-alive connection, and prints p50/p99 per query.

    python3 bench/search.py                          # debug build, 1,000,000 files
    EMULATOR_BIN=target/release/uploadcare-emulator FILES=1000000 python3 bench/search.py
    KEEP=/tmp/search-bench python3 bench/search.py   # keep (and reuse) the seeded store
"""

import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMU = os.environ.get("EMULATOR_BIN", os.path.join(ROOT, "target", "debug", "uploadcare-emulator"))
FILES = int(os.environ.get("FILES", "1000000"))
REQUESTS = int(os.environ.get("REQUESTS", "20"))
KEEP = os.environ.get("KEEP")
PUB, SECRET = "demopublickey", "demosecretkey"
BASE_US = 1_600_000_000_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir):
    port = free_port()
    p = subprocess.Popen(
        [EMU, "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, "--project", f"{PUB}:{SECRET}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/_emulator/ready")
            if c.getresponse().status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    sys.exit("emulator did not become ready")


def tags_of(rng, i):
    tags = {"t0"} if i % 2 == 0 else set()
    while len(tags) < 1 + i % 3:
        tags.add(f"t{min(199, int(rng.expovariate(1 / 40)))}")
    return sorted(tags)


def seed(data_dir):
    p, _ = start(data_dir)  # creates and migrates the store
    p.terminate()
    p.wait()
    con = sqlite3.connect(os.path.join(data_dir, "emulator.db"))
    con.execute("PRAGMA synchronous = OFF")
    rng = random.Random(7)
    mimes = ["image/jpeg", "application/pdf", "text/plain", "video/mp4"]
    t0 = time.monotonic()
    batch, tag_rows = [], []
    for i in range(FILES):
        u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        image = i % 4 == 0
        tags = tags_of(rng, i)
        us = BASE_US + i * 1000
        batch.append((u, PUB, int(10 ** rng.uniform(0, 7)), "bench", f"file-{i:07d}.{'jpg' if image else 'bin'}",
                      mimes[0] if image else mimes[1 + i % 3], "JPEG" if image else None, 640 if image else None,
                      480 if image else None, "RGB" if image else None, json.dumps({"batch": f"b{i % 1000}"}, separators=(",", ":")),
                      json.dumps(tags, separators=(",", ":")), us, us))
        tag_rows.extend((PUB, t, u, us) for t in tags)
        if len(batch) == 50_000:
            flush(con, batch, tag_rows)
    flush(con, batch, tag_rows)
    con.commit()
    con.close()
    print(f"seeded {FILES:,} files in {time.monotonic() - t0:.0f} s", file=sys.stderr)


def flush(con, batch, tag_rows):
    con.executemany(
        "INSERT INTO files (uuid, project, size, blob, original_filename, mime_type, image_format, image_width, "
        "image_height, color_mode, metadata, tags, uploaded_us, stored_us) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    # The tag index carries the upload time (migration 0013), as the emulator writes it.
    con.executemany("INSERT INTO file_tags (project, tag, file_uuid, uploaded_us) VALUES (?, ?, ?, ?)", tag_rows)
    batch.clear()
    tag_rows.clear()


QUERIES = [
    ("tags.any common (t0, half the files), newest first", "", {"tags": {"any": ["t0"]}, "sort": ["-datetime_uploaded"]}),
    ("tags.all two tags", "", {"tags": {"all": ["t0", "t1"]}}),
    ("tags.any rare (t199)", "", {"tags": {"any": ["t199"]}}),
    ("tags.none common", "", {"tags": {"none": ["t0"]}}),
    ("exact original_filename", "", {"exact": {"original_filename": [f"file-{FILES // 2 + 1:07d}.bin"]}}),
    ("exact metadata[batch]", "", {"exact": {"metadata[batch]": ["b7"]}}),
    ("size range, by size", "", {"size": {"gte": 1000, "lt": 1100}, "sort": ["size"]}),
    ("is_image, newest first", "", {"is_image": True}),
    ("deep window (offset 900, limit 100), tags.any common", "?limit=100&offset=900", {"tags": {"any": ["t0"]}}),
    ("query (full-text substring, rare term)", "", {"query": f"{FILES // 3:07d}"}),
]


def main():
    if not os.path.exists(EMU):
        sys.exit(f"no emulator binary at {EMU} (cargo build, or set EMULATOR_BIN)")
    data_dir = KEEP or tempfile.mkdtemp(prefix="uc-search-bench-")
    if not os.path.exists(os.path.join(data_dir, "emulator.db")):
        os.makedirs(data_dir, exist_ok=True)
        seed(data_dir)
    p, port = start(data_dir)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Accept": "application/vnd.uploadcare-v0.7+json", "Content-Type": "application/json",
                   "Authorization": f"Uploadcare.Simple {PUB}:{SECRET}"}
        print(f"Search latency, {FILES:,} files, SQLite, {os.path.relpath(EMU, ROOT)}, {REQUESTS} sequential requests each:\n")
        print("| query | total | p50 ms | p99 ms |")
        print("|---|---|---|---|")
        for name, qs, body in QUERIES:
            times, total = [], None
            for _ in range(REQUESTS):
                t0 = time.perf_counter()
                conn.request("POST", "/files/search/" + qs, json.dumps(body), headers)
                r = conn.getresponse()
                data = r.read()
                times.append((time.perf_counter() - t0) * 1000)
                if r.status != 200:
                    sys.exit(f"{name}: HTTP {r.status}: {data[:200]!r}")
                total = json.loads(data)["total"]
            times.sort()
            p50 = times[len(times) // 2]
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"| {name} | {total:,} | {p50:.1f} | {p99:.1f} |", flush=True)
    finally:
        p.terminate()
        p.wait()
        if not KEEP:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
