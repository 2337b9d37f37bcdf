#!/usr/bin/env python3
"""Webhook benchmark: deliveries per second to a local receiver, delivery latency, and
`POST /base/` throughput with 3 active hooks against none.

    python3 bench/webhooks.py [EMULATOR_BIN]

Knobs (environment): EVENTS (10000, the burst), UPLOADS (2000, uploads timed for latency),
DURATION (8, seconds per wrk run), ROUNDS (3, alternating none / 3 hooks).

- Burst: EVENTS files are uploaded 100 per request while one hook listens; events/s is
  EVENTS over the time from the first upload to the last event received.
- Latency: UPLOADS single-file uploads one after another; latency is the time from an
  upload's answer to its event arriving at the receiver (p50, p99).
- Throughput: wrk (2 threads, 32 connections) posts a one-file multipart upload to
  `/base/` with no hook, then with 3 hooks on `file.uploaded` (three deliveries per upload),
  alternating, ROUNDS rounds; medians.

The receiver is Python's threading HTTP server on the same 2 cores: its CPU is part of what
the hook runs pay for.
"""

import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/uploadcare-emulator")
EVENTS = int(os.environ.get("EVENTS", "10000"))
UPLOADS = int(os.environ.get("UPLOADS", "2000"))
DURATION = int(os.environ.get("DURATION", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PUB, SECRET = "demopublickey", "demosecretkey"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """Records the arrival time of each event by file uuid."""

    def __init__(self) -> None:
        self.arrivals = {}
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                file_uuid = json.loads(body)["data"]["uuid"]
                with receiver.lock:
                    receiver.count += 1
                    receiver.arrivals.setdefault(file_uuid, now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def request(base, method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read(), dict(r.headers)


def rest(base, method, path, payload=None):
    headers = {
        "Accept": "application/vnd.uploadcare-v0.7+json",
        "Authorization": f"Uploadcare.Simple {PUB}:{SECRET}",
        "Content-Type": "application/json",
    }
    data = json.dumps(payload).encode() if payload is not None else None
    return request(base, method, path, data, headers)


def multipart(files):
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="UPLOADCARE_PUB_KEY"\r\n\r\n{PUB}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="UPLOADCARE_STORE"\r\n\r\n0\r\n',
    ]
    body = "".join(parts).encode()
    for i, data in enumerate(files):
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(base, files):
    body, ctype = multipart(files)
    _, answer, _ = request(base, "POST", "/base/", body, {"Content-Type": ctype})
    return json.loads(answer)


def start(tmp):
    port = free_port()
    data = tempfile.mkdtemp(dir=tmp)
    proc = subprocess.Popen(
        [BIN, "--listen", f"127.0.0.1:{port}", "--data-dir", data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            request(base, "GET", "/_emulator/ready")
            return proc, base
        except OSError:
            time.sleep(0.05)
    raise SystemExit("emulator did not start")


def hook(base, target, event="file.uploaded"):
    status, _, _ = rest(base, "POST", "/webhooks/", {"target_url": target, "event": event})
    assert status == 201


def wait_for(receiver, n, limit=300):
    deadline = time.monotonic() + limit
    while receiver.count < n and time.monotonic() < deadline:
        time.sleep(0.005)
    return receiver.count


def burst(tmp):
    proc, base = start(tmp)
    try:
        r = Receiver()
        hook(base, r.url + "/burst")
        started = time.monotonic()
        for i in range(0, EVENTS, 100):
            upload(base, [b"x"] * min(100, EVENTS - i))
        queued = time.monotonic()
        got = wait_for(r, EVENTS)
        last = max(r.arrivals.values())
        return got, EVENTS / (last - started), queued - started, last - started
    finally:
        proc.kill()
        proc.wait()


def latency(tmp):
    proc, base = start(tmp)
    try:
        r = Receiver()
        hook(base, r.url + "/latency")
        acked = {}
        for _ in range(UPLOADS):
            answer = upload(base, [b"x"])
            acked[answer["f0"]] = time.monotonic()
        wait_for(r, UPLOADS)
        lat = sorted((r.arrivals[u] - t) * 1000 for u, t in acked.items() if u in r.arrivals)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
        return len(lat), p(0.5), p(0.99)
    finally:
        proc.kill()
        proc.wait()


def wrk_upload(base):
    body, ctype = multipart([b"hello from wrk\n"])
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(body)
        path = f.name
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{DURATION}s", "-s", os.path.join(ROOT, "bench/post.lua"), base + "/base/"],
        env={**os.environ, "BODY_FILE": path, "BODY_TYPE": ctype},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(path)
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1]), out
    raise SystemExit(out)


def throughput(tmp):
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    none, hooked, delivered = [], [], []
    for _ in range(ROUNDS):
        for with_hooks in (False, True):
            proc, base = start(tmp)
            try:
                r = Receiver()
                if with_hooks:
                    for i in range(3):
                        hook(base, f"{r.url}/h{i}")
                rps, _ = wrk_upload(base)
                (hooked if with_hooks else none).append(rps)
                if with_hooks:
                    delivered.append(r.count / DURATION)
            finally:
                proc.kill()
                proc.wait()
    return statistics.median(none), statistics.median(hooked), statistics.median(delivered)


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="uc-bench-hooks-")
    try:
        got, eps, queue_s, total_s = burst(tmp)
        print(f"burst: {got}/{EVENTS} events; {eps:,.0f} events/s "
              f"(uploads done after {queue_s:.2f} s, last event at {total_s:.2f} s)")
        n, p50, p99 = latency(tmp)
        print(f"latency over {n} uploads: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        none, hooked, delivered = throughput(tmp)
        print(f"POST /base/: no hook {none:,.0f} req/s; 3 hooks {hooked:,.0f} req/s "
              f"({hooked / none:.2f}x, {delivered:,.0f} deliveries/s during the run)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
