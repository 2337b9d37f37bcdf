"""Benchmark driver (see bench/run.sh and BENCHMARKS.md).

Runs each workload against the ceiling server and the emulator alternately, ROUNDS times,
with wrk (2 threads, 32 connections), and prints medians of req/s, p50, p99, the server's
peak RSS and the emulator/ceiling ratio. Then: pages deep in a store of DEEP_GROUPS groups,
1000-member groups, a big direct upload and a multipart upload against dd, start-up time and
idle RSS. Everything talks to 127.0.0.1 only.
"""
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

EMU, CEIL = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None)
HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = os.environ.get("QUICK") == "1"
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "3"))
DURATION = int(os.environ.get("DURATION", "2" if QUICK else "10"))
DEEP = int(os.environ.get("DEEP_GROUPS", "2000" if QUICK else "1000000"))
BIG_MB = int(os.environ.get("BIG_MB", "5" if QUICK else "90"))
MP_MB = int(os.environ.get("MULTIPART_MB", "20" if QUICK else "1024"))
BACKEND = os.environ.get("BACKEND", "sqlite")
# REPLICAS=2: two emulator processes on one Postgres database behind nginx (round robin per
# request, docker/nginx.replicas.conf); workloads go through the proxy; throughput only.
REPLICAS = int(os.environ.get("REPLICAS", "1"))
PUB, SECRET = "demopublickey", "demosecretkey"
ACCEPT = "application/vnd.uploadcare-v0.7+json"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Peak:
    """Samples a process's RSS every 50 ms while active."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, rss_kb(pid), False
        self.before = self.peak
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def wait_ready(port, path, deadline=20.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            if s.recv(12).startswith(b"HTTP/1.1 2"):
                s.close()
                return time.monotonic() - t0
            s.close()
        except OSError:
            pass
        time.sleep(0.002)
    raise SystemExit(f"server on {port} not ready")


def start_emulator(data_dir, db_url=None):
    port = free_port()
    args = [EMU, "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, "--project", f"{PUB}:{SECRET}"]
    if db_url:
        args += ["--database-url", db_url]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "RUST_LOG": "warn"})
    wait_ready(port, "/_emulator/ready")
    return p, port, time.monotonic() - t0


def start_proxy(work, backend_ports):
    """nginx in front of the replicas, configured from docker/nginx.replicas.conf."""
    port = free_port()
    conf_dir = os.path.join(work, "nginx")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(HERE, "..", "docker", "nginx.replicas.conf")) as fh:
        upstream = fh.read()
    for i, bport in enumerate(backend_ports, 1):
        upstream = upstream.replace(f"uploadcare-{i}:8000", f"127.0.0.1:{bport}")
    upstream = upstream.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    with open(os.path.join(conf_dir, "replicas.conf"), "w") as fh:
        fh.write(upstream)
    user = "user root;" if os.geteuid() == 0 else ""
    with open(os.path.join(conf_dir, "nginx.conf"), "w") as fh:
        fh.write(f"""{user}
