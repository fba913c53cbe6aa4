"""Loopback HTTP(S) servers and GLDv2 release folders for the fetch tests (test_fetch*.py, test_downloads.py): one
copy, shared, so that every test of `glr fetch` asks the same fake server."""

from __future__ import annotations

import hashlib
import io
import ssl
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import image_id
from glr.data import fetch

FAST = dict(workers=4, rate=0, timeout=0.5, retries=2, backoff=0.01)


def jpeg(seed: int, size: int = 24) -> bytes:
    """A small JPEG's bytes."""
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=80)
    return out.getvalue()


class Server:
    """A loopback HTTP server: path -> behaviour ("ok", "404", "500-once", "500", "slow", "truncated", "html",
    "429-always"...)."""

    def __init__(self, tls=None, host: str = "127.0.0.1", **cert):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.hits: dict[str, int] = {}
        self.log: list[tuple[float, str]] = []  # (when, path) of every request, in the order they came
        self.agents: set[str] = set()
        self.released = threading.Event()  # ends every stall (set when the server closes)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                server.log.append((time.monotonic(), self.path))
                server.agents.add(self.headers.get("User-Agent", ""))
                kind, body = server.routes.get(self.path, ("404", b""))
                if kind == "500-once" and server.hits[self.path] == 1 or kind == "500":
                    return self._send(500, b"oops", "text/plain")
                if kind == "404":
                    return self._send(404, b"not here", "text/plain")
                if kind == "429":  # rate limited, without saying for how long
                    return self._send(429, b"slow down", "text/plain")
                if kind == "slow":
                    time.sleep(2)
                if kind == "stall":  # says nothing until the server closes (a minute at most)
                    server.released.wait(60)
                    return
                if kind in ("stall-body", "stall-body-unsized"):  # half the photo, then nothing (with or without its size)
                    self.send_response(200)
                    if kind == "stall-body":
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server.released.wait(60)
                    return
                if kind in ("429-once", "503-once") and server.hits[self.path] == 1 or kind == "429-soon":
                    self.send_response(int(kind[:3]))
                    self.send_header("Retry-After", "soon" if kind == "429-soon" else "2")  # 2 seconds, or nonsense
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind in ("429-always", "503-always"):  # says to slow down, to come back at once, every time
                    self.send_response(int(kind[:3]))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind == "429-wait":  # asks to come back in an hour
                    self.send_response(429)
                    self.send_header("Retry-After", "3600")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind == "drip":  # a byte every 0.1 s: never silent for a whole time-out, never done
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(0.1)
                    except OSError:  # the client gave up
                        pass
                    return
                if kind == "redirect":  # to the address in its body
                    self.send_response(302)
                    self.send_header("Location", body.decode())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind == "bad-gzip":  # says gzip, sends the photo as it is
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if kind == "empty":
                    return self._send(200, b"", "image/jpeg")
                if kind == "html":
                    return self._send(200, b"<html><body>Rate limited, try later</body></html>", "text/html")
                if kind == "truncated":
                    # Promises the whole photo, sends half, hangs up.
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self._send(200, body, "image/jpeg")

            def _send(self, code, body, kind):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (a time-out)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        if tls is not None:  # a trustme CA: HTTPS with a certificate for `host` (`cert`: not_after...)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.issue_cert(host, **cert).configure_cert(context)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.url = self.url.replace("http://", "https://")
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with Server() as s:
        yield s


def release(root, server, kinds: dict[int, list[str]]):
    """A GLDv2 release folder without images: train.csv (id,url,landmark_id) whose URLs point at `server`."""
    rows = []
    for landmark_id, behaviours in kinds.items():
        for i, kind in enumerate(behaviours):
            iid = image_id(landmark_id, i)
            server.routes[f"/{iid}.jpg"] = (kind, jpeg(landmark_id * 100 + i))
            rows.append((iid, f"{server.url}/{iid}.jpg", landmark_id))
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["id", "url", "landmark_id"]).to_csv(root / "train.csv", index=False)
    return root


def leftovers(root):
    """Temp files left in the image tree (there must be none)."""
    return [p for p in (root / "train").rglob(".*")] if (root / "train").exists() else []


def fetch_until_ctrl_c(root, server, stalled: list[str], **options) -> float:
    """Fetch `root` (30 s time-out), pressing Ctrl-C once every `stalled` path has been asked for (its worker is
    waiting on the server); the seconds until the fetch gave up."""
    def ctrl_c_once_the_stalls_have_begun(done, total):
        while not all(server.hits.get(p) for p in stalled):
            time.sleep(0.01)
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch(root, top_n=1, progress=ctrl_c_once_the_stalls_have_begun, **{**FAST, "timeout": 30, **options})
    return time.monotonic() - start


def shard_release(root, counts: dict[int, int]):
    """train.csv of a release without images (id,url,landmark_id) for --from-shards; its ids."""
    rows = [(image_id(lm, i), f"https://example.org/{image_id(lm, i)}.jpg", lm) for lm, n in counts.items() for i in range(n)]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["id", "url", "landmark_id"]).to_csv(root / "train.csv", index=False)
    return [r[0] for r in rows]


def shard(folder, index: int, members: dict[str, bytes], md5: str | None = "right") -> bytes:
    """Write images_NNN.tar (members as a/b/c/<id>.jpg, as the release has them) and its md5 file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name if "/" in name else f"{name[0]}/{name[1]}/{name[2]}/{name}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"images_{index:03d}.tar").write_bytes(data)
    if md5:
        digest = hashlib.md5(data).hexdigest() if md5 == "right" else "0" * 32
        (folder / f"md5.images_{index:03d}.txt").write_text(f"{digest}  images_{index:03d}.tar\n")
    return data
