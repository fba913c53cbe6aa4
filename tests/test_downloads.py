"""glr.data.downloads: Ctrl-C while a worker connects or shakes hands, and redirects that go nowhere, against servers on
127.0.0.1."""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import trustme

from conftest import image_id
from glr.data import fetch
from fetch_servers import FAST, Server, fetch_until_ctrl_c, jpeg, leftovers, release, server  # noqa: F401
from glr.data import downloads


@contextlib.contextmanager
def unanswered_connects():
    """A port whose connects hang in the TCP handshake: its listener's queue is full and it never accepts, so the
    kernel drops every new SYN (as a host behind a firewall that drops packets)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    queued = []
    try:
        for _ in range(4):  # fill the queue (backlog 0 still holds one); the last ones wait in SYN_SENT themselves
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(listener.getsockname())
            queued.append(sock)
        time.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for sock in queued:
            sock.close()
        listener.close()


def connects_waiting(url: str) -> int:
    """How many of this process's sockets wait in their TCP handshake with `url`'s port (SYN sent, no answer)."""
    import psutil

    port = urllib.parse.urlsplit(url).port
    return sum(c.status == psutil.CONN_SYN_SENT and bool(c.raddr) and c.raddr.port == port
               for c in psutil.Process().net_connections("tcp"))


@contextlib.contextmanager
def silent_after_accept():
    """A port that accepts connections and then says nothing: a TLS client waits in its handshake. `.accepted` is set
    once a connection has come."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, accepted = [], threading.Event()

    def hold():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # the listener closed
                return
            accepted.set()

    threading.Thread(target=hold, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()
        for sock in held:
            sock.close()


@contextlib.contextmanager
def forward_proxy(origin: Server):
    """An HTTP proxy on 127.0.0.1 answering for `origin` (from its routes: "ok", or "stall" until it closes); yields its
    url and the list of what it was asked (absolute urls, as a client asks a proxy)."""
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            asked.append(self.path)
            kind, body = origin.routes.get(urllib.parse.urlsplit(self.path).path, ("404", b""))
            if kind == "stall":
                origin.released.wait(60)
                return
            self.send_response(200 if kind == "ok" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch_then_ctrl_c(root, ready) -> float:
    """Fetch `root` (20 s time-out, a retry), pressing Ctrl-C once a photo is done and `ready()` says the other
    worker is waiting on its server; the seconds from Ctrl-C until the fetch gave up."""
    pressed = []

    def ctrl_c(done, total):
        deadline = time.monotonic() + 5
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        pressed.append(time.monotonic())
        raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c, **{**FAST, "workers": 2, "timeout": 20, "retries": 1})
    assert stopped.value.report.fetched == 1
    return time.monotonic() - pressed[0]


def point_first_photo_at(root, server_url: str) -> None:
    """Point train.csv's first photo at `server_url` (its file name added)."""
    table = pd.read_csv(root / "train.csv")
    set_url(root, 0, f"{server_url}/{table.loc[0, 'id']}.jpg")


def set_url(root, row: int, url: str) -> None:
    """Give train.csv's `row` the url `url`."""
    table = pd.read_csv(root / "train.csv")
    table.loc[row, "url"] = url
    table.to_csv(root / "train.csv", index=False)


def test_ctrl_c_while_a_worker_connects_to_a_silent_host_stops_at_once(tmp_path):
    # The connect waited for the whole time-out (30 s by default, again for each retry) before Ctrl-C took effect.
    with Server() as server, unanswered_connects() as url:
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        point_first_photo_at(root, url)
        waiting = connects_waiting(url)
        seconds = fetch_then_ctrl_c(root, lambda: connects_waiting(url) > waiting)  # a worker is in its connect
    assert seconds < 8  # a margin for a loaded machine; the old code took the 20 s time-out
    assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 1)] and leftovers(root) == []


def test_ctrl_c_while_a_worker_waits_in_the_tls_handshake_stops_at_once(tmp_path, monkeypatch):
    # TLS detached the socket the stop tracked before its handshake: a server that accepted and said nothing held
    # Ctrl-C up for the whole time-out.
    ca = trustme.CA()
    with ca.cert_pem.tempfile() as ca_file, Server(tls=ca) as server, silent_after_accept() as (url, accepted):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        point_first_photo_at(root, url)
        seconds = fetch_then_ctrl_c(root, accepted.is_set)
    assert seconds < 8  # a margin for a loaded machine; the old code took the 20 s time-out
    assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 1)] and leftovers(root) == []


