"""CDN bytes and REST list/info through pyuploadcare, for tests/docker/e2e.sh.

The SDK scenario suites (tests/sdk) check what the clients see but never read a file's bytes
back; this uploads random bytes with pyuploadcare, reads them from the CDN of every base URL
given (each emulator replica) and finds the file in the REST listing and info of each.

Environment: UC_UPLOAD_URL, UC_API_URL, UC_CDN_URL, UC_PUB_KEY, UC_SECRET_KEY (as the SDK
suites) and UC_OTHER_BASE_URLS, space-separated base URLs of other replicas (optional).
"""
import os
import sys
import tempfile
import urllib.request

from pyuploadcare import Uploadcare


def base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


upload_url = base(os.environ["UC_UPLOAD_URL"])
api_url = base(os.environ["UC_API_URL"])
cdn_url = base(os.environ["UC_CDN_URL"])
others = [base(u) for u in os.environ.get("UC_OTHER_BASE_URLS", "").split()]
keys = dict(public_key=os.environ["UC_PUB_KEY"], secret_key=os.environ["UC_SECRET_KEY"])

uc = Uploadcare(upload_base=upload_url, api_base=api_url, cdn_base=cdn_url, **keys)
data = os.urandom(70_000)
with tempfile.NamedTemporaryFile(suffix=".bin") as fh:  # pyuploadcare uploads real files
    fh.write(data)
    fh.seek(0)
    f = uc.upload(fh)
failures = 0


def check(ok: bool, what: str) -> None:
    global failures
    print(("ok " if ok else "FAIL ") + what, flush=True)
    failures += 0 if ok else 1


for cdn, api in [(cdn_url, api_url)] + [(o, o) for o in others]:
    with urllib.request.urlopen(f"{cdn}{f.uuid}/", timeout=10) as answer:
        body = answer.read()
    check(body == data, f"CDN bytes of {f.uuid} from {cdn} ({len(body)} bytes)")
    client = Uploadcare(upload_base=upload_url, api_base=api, cdn_base=cdn, **keys)
    info = client.file(f.uuid).info
    check(info["size"] == len(data), f"REST info from {api}: size {info['size']}")
    listed = [g.uuid for g in client.list_files(ordering="-datetime_uploaded", limit=20)]
    check(f.uuid in listed, f"REST list from {api} has the file")

print(f"{'ok' if not failures else 'FAIL'} pyuploadcare CDN bytes: {failures} failed", flush=True)
sys.exit(1 if failures else 0)