worker_processes 2;
error_log {conf_dir}/error.log warn;
pid {conf_dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {conf_dir}/body;
  proxy_temp_path {conf_dir}/proxy;
  fastcgi_temp_path {conf_dir}/fastcgi;
  uwsgi_temp_path {conf_dir}/uwsgi;
  scgi_temp_path {conf_dir}/scgi;
  include {conf_dir}/replicas.conf;
}}
""")
    nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
    p = subprocess.Popen([nginx, "-p", conf_dir, "-c", os.path.join(conf_dir, "nginx.conf"),
                          "-g", "daemon off; master_process on;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, "/_emulator/ready")
    return p, port


def start_ceiling():
    port = free_port()
    p = subprocess.Popen([CEIL, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.01)
    return p, port


def multipart(fields):
    boundary = "----ucbench" + uuid.uuid4().hex
    out = b""
    for k, v in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def upload(port, name, data):
    boundary = "----ucbench" + uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="UPLOADCARE_PUB_KEY"\r\n\r\n{PUB}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, out = request(port, "POST", "/base/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, out
    return json.loads(out)["file"]


def create_group(port, members):
    body, ctype = multipart([("pub_key", PUB)] + [("files[]", m) for m in members])
    status, out = request(port, "POST", "/group/", body, {"Content-Type": ctype})
    assert status == 200, out
    return json.loads(out)["id"]


def signed_headers(method, path):
    date = email.utils.formatdate(usegmt=True)
    sts = f"{method}\n{hashlib.md5(b'').hexdigest()}\n\n{date}\n{path}"
    sig = hmac.new(SECRET.encode(), sts.encode(), hashlib.sha1).hexdigest()
    return {"Accept": ACCEPT, "Date": date, "Authorization": f"Uploadcare {PUB}:{sig}"}


def wrk(port, path, headers=None, body=None, duration=None, conns=32):
    """One wrk run: (req/s, p50 ms, p99 ms, non-2xx)."""
    args = ["wrk", "-t2", f"-c{conns}", f"-d{duration or DURATION}s", "--timeout", "2s", "--latency"]
    env = dict(os.environ)
    tmp = None
    if body is not None:
        tmp = tempfile.NamedTemporaryFile(delete=False)
        tmp.write(body[0])
        tmp.close()
        env.update(BODY_FILE=tmp.name, BODY_TYPE=body[1])
        args += ["-s", os.path.join(HERE, "post.lua")]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, env=env).stdout
    if tmp:
        os.unlink(tmp.name)

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (float(rps.group(1)) if rps else 0.0, ms("50"), ms("99"), int(non2xx.group(1)) if non2xx else 0)


def fmt(x, digits=1):
    return "n/a" if x is None or x != x else f"{x:,.{digits}f}"


def main():
    print(f"# machine: {os.cpu_count()} cores; backend {BACKEND}; rounds {ROUNDS}; wrk 2 threads / 32 connections, {DURATION}s")
    work = tempfile.mkdtemp(prefix="ucbench-")
    db_url = None
    if BACKEND == "postgres":
        admin = os.environ["UC_BENCH_POSTGRES_URL"]
        name = "ucbench_" + uuid.uuid4().hex[:8]
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        db_url = admin.rsplit("/", 1)[0] + "/" + name
    emu, eport, startup_empty = start_emulator(os.path.join(work, "main"), db_url)
    idle_rss = rss_kb(emu.pid)
    extra = []
    if REPLICAS > 1:
        if BACKEND != "postgres":
            raise SystemExit("REPLICAS needs BACKEND=postgres")
        ports = [eport]
        for _ in range(REPLICAS - 1):
            other, oport, _ = start_emulator(os.path.join(work, "main"), db_url)
            extra.append(other)
            ports.append(oport)
        proxy, eport = start_proxy(work, ports)
        extra.append(proxy)
        print(f"# {REPLICAS} replicas behind nginx (round robin per request); peak RSS is replica 1's")
    files = [upload(eport, f"f{i}.png", os.urandom(2048)) for i in range(3)]
    members = [files[0], files[1] + "/-/resize/100x/", files[2]]
    gid = create_group(eport, members)
    for _ in range(150):
        create_group(eport, members)
    ceil = start_ceiling() if CEIL else None
    body = multipart([("pub_key", PUB)] + [("files[]", m) for m in members])
    q = urllib.parse.urlencode({"pub_key": PUB, "group_id": gid})
    workloads = [
        ("GET /group/info/", f"/group/info/?{q}", lambda: {}, None, 0.5),
        ("POST /group/ (3 members)", "/group/", lambda: {}, body, 0.2 if BACKEND == "sqlite" else 0.1),
        ("GET /groups/?limit=100", "/groups/?limit=100",
         lambda: {"Accept": ACCEPT, "Authorization": f"Uploadcare.Simple {PUB}:{SECRET}"}, None, 0.3),
        ("GET /groups/<id>/ (signed)", f"/groups/{gid}/", lambda: signed_headers("GET", f"/groups/{gid}/"), None, 0.4),
    ]
    only = [w for w in os.environ.get("ONLY", "").split(",") if w]
    if only:
        workloads = [w for w in workloads if any(o in w[0] for o in only)]
    results = {w[0]: {"emu": [], "ceil": [], "peak": 0} for w in workloads}
    for _ in range(ROUNDS):
        for name, path, hdrs, b, _goal in workloads:
            if ceil:
                results[name]["ceil"].append(wrk(ceil[1], path, hdrs(), b))
            peak = Peak(emu.pid)
            results[name]["emu"].append(wrk(eport, path, hdrs(), b))
            results[name]["peak"] = max(results[name]["peak"], peak.done())
    print("\n| workload | emulator req/s | p50 ms | p99 ms | non-2xx | peak RSS MB | ceiling req/s | ratio | goal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _p, _h, _b, goal in workloads:
        r = results[name]
        med = lambda runs, i: statistics.median(x[i] for x in runs) if runs else None
        e, c = med(r["emu"], 0), med(r["ceil"], 0)
        ratio = e / c if c else None
        verdict = "" if ratio is None else ("met" if ratio >= goal else "NOT met")
        print(f"| {name} | {fmt(e,0)} | {fmt(med(r['emu'],1),2)} | {fmt(med(r['emu'],2),2)} | {sum(x[3] for x in r['emu'])} "
              f"| {r['peak']/1024:.1f} | {fmt(c,0)} | {fmt(ratio,2)} | ≥{goal} {verdict} |")
    if ceil:
        ceil[0].terminate()
    if os.environ.get("THROUGHPUT_ONLY") == "1" or REPLICAS > 1:
        for p in extra:
            p.terminate()
            p.wait()
        emu.terminate()
        return

    # A 1000-member group: create and read.
    big_members = [files[0]] * 1000
    create_ms, read_ms, rest_ms = [], [], []
    for _ in range(5):
        t0 = time.monotonic()
        big = create_group(eport, big_members)
        create_ms.append((time.monotonic() - t0) * 1000)
        t0 = time.monotonic()
        status, _ = request(eport, "GET", "/group/info/?" + urllib.parse.urlencode({"pub_key": PUB, "group_id": big}))
        read_ms.append((time.monotonic() - t0) * 1000)
        t0 = time.monotonic()
        status2, _ = request(eport, "GET", f"/groups/{big}/", headers=signed_headers("GET", f"/groups/{big}/"))
        rest_ms.append((time.monotonic() - t0) * 1000)
    print(f"\n1000-member group (median of 5): create {statistics.median(create_ms):.1f} ms, "
          f"read /group/info/ {statistics.median(read_ms):.1f} ms (HTTP {status}), "
          f"read REST /groups/<id>/ {statistics.median(rest_ms):.1f} ms (HTTP {status2}); goal < 50 ms each")

    # Big direct upload and multipart against dd.
    data_dir = os.path.join(work, "main")
    def dd(mb):
        t0 = time.monotonic()
        subprocess.run(["dd", "if=/dev/zero", f"of={data_dir}/dd.bin", "bs=1M", f"count={mb}", "conv=fsync"],
                       capture_output=True, check=True)
        os.unlink(f"{data_dir}/dd.bin")
        return time.monotonic() - t0
    big_file = os.path.join(work, "big.bin")
    with open(big_file, "wb") as f:
        for _ in range(BIG_MB):
            f.write(os.urandom(1 << 20))
    peak = Peak(emu.pid)
    t0 = time.monotonic()
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-F", f"UPLOADCARE_PUB_KEY={PUB}",
                          "-F", f"file=@{big_file}", f"http://127.0.0.1:{eport}/base/"], capture_output=True, text=True).stdout
    t_up = time.monotonic() - t0
    growth = (peak.done() - peak.before) / 1024
    t_dd = dd(BIG_MB)
    print(f"\nDirect upload of {BIG_MB} MB: {t_up:.2f} s (HTTP {out}) vs dd {t_dd:.2f} s = {t_up/t_dd:.2f}x "
          f"(goal ≤ 2x); RSS growth {growth:.1f} MB (goal < 32 MB)")
    os.unlink(big_file)
    mp_multipart(eport, emu.pid, dd)

    emu.terminate()
    emu.wait()

    # Deep pages: a store of DEEP groups written straight into the database.
    if BACKEND == "sqlite":
        deep_dir = os.path.join(work, "deep")
        p, _, _ = start_emulator(deep_dir)
        p.terminate()
        p.wait()
        con = sqlite3.connect(os.path.join(deep_dir, "emulator.db"))
        base_us = 1_600_000_000_000_000
        con.executemany("INSERT INTO groups (uuid, project, files_count, created_us) VALUES (?, ?, 1, ?)",
                        ((str(uuid.uuid4()), PUB, base_us + i * 1000) for i in range(DEEP)))
        con.execute("UPDATE projects SET group_count = ? WHERE pub_key = ?", (DEEP, PUB))
        con.commit()
        con.close()
        p, dport, startup_deep = start_emulator(deep_dir)
        def iso(us):
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + f".{us % 1_000_000:06d}+00:00"
        auth = {"Accept": ACCEPT, "Authorization": f"Uploadcare.Simple {PUB}:{SECRET}"}
        rows = []
        for ordering, deep_from in (("datetime_created", base_us + (DEEP - 150) * 1000),
                                    ("-datetime_created", base_us + 150 * 1000)):
            first = wrk(dport, f"/groups/?limit=100&ordering={ordering}", auth, duration=max(2, DURATION // 2))
            deep = wrk(dport, "/groups/?" + urllib.parse.urlencode({"limit": 100, "ordering": ordering, "from": iso(deep_from)}),
                       auth, duration=max(2, DURATION // 2))
            rows.append((ordering, first, deep))
        print(f"\nPages in a store of {DEEP:,} groups (limit=100):")
        print("| ordering | first page p50 ms | deep page p50 ms | deep/first | goal |")
        print("|---|---|---|---|---|")
        for ordering, first, deep in rows:
            print(f"| {ordering} | {first[1]:.2f} | {deep[1]:.2f} | {deep[1]/first[1]:.2f} | ≤ 1.5 |")
        print(f"\nStart-up to ready: empty store {startup_empty*1000:.0f} ms, {DEEP:,} groups {startup_deep*1000:.0f} ms (goal < 100 ms); "
              f"idle RSS {idle_rss/1024:.1f} MB (goal < 20 MB)")
        p.terminate()
        p.wait()
    else:
        print(f"\nStart-up to ready: empty store {startup_empty*1000:.0f} ms; idle RSS {idle_rss/1024:.1f} MB")
    subprocess.run(["rm", "-rf", work])


def mp_multipart(port, pid, dd):
    """Multipart upload of MP_MB through /multipart/start/, part PUTs and /multipart/complete/."""
    size = MP_MB << 20
    part_size = 16 << 20
    body, ctype = multipart([("UPLOADCARE_PUB_KEY", PUB), ("filename", "big.bin"), ("size", str(size)),
                             ("content_type", "application/octet-stream"), ("part_size", str(part_size))])
    status, out = request(port, "POST", "/multipart/start/", body, {"Content-Type": ctype})
    if status != 200:
        print(f"\nMultipart: /multipart/start/ answered HTTP {status}; skipped")
        return
    start = json.loads(out)
    parts = start["parts"]
    chunk = os.urandom(1 << 20)
    peak = Peak(pid)
    t0 = time.monotonic()
    sent = 0
    for url in parts:
        n = min(part_size, size - sent)
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        c.putrequest("PUT", u.path + ("?" + u.query if u.query else ""))
        c.putheader("Content-Length", str(n))
        c.putheader("Content-Type", "application/octet-stream")
        c.endheaders()
        left = n
        while left:
            piece = chunk[: min(len(chunk), left)]
            c.send(piece)
            left -= len(piece)
        r = c.getresponse()
        r.read()
        c.close()
        sent += n
    body, ctype = multipart([("UPLOADCARE_PUB_KEY", PUB), ("uuid", start["uuid"])])
    status, done = request(port, "POST", "/multipart/complete/", body, {"Content-Type": ctype})
    if status != 200:
        print(f"Multipart complete answered HTTP {status}: {done[:200]!r}")
    t_mp = time.monotonic() - t0
    growth = (peak.done() - peak.before) / 1024
    t_dd = dd(MP_MB)
    print(f"Multipart upload of {MP_MB} MB in {len(parts)} parts: {t_mp:.2f} s (complete HTTP {status}) vs dd "
          f"{t_dd:.2f} s = {t_mp/t_dd:.2f}x (goal ≤ 2x); RSS growth {growth:.1f} MB (goal < 32 MB)")


if __name__ == "__main__":
    main()