def test_redirects_to_a_page_in_a_loop_or_off_the_web_are_named_and_not_asked_again(tmp_path):
    # A redirect loop (30 redirects an attempt) and a redirect to ftp: were re-tried with back-off as if the network
    # had failed, and called "connection failed"; so was "http://", which names no host.
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["redirect"] * 3 + ["ok"] * 2})
        set_url(root, 4, "http://")
        paths = [f"/{image_id(1, i)}.jpg" for i in range(3)]
        server.routes[paths[0]] = ("redirect", b"/blocked")
        server.routes["/blocked"] = ("html", b"")
        server.routes[paths[1]] = ("redirect", paths[1].encode())  # to itself
        server.routes[paths[2]] = ("redirect", b"ftp://example.org/a.jpg")
        failures = fetch.fetch(root, top_n=1, **FAST).failure_table().set_index("id")
    assert failures.loc[image_id(1, 0), "reason"] == fetch.NOT_AN_IMAGE
    assert failures.loc[image_id(1, 0), "detail"].startswith("an HTML/XML page, not a photo")
    assert failures.loc[image_id(1, 1), "reason"] == fetch.HTTP_ERROR
    assert failures.loc[image_id(1, 1), "detail"].startswith("redirected too many times (a loop?)")
    assert failures.loc[image_id(1, 2), "reason"] == fetch.HTTP_ERROR
    assert failures.loc[image_id(1, 2), "detail"] == "redirected to ftp://example.org/a.jpg, which is not http(s)"
    assert failures.loc[image_id(1, 4), "reason"] == fetch.NO_URL
    assert failures.loc[image_id(1, 4), "detail"].startswith("Invalid URL 'http://'")
    assert server.hits[paths[1]] <= 31 and server.hits[paths[2]] == 1  # one attempt each


def test_ctrl_c_while_a_worker_waits_for_a_hanging_dns_resolver_stops_at_once(tmp_path, monkeypatch):
    # getaddrinfo cannot be interrupted: a worker resolving a host whose DNS server never answers held Ctrl-C (and the
    # end of the process) for the resolver's own time-out, 20 s here.
    real, entered, released = socket.getaddrinfo, threading.Event(), threading.Event()

    def hanging_resolver(host, *args, **kwargs):
        if host != "dns-hangs.invalid":
            return real(host, *args, **kwargs)
        entered.set()
        released.wait(20)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_resolver)
    try:
        with Server() as server:
            root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
            point_first_photo_at(root, "http://dns-hangs.invalid")
            seconds = fetch_then_ctrl_c(root, entered.is_set)
    finally:
        released.set()
    assert entered.is_set() and seconds < 8  # a margin for a loaded machine; the old code waited out the resolver's 20 s
    assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 1)] and leftovers(root) == []


@pytest.mark.parametrize("trusted, cert, said", [
    (False, {}, "unable to get local issuer certificate"),  # signed by a CA this computer does not know
    (True, {"host": "example.org"}, "IP address mismatch, certificate is not valid for '127.0.0.1'."),
    (True, {"not_after": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}, "certificate has expired"),
])
def test_a_certificate_that_is_not_trusted_is_named_and_not_asked_again(tmp_path, monkeypatch, trusted, cert, said):
    # It was re-tried with back-off (1 + 2 + 4 s by default) and called "connection failed": it never heals.
    ca = trustme.CA()
    with ca.cert_pem.tempfile() as ca_file, Server(tls=ca, **cert) as server:
        if trusted:
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        started = time.monotonic()
        report = fetch.fetch(root, top_n=1, **{**FAST, "retries": 2, "backoff": 10})
    # The old code slept 10 + 20 s between its three attempts; a margin for a loaded machine, not a speed claim.
    assert time.monotonic() - started < 8
    assert sorted(report.failures) == [(image_id(1, i), "certificate not trusted", said) for i in range(2)]
    assert report.summary().splitlines()[-1] == (  # every one: the cause is likely this computer's
        "every photo asked for failed with 'certificate not trusted': a proxy that inspects TLS needs its certificate "
        "in REQUESTS_CA_BUNDLE; or is this computer's clock wrong?")


def test_a_body_that_says_gzip_and_is_not_is_named_and_not_asked_again(tmp_path):
    # urllib3's DecodeError was re-tried with back-off as if the network had failed, and called "connection failed".
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["bad-gzip", "ok"]})
        report = fetch.fetch(root, top_n=1, **FAST)
    (failed, reason, detail), = report.failures
    assert (failed, reason) == (image_id(1, 0), fetch.BAD_ENCODING) and "content-encoding: gzip" in detail
    assert server.hits[f"/{failed}.jpg"] == 1 and report.fetched == 1


@contextlib.contextmanager
def refused_connects():
    """A port where nothing listens: every connect is refused at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("host, reason, said", [
    (refused_connects, fetch.CONNECTION, "Failed to establish a new connection: [Errno 111] Connection refused"),
    (unanswered_connects, fetch.TIMED_OUT, "Connection to 127.0.0.1 timed out. (connect timeout=0.2)"),
])
def test_a_host_that_refuses_or_ignores_connections_is_tried_retries_times_not_retries_squared(tmp_path, host, reason,
                                                                                                said):
    # urllib3 re-tried the connect `retries` times with back-off, then glr re-tried the whole of that `retries` times
    # more: 16 connects a photo at the defaults, about 31 s for a host that is gone (8 minutes for one that drops
    # packets), 10 hours for 10,000 rows of such a host.
    connects = []
    with Server() as server, host() as url:
        port = int(url.rsplit(":", 1)[1])
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        set_url(root, 0, f"{url}/a.jpg")
        hook = lambda event, args: connects.append(args[1]) if event == "socket.connect" and args[1][1] == port else None  # noqa: E731
        sys.addaudithook(hook)  # cannot be removed: it only counts connects to this test's port
        report = fetch.fetch(root, top_n=1, **{**FAST, "retries": 2, "workers": 1, "timeout": 0.2})
    assert len(connects) == 3  # the first try and 2 retries (the old code made 9)
    assert report.failures == [(image_id(1, 0), reason, said)]


def test_downloads_go_through_the_http_proxy_the_environment_names_and_ctrl_c_stops_one_stalled_there(tmp_path, monkeypatch):
    # HTTP(S)_PROXY is how a campus or company network lets a fetch out: every photo must be asked of the proxy, and a
    # stalled proxy connection shut by Ctrl-C as a direct one is.
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with Server() as server, forward_proxy(server) as (proxy, asked):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        root = release(tmp_path / "gld", server, {1: ["stall", "ok"]})
        urls = [f"{server.url}/{image_id(1, i)}.jpg" for i in range(2)]
        seconds = fetch_then_ctrl_c(root, lambda: urls[0] in asked)
        assert server.hits == {} and sorted(asked) == sorted(urls)  # all through the proxy, none straight
    assert seconds < 8  # at once: a stalled connection is held for the 20 s time-out; a margin for a loaded machine


def test_a_url_with_spaces_or_accents_is_asked_for_percent_encoded(tmp_path):
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        set_url(root, 0, f"{server.url}/Tour Eiffel é.jpg")
        server.routes["/Tour%20Eiffel%20%C3%A9.jpg"] = ("ok", server.routes[f"/{image_id(1, 0)}.jpg"][1])
        report = fetch.fetch(root, top_n=1, **FAST)
    assert report.fetched == 2 and not report.failures


def test_a_429_without_retry_after_is_asked_again_with_back_off_then_said_to_be_a_rate_limit(tmp_path):
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["429", "ok"]})
        report = fetch.fetch(root, top_n=1, **FAST)
    assert report.failures == [(image_id(1, 0), fetch.HTTP_ERROR,
                                "HTTP 429 (rate limited: fetch again later, or with a lower --rate)")]
    assert server.hits[f"/{image_id(1, 0)}.jpg"] == FAST["retries"] + 1
    assert "every photo asked for failed" not in report.summary()  # one came: the server is not refusing everyone


def test_a_body_shorter_than_its_content_length_says_how_much_came(tmp_path):
    # The detail was "('Connection broken: IncompleteRead(537 bytes read, 537 more expected)', IncompleteRead(...))".
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["truncated", "ok"]})
        size = len(server.routes[f"/{image_id(1, 0)}.jpg"][1])
        report = fetch.fetch(root, top_n=1, **FAST)
    assert report.failures == [(image_id(1, 0), fetch.TRUNCATED, f"{size // 2:,} bytes of the {size:,} its "
                                "Content-Length promised, then the connection closed")]


def test_a_proxy_that_fails_is_named_as_the_cause_and_not_asked_again(tmp_path, monkeypatch):
    # A proxy that refused connections (or a CONNECT) was "connection failed", re-tried (retries + 1) squared times,
    # and the detail named urllib3's internals: ('Unable to connect to proxy', NewConnectionError("Tracked(host=...
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    listener = socket.create_server(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    with Server() as server, forward_proxy(server) as (no_tunnels, asked):
        monkeypatch.setenv("HTTP_PROXY", dead)
        monkeypatch.setenv("HTTPS_PROXY", no_tunnels)  # answers GET, not CONNECT (501)
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        set_url(root, 1, "https://127.0.0.1:9/a.jpg")
        report = fetch.fetch(root, top_n=1, **{**FAST, "retries": 2})
    failures = dict((i, (reason, detail)) for i, reason, detail in report.failures)
    assert failures == {
        image_id(1, 0): (fetch.PROXY, "the proxy (HTTPS_PROXY, HTTP_PROXY) failed: Failed to establish a new "
                                      "connection: [Errno 111] Connection refused"),
        image_id(1, 1): (fetch.PROXY, "the proxy (HTTPS_PROXY, HTTP_PROXY) failed: Tunnel connection failed: 501 "
                                      "Unsupported method ('CONNECT')")}
    assert server.hits == {} and asked == []
    assert report.summary().splitlines()[-1] == ("every photo asked for failed with 'proxy failed': check HTTPS_PROXY "
                                                 "and HTTP_PROXY (and NO_PROXY, the hosts asked directly), or unset them")


def test_a_socks_proxy_without_pysocks_says_what_to_install(tmp_path, monkeypatch):
    if importlib.util.find_spec("socks") is not None:
        pytest.skip("PySocks is installed here")
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:9")
    with Server() as server:
        root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
        report = fetch.fetch(root, top_n=1, **FAST)
    assert {(reason, detail) for _, reason, detail in report.failures} == {
        (fetch.PROXY, "a SOCKS proxy is set (ALL_PROXY, HTTPS_PROXY...): it needs `pip install PySocks`")}


def test_too_large_is_refused_without_reading_it_all(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    report = fetch.fetch(root, top_n=1, max_bytes=100, **FAST)
    assert set(report.failure_table()["reason"]) == {fetch.TOO_LARGE}


def test_a_long_retry_after_is_waited_only_up_to_the_cap(tmp_path, server, monkeypatch):
    # urllib3 sleeps whatever Retry-After says: an hour per retry, per photo, in silence.
    monkeypatch.setattr(downloads, "MAX_RETRY_AFTER", 0.2)
    root = release(tmp_path / "gld", server, {1: ["429-wait", "ok"]})
    start = time.monotonic()
    report = fetch.fetch(root, top_n=1, **{**FAST, "retries": 1})
    assert time.monotonic() - start < 10
    assert report.fetched == 1 and server.hits[f"/{image_id(1, 0)}.jpg"] == 2  # waited (0.2 s), asked once more
    detail = report.failure_table().set_index("id").loc[image_id(1, 0), "detail"]
    assert detail.startswith("HTTP 429 (rate limited") and "--rate" in detail


def test_a_body_sent_a_byte_at_a_time_is_given_up_at_the_deadline(tmp_path, server):
    # Each byte comes before the time-out, so only a deadline on the whole body ends it (the photo takes minutes).
    root = release(tmp_path / "gld", server, {1: ["drip", "ok"]})
    start = time.monotonic()
    report = fetch.fetch(root, top_n=1, deadline=0.8, **FAST)
    assert time.monotonic() - start < 10
    failure = report.failure_table().set_index("id").loc[image_id(1, 0)]
    assert failure["reason"] == fetch.TIMED_OUT and "still sending after 0.8 s" in failure["detail"]
    assert report.fetched == 1 and not fetch.image_path(root, image_id(1, 0)).exists() and leftovers(root) == []


def test_the_rate_limit_spaces_out_requests():
    limiter = downloads.RateLimiter(rate=50)
    start = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - start >= 5 / 50 * 0.9


def test_rows_without_a_usable_url_are_named_so_and_an_upper_case_scheme_is_fetched(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok"] * 7})
    table = pd.read_csv(root / "train.csv")
    ok_url = table.loc[6, "url"]
    table["url"] = ["", "ftp://example.org/a.jpg", "file:///etc/passwd", "javascript:alert(1)", "a/b.jpg",
                    "  " + ok_url.replace("http://", "HTTP://") + " ", ok_url]
    table.to_csv(root / "train.csv", index=False)
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.fetched == 2  # HTTP://... is http, and spaces around a url are not part of it
    reasons = report.failure_table().set_index("id")
    assert set(reasons["reason"]) == {fetch.NO_URL}  # not "connection failed": nothing was asked
    assert sorted(reasons["detail"]) == sorted(["empty", "ftp://example.org/a.jpg", "file:///etc/passwd",
                                                "javascript:alert(1)", "a/b.jpg"])
    assert "no usable url: 5" in report.summary()


def test_an_empty_answer_and_an_html_page_are_named_as_such(tmp_path, server):
    # Both were "does not decode as an image", which hides a block or rate-limit page.
    root = release(tmp_path / "gld", server, {1: ["empty", "html", "ok"]})
    details = fetch.fetch(root, top_n=1, **FAST).failure_table().set_index("id")["detail"]
    assert details[image_id(1, 0)] == "empty (0 bytes)"
    assert details[image_id(1, 1)].startswith("an HTML/XML page, not a photo ('<html><body>Rate limited")


def test_ctrl_c_against_a_stalled_server_stops_at_once_and_leaves_no_half_written_photo(tmp_path, server):
    # The downloads under way waited for the stalled server up to the time-out (30 s here, 30 s a retry by
    # default, and up to the 300 s deadline for a dripping body) before Ctrl-C took effect.
    # (A Retry-After's pause, which now holds every worker, is test_ctrl_c_during_a_retry_after_pause_stops_at_once.)
    root = release(tmp_path / "gld", server, {1: ["stall", "stall-body", "stall-body-unsized", "ok"]})
    stalled = [f"/{image_id(1, i)}.jpg" for i in range(3)]
    photo = jpeg(7)  # the unsized body's first half decodes: only the stop tells it from a whole answer
    server.routes[stalled[2]] = ("stall-body-unsized", photo + b"\0" * (len(photo) + 100))

    seconds = fetch_until_ctrl_c(root, server, stalled, workers=4, retries=1)
    assert seconds < 15  # generous: the old code took the 30 s time-out
    assert not server.released.is_set()  # the server was still stalling
    assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 3)] and leftovers(root) == []


def test_ctrl_c_during_a_retry_after_pause_stops_at_once(tmp_path, server):
    # A worker slept out a Retry-After of up to a minute before Ctrl-C took effect; now the whole pool pauses for it,
    # so the Ctrl-C comes from the terminal (a signal to the main thread), not from a photo's progress.
    root = release(tmp_path / "gld", server, {1: ["429-wait", "ok", "ok"]})
    asked = f"/{image_id(1, 0)}.jpg"

    def ctrl_c_once_it_is_asked():
        while not server.hits.get(asked):
            time.sleep(0.01)
        time.sleep(0.2)  # into the pause (a stop before it ends it as well)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=ctrl_c_once_it_is_asked, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(fetch.FetchInterrupted):
        fetch.fetch(root, top_n=1, **{**FAST, "workers": 3, "retries": 1, "timeout": 30})
    assert time.monotonic() - start < 15  # generous: the old code slept the 60 s out
    assert server.hits[asked] == 1 and leftovers(root) == []  # the pause was cut short: never asked again


def test_ctrl_c_against_a_stalled_https_server_stops_at_once(tmp_path, monkeypatch):
    # GLDv2's URLs are https: TLS detached the socket the stop tracked, so a stalled photo held Ctrl-C up to the
    # time-out (30 s here, up to the 300 s deadline for a dripping one).
    ca = trustme.CA()
    with ca.cert_pem.tempfile() as ca_file, Server(tls=ca) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)  # requests then trusts the test's CA
        root = release(tmp_path / "gld", server, {1: ["stall-body", "ok"]})
        seconds = fetch_until_ctrl_c(root, server, [f"/{image_id(1, 0)}.jpg"], workers=2, retries=0)
        assert seconds < 15  # generous: the old code took the 30 s time-out
        assert not server.released.is_set()  # the server was still stalling
        assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 1)] and leftovers(root) == []


def test_ctrl_c_while_downloads_wait_their_turn_under_a_slow_rate_stops_at_once(tmp_path, server):
    # At --rate 0.01 a worker sleeps 100 s before its request; Ctrl-C waited for those sleeps to end.
    root = release(tmp_path / "gld", server, {1: ["ok"] * 3})

    def ctrl_c(done, total):
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c, **{**FAST, "workers": 3, "rate": 0.01})
    assert time.monotonic() - start < 50  # generous: the old code slept out the 100 s and 200 s turns
    assert stopped.value.report.fetched == 1 and len(list((root / "train").rglob("*.jpg"))) == 1


@pytest.mark.parametrize("status, retries", [("429", 1), ("503", 1), ("429", 0)])
def test_a_429_or_503_with_retry_after_pauses_every_worker_and_says_so(tmp_path, server, status, retries):
    # Each worker backed off on its own: the one answered waited its Retry-After while the others went on asking, so
    # N workers kept asking a server that had said to slow down. With --retries 0, nobody paused at all.
    root = release(tmp_path / "gld", server, {1: [f"{status}-once"] + ["ok"] * 19})
    report = fetch.fetch(root, top_n=1, **{**FAST, "workers": 4, "rate": 10, "retries": retries})
    assert report.fetched == 19 + retries and len(report.failures) == 1 - retries
    answered = min(when for when, path in server.log if path == f"/{image_id(1, 0)}.jpg")
    # Requests sent before the answer arrived may come just after it; none may come in the rest of the 2 s asked for.
    asked_in_the_pause = [path for when, path in server.log if answered + 0.5 < when < answered + 2.0]
    assert asked_in_the_pause == []
    assert ("rate limited: the server answered 429 or 503 1 time, and every download paused together (the longest "
            "pause 2 s); a lower --rate, or fewer --workers, asks less often") in report.summary().splitlines()


def test_a_second_ctrl_c_while_the_workers_are_stopped_leaves_none_behind(tmp_path, server, monkeypatch):
    # Ctrl-C twice: the second cut the stopping of the workers short, and the one on a stalled server was left
    # waiting; "interrupted" was printed, then the interpreter's exit waited on it for the whole time-out.
    from glr.data import stop_switch

    class PressedTwice(stop_switch.StopSwitch):
        def stop(self):
            if not getattr(self, "pressed", False):  # the second Ctrl-C, as the workers are being stopped
                self.pressed = True
                signal.raise_signal(signal.SIGINT)
            super().stop()

    monkeypatch.setattr(downloads, "StopSwitch", PressedTwice)
    root = release(tmp_path / "gld", server, {1: ["stall", "ok", "ok"]})
    fetch_until_ctrl_c(root, server, [f"/{image_id(1, 0)}.jpg"], workers=2, retries=0)  # raises FetchInterrupted
    assert [t.name for t in threading.enumerate() if t.name.startswith("glr-fetch_")] == []
    assert not server.released.is_set()  # the stalled server did not end it: the stop did


def test_ctrl_c_pressed_again_while_the_first_unwinds_is_dropped_and_the_stop_finishes(tmp_path, server, monkeypatch):
    # The second KeyboardInterrupt, raised while the first unwound a wait on a lock, broke the lock ("RuntimeError:
    # release unlocked lock", a traceback) or cut the stop short, leaving a worker on a stalled server.
    pressed = []

    def ctrl_c_again(self):
        pressed.append(1)
        signal.raise_signal(signal.SIGINT)  # as the first Ctrl-C's KeyboardInterrupt unwinds download_all
        return None

    monkeypatch.setattr(downloads.RateLimiter, "said", ctrl_c_again)
    root = release(tmp_path / "gld", server, {1: ["stall", "ok", "ok"]})

    def ctrl_c(done, total):
        while not server.hits.get(f"/{image_id(1, 0)}.jpg"):
            time.sleep(0.01)
        signal.raise_signal(signal.SIGINT)

    with pytest.raises(fetch.FetchInterrupted):
        fetch.fetch(root, top_n=1, progress=ctrl_c, **{**FAST, "workers": 2, "timeout": 30, "retries": 0})
    assert pressed == [1]
    assert [t.name for t in threading.enumerate() if t.name.startswith("glr-fetch_")] == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C is Ctrl-C again after the fetch


def test_a_photo_that_does_not_decode_says_why_in_the_decoders_words(tmp_path, server):
    # Every photo that did not decode was "does not decode as an image": a truncated JPEG (a proxy that cut it and
    # sent a whole answer) and a decompression bomb could not be told apart in the failures list.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    photo = server.routes[f"/{image_id(1, 0)}.jpg"][1]
    server.routes[f"/{image_id(1, 0)}.jpg"] = ("ok", photo[: len(photo) // 2])  # a whole answer, half a photo
    failure = fetch.fetch(root, top_n=1, **FAST).failure_table().set_index("id").loc[image_id(1, 0)]
    assert failure["reason"] == fetch.NOT_AN_IMAGE
    assert failure["detail"] == "image file is truncated (incomplete download or copy?)"


def test_a_429_whose_retry_after_is_nonsense_is_backed_off_and_said_to_be_a_rate_limit(tmp_path, server):
    # urllib3 raised on "Retry-After: soon": the photo failed as "connection failed: Invalid Retry-After header", with
    # no word of the rate limit, and the pool went on asking.
    root = release(tmp_path / "gld", server, {1: ["429-soon", "ok"]})
    report = fetch.fetch(root, top_n=1, **{**FAST, "retries": 1})
    failure = report.failure_table().set_index("id").loc[image_id(1, 0)]
    assert failure["reason"] == fetch.HTTP_ERROR and failure["detail"].startswith("HTTP 429 (rate limited")
    assert report.fetched == 1 and "rate limited: the server answered 429 or 503 2 times" in report.summary()


def test_a_url_whose_host_name_cannot_be_a_host_is_no_usable_url_not_a_connection_failure(tmp_path, server):
    # A host name label over 63 characters (a mangled row) counted as "connection failed", which hints at the network.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    set_url(root, 0, "http://" + "a" * 300 + ".example/x.jpg")
    failure = fetch.fetch(root, top_n=1, **FAST).failure_table().iloc[0]
    assert failure["reason"] == fetch.NO_URL and failure["detail"].startswith("Failed to parse")


def test_a_rate_limit_note_that_cannot_be_shown_does_not_fail_the_fetch(tmp_path, server):
    # The note is printed from the worker that was answered 429: stderr a closed pipe raised there, out of the fetch.
    def closed_pipe(text):
        raise BrokenPipeError(32, "Broken pipe")

    root = release(tmp_path / "gld", server, {1: ["429-once", "ok"]})
    report = fetch.fetch(root, top_n=1, notice=closed_pipe, **{**FAST, "retries": 0})
    assert report.fetched == 1 and report.failures[0][2].startswith("HTTP 429 (rate limited")


def test_a_third_ctrl_c_while_the_stop_winds_down_ends_the_fetch_at_once(monkeypatch, capsys):
    # After the first Ctrl-C every later one was held until the workers were out: one stuck on a hung network mount
    # held the fetch for good, and only SIGKILL ended it.
    import signal as signals

    from glr.data import stop_switch

    ended = []

    def exit_now(code):
        ended.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(stop_switch.os, "_exit", exit_now)
    handed = []  # what the block hands on after it: a stand-in for Ctrl-C's KeyboardInterrupt, which would end pytest
    previous = signals.signal(signals.SIGINT, lambda number, frame: handed.append(number))
    try:
        with pytest.raises(SystemExit):
            with stop_switch.signals_held(give_up_after=2, giving_up="stopping now"):
                signals.raise_signal(signals.SIGINT)  # the second Ctrl-C: held, as before
                assert ended == []
                signals.raise_signal(signals.SIGINT)  # the third: out at once
    finally:
        signals.signal(signals.SIGINT, previous)
    assert ended == [130] and capsys.readouterr().err == "stopping now\n"


@pytest.mark.parametrize("status, words", [("429", "'too many requests' (HTTP 429)"), ("503", "'unavailable' (HTTP 503)")])
def test_a_server_that_says_only_to_slow_down_is_asked_no_more_and_the_rest_listed_to_ask_later(tmp_path, server,
                                                                                               status, words):
    # Against a server that answered 429 (Retry-After up to 60 s) for ever, the fetch asked every photo, each a few
    # times with the whole pool paused: days for 10,000 photos, saying only that the server said to slow down.
    root = release(tmp_path / "gld", server, {1: [f"{status}-always"] * 40})
    report = fetch.fetch(root, top_n=1, give_up_photos=3, give_up_after=0, **{**FAST, "workers": 2, "retries": 1})
    assert report.fetched == 0 and sorted(i for i, _, _ in report.failures) == sorted(image_id(1, i) for i in range(40))
    table = report.failure_table()
    refused, given_up = table[table["reason"] == fetch.HTTP_ERROR], table[table["reason"] == fetch.GAVE_UP]
    assert len(refused) >= 3 and len(refused) + len(given_up) == 40
    # Asked: at most the 2 x 2 photos the pool holds when the third is refused, and the 2 refused before them.
    assert len(server.hits) <= 2 + 2 * 2
    said = (rf"in the last \d+ s the server sent no photo and refused [3-6] with {re.escape(words)}; run the "
            r"same command later, or with a lower --rate")
    assert all(re.fullmatch(f"(not asked|given up as the fetch stopped asking): {said}", d) for d in given_up["detail"])
    note = rf"the fetch stopped asking, {len(given_up)} photos short \(listed as '{re.escape(fetch.GAVE_UP)}'\): {said}"
    assert [n for n in report.notes if re.fullmatch(note, n)]
    assert all(fetch.could_pass(reason, detail) for _, reason, detail in report.failures)  # the same command asks again
    assert pd.read_csv(root / fetch.FAILURES_CSV)["id"].nunique() == 40


def test_a_fetch_that_stops_asking_does_not_sit_out_the_pause_the_server_asked_for(tmp_path, server):
    # The workers waiting out a 60 s Retry-After (an hour, capped) are freed at once, and their photos listed.
    root = release(tmp_path / "gld", server, {1: ["429-wait"] * 6})
    start = time.monotonic()
    report = fetch.fetch(root, top_n=1, give_up_photos=1, give_up_after=0, **{**FAST, "workers": 2, "retries": 0})
    assert time.monotonic() - start < 15  # generous: the pause is 60 s
    reasons = report.failure_table().groupby("reason")["detail"].agg(lambda d: sorted({t.split(":")[0] for t in d}))
    assert reasons[fetch.HTTP_ERROR] == ["HTTP 429 (rate limited"] and len(report.failures) == 6
    assert set(reasons[fetch.GAVE_UP]) <= {"not asked", "given up as the fetch stopped asking"}
    assert leftovers(root) == []


def test_ctrl_c_while_a_server_says_only_to_slow_down_still_stops_at_once_and_lists_nothing_as_given_up(tmp_path,
                                                                                                      server):
    root = release(tmp_path / "gld", server, {1: ["429-wait"] * 6})
    asked = f"/{image_id(1, 0)}.jpg"

    def ctrl_c_in_the_pause():
        while not server.hits.get(asked):
            time.sleep(0.01)
        time.sleep(0.2)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=ctrl_c_in_the_pause, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(fetch.FetchInterrupted) as stopped:  # the give-up is armed on photos, waiting on time
        fetch.fetch(root, top_n=1, give_up_photos=1, give_up_after=3600, **{**FAST, "workers": 2, "retries": 0})
    assert time.monotonic() - start < 15  # generous: the pause is 60 s
    assert fetch.GAVE_UP not in {reason for _, reason, _ in stopped.value.report.failures}


class Clock:
    """A clock a test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_giving_up_takes_both_enough_photos_refused_and_long_enough_without_a_photo():
    from glr.data.rate_limit import GIVE_UP_PHOTOS, GIVE_UP_SECONDS, GiveUp

    assert (GIVE_UP_PHOTOS, GIVE_UP_SECONDS) == (10, 600.0)
    clock = Clock()
    watch = GiveUp(3, 600, clock)
    limited = (fetch.HTTP_ERROR, 429)
    for _ in range(5):
        watch.record(*limited)
    assert not watch.due()  # five refused in a moment: a burst, not yet "for a long while"
    clock.now = 600
    assert watch.due() and watch.why() == ("in the last 10 minutes the server sent no photo and refused 5 with "
                                           "'too many requests' (HTTP 429)")
    watch = GiveUp(3, 600, clock)
    watch.record(*limited)
    clock.now = 5000
    assert not watch.due()  # an hour and more, but one photo refused: a slow pool, not yet a refusing server


def test_a_photo_fetched_starts_the_count_afresh_and_a_dead_url_neither_counts_nor_resets_it():
    from glr.data.rate_limit import GiveUp

    clock = Clock()
    watch = GiveUp(2, 60, clock)
    watch.record(fetch.HTTP_ERROR, 503)
    clock.now = 100
    watch.record("", 200)  # a photo came: the server is not refusing everything
    watch.record(fetch.HTTP_ERROR, 429)
    clock.now = 150
    assert not watch.due()  # one refused since, 50 s without a photo
    for other in [(fetch.NOT_FOUND, 404), (fetch.HTTP_ERROR, 403), (fetch.TIMED_OUT, None), (fetch.HTTP_ERROR, 500),
                  (fetch.NOT_AN_IMAGE, 200)]:
        watch.record(*other)
    clock.now = 161
    assert not watch.due()  # 61 s, but dead URLs, a 403, a time-out are no "slow down"
    watch.record(fetch.HTTP_ERROR, 503)
    assert watch.due()  # ... nor did they start it afresh: no photo for 61 s, two refused
    assert watch.why() == ("in the last 61 s the server sent no photo and refused 2 with 'too many requests' (HTTP 429) "
                           "or 'unavailable' (HTTP 503)")
