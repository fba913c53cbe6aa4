"""glr fetch from URLs, against a real HTTP server on 127.0.0.1 serving generated JPEGs and faults."""

from __future__ import annotations

import io
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import trustme
from PIL import Image

from conftest import image_id
from glr.data import downloads, fetch
from glr.errors import DatasetError

FAST = dict(workers=4, rate=0, timeout=0.5, retries=2, backoff=0.01)


def jpeg(seed: int, size: int = 24) -> bytes:
    """A small JPEG's bytes."""
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=80)
    return out.getvalue()


class Server:
    """A loopback HTTP server: path -> behaviour ("ok", "404", "500-once", "500", "slow", "truncated", "html")."""

    def __init__(self, tls=None, host: str = "127.0.0.1", **cert):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.hits: dict[str, int] = {}
        self.agents: set[str] = set()
        self.released = threading.Event()  # ends every stall (set when the server closes)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
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


def test_fetch_downloads_only_the_curated_top_n_and_reports_every_fault(tmp_path, server):
    root = release(tmp_path / "gld", server, {
        1: ["ok", "ok", "500-once", "ok", "404", "truncated"],
        2: ["ok", "html", "slow", "ok"],
        3: ["ok", "ok"],  # the third class: not in the top 2, never asked for
    })
    report = fetch.fetch(root, top_n=2, **FAST)
    assert report.wanted == 10 and report.already == 0
    assert report.fetched == 6  # 5 ok, and the one that answered 500 before it answered
    reasons = report.failure_table().set_index("id")["reason"].to_dict()
    assert reasons == {image_id(1, 4): fetch.NOT_FOUND, image_id(1, 5): fetch.TRUNCATED,
                       image_id(2, 1): fetch.NOT_AN_IMAGE, image_id(2, 2): fetch.TIMED_OUT}
    assert server.hits[f"/{image_id(1, 2)}.jpg"] == 2  # re-tried after its 500
    assert server.hits[f"/{image_id(1, 5)}.jpg"] == 3  # a body cut short is re-tried too
    assert not any(p.startswith(f"/{image_id(3, 0)}") for p in server.hits)
    assert server.agents == {downloads.USER_AGENT}
    for i in (0, 1, 2, 3):
        assert fetch.is_valid_file(fetch.image_path(root, image_id(1, i)))
    assert not fetch.image_path(root, image_id(1, 5)).exists()  # the truncated one is not kept
    assert not fetch.image_path(root, image_id(2, 1)).exists()  # nor the HTML page
    assert leftovers(root) == []
    failures = pd.read_csv(root / fetch.FAILURES_CSV)
    assert set(failures["reason"]) == set(reasons.values()) and "timed out" in report.summary()

    # A second run skips what is there and valid, and asks again only for the failed ones.
    for path in list(server.routes):
        server.routes[path] = ("ok", server.routes[path][1])
    before = dict(server.hits)
    again = fetch.fetch(root, top_n=2, **FAST)
    assert again.already == 6 and again.fetched == 4 and not again.failures
    asked = {p for p in server.hits if server.hits[p] != before.get(p)}
    assert asked == {f"/{image_id(1, 4)}.jpg", f"/{image_id(1, 5)}.jpg", f"/{image_id(2, 1)}.jpg",
                     f"/{image_id(2, 2)}.jpg"}
    assert not (root / fetch.FAILURES_CSV).exists()  # nothing failed this time
    # Training's curation, which checks the files, keeps exactly the classes fetched.
    from glr.data import datasets

    split = datasets.curate(datasets.load_catalog(root), top_n=2)
    assert sorted(split.labels["landmark_id"]) == [1, 2] and len(split.train) + len(split.val) == 10


def test_a_damaged_file_on_disk_is_fetched_again(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    damaged = fetch.image_path(root, image_id(1, 0))
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(jpeg(1)[:50])
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.already == 0 and report.fetched == 2 and fetch.is_valid_file(damaged)


def test_too_large_is_refused_without_reading_it_all(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    report = fetch.fetch(root, top_n=1, max_bytes=100, **FAST)
    assert set(report.failure_table()["reason"]) == {fetch.TOO_LARGE}


def test_an_interrupted_fetch_leaves_nothing_half_written_and_resumes(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok"] * 12})

    def stop_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch.fetch(root, top_n=1, progress=stop_after_three, **{**FAST, "workers": 2})
    on_disk = list((root / "train").rglob("*.jpg"))
    assert 3 <= len(on_disk) < 12 and all(fetch.is_valid_file(p) for p in on_disk)
    assert leftovers(root) == []
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.already == len(on_disk) and report.fetched == 12 - len(on_disk) and not report.failures


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


def test_a_train_csv_without_urls_is_a_clear_error(gldv2):
    for path in (gldv2 / "train").rglob("*.jpg"):
        path.unlink()
    with pytest.raises(DatasetError, match="no url column"):
        fetch.fetch(gldv2, top_n=2, **FAST)


def test_the_command_line_prints_a_summary(tmp_path, server, capsys):
    from glr.cli import main

    root = release(tmp_path / "gld", server, {1: ["ok", "404"], 2: ["ok", "ok"]})
    code = main(["fetch", str(root), "--top-n", "2", "--workers", "2", "--rate", "0", "--retries", "0"])
    out = capsys.readouterr()
    assert code == 0 and "3 fetched" in out.out and "not found (404): 1" in out.out
    assert str(root / fetch.FAILURES_CSV) in out.out


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


def test_ctrl_c_against_a_stalled_server_stops_at_once_and_leaves_no_half_written_photo(tmp_path, server):
    # The downloads under way waited for the stalled server up to the time-out (30 s here, 30 s a retry by
    # default, and up to the 300 s deadline for a dripping body) before Ctrl-C took effect.
    # ... or slept out a Retry-After of up to a minute.
    root = release(tmp_path / "gld", server, {1: ["stall", "stall-body", "stall-body-unsized", "429-wait", "ok"]})
    stalled = [f"/{image_id(1, i)}.jpg" for i in range(4)]
    photo = jpeg(7)  # the unsized body's first half decodes: only the stop tells it from a whole answer
    server.routes[stalled[2]] = ("stall-body-unsized", photo + b"\0" * (len(photo) + 100))

    seconds = fetch_until_ctrl_c(root, server, stalled, workers=5, retries=1)
    assert seconds < 15  # generous: the old code took the 30 s time-out
    assert not server.released.is_set()  # the server was still stalling
    assert server.hits[stalled[3]] == 1  # the Retry-After wait was cut short: never asked again
    assert [p.stem for p in (root / "train").rglob("*.jpg")] == [image_id(1, 4)] and leftovers(root) == []


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


@pytest.mark.parametrize("sep, header", [(", ", "ID, URL, Landmark_ID"), (";", "id;url;landmark_id"),
                                         ("\t", "id\turl\tlandmark_id")])
def test_a_train_csv_the_catalog_reads_gives_its_urls_too(tmp_path, server, sep, header):
    # Spaces after the commas, a spreadsheet's semicolons or tabs: training read the file, but fetch said
    # "has no url column" of a file that has one.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    table = pd.read_csv(root / "train.csv")
    (root / "train.csv").write_text(header + "\n" + "".join(f"{sep.join(map(str, row))}\n" for row in table.itertuples(index=False)))
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.fetched == 2 and not report.failures


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


def test_an_id_listed_twice_with_different_urls_is_fetched_from_its_first_usable_url_and_said(tmp_path, server):
    # The second url was dropped without a word (and an empty first url failed the photo though a second was there).
    root = release(tmp_path / "gld", server, {1: ["ok"] * 4})
    table = pd.read_csv(root / "train.csv")
    first, second = table.loc[0, "id"], table.loc[1, "id"]
    table = pd.concat([table, pd.DataFrame([
        (first, f"{server.url}/{table.loc[2, 'id']}.jpg", 1),  # a second url for the first photo: not asked for
        (second, f"{server.url}/{table.loc[3, 'id']}.jpg", 1),
    ], columns=table.columns)], ignore_index=True)
    table.loc[1, "url"] = ""  # the second photo's first url is empty: its next one is used
    table.to_csv(root / "train.csv", index=False)
    report = fetch.fetch(root, top_n=1, **{**FAST, "workers": 1})
    assert report.fetched == 4 and not report.failures
    assert fetch.image_path(root, first).read_bytes() == jpeg(100)  # its own photo, from its first url
    assert fetch.image_path(root, second).read_bytes() == jpeg(103)  # from its only usable url
    assert server.hits[f"/{first}.jpg"] == 1 and server.hits[f"/{table.loc[2, 'id']}.jpg"] == 1  # once: its own row
    # An empty url is no other photo: only the first one's two urls are worth a word.
    assert (f"train.csv lists 1 id more than once with different urls (e.g. {first!r}); "
            "only the first usable url of each was asked for") in report.summary()



def test_ctrl_c_while_the_photos_on_disk_are_checked_does_not_say_none_are_there(tmp_path, server, monkeypatch):
    # It said "0 of the 4 wanted are on disk" of a folder that held them: the check had not counted them yet.
    root = release(tmp_path / "gld", server, {1: ["ok"] * 4})
    fetch.fetch(root, top_n=1, **FAST)
    checked = []

    def ctrl_c_at_the_third(path):
        checked.append(path)
        if len(checked) == 3:
            raise KeyboardInterrupt
        return True

    monkeypatch.setattr(fetch, "is_valid_file", ctrl_c_at_the_third)
    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, **FAST)
    assert stopped.value.report.interrupted_summary() == (
        "interrupted while checking the photos already on disk (2 of the 4 wanted checked so far, 2 of them whole); "
        "nothing was downloaded. Run the same command again to go on")


def test_a_stopped_fetch_lists_the_failures_before_the_stop_not_an_earlier_runs(tmp_path, server):
    # fetch_failures.csv was left as the last whole run wrote it: photos fetched since were listed as failed, and the
    # failure of this run was not.
    root = release(tmp_path / "gld", server, {1: ["404", "404", "ok", "404", "ok"]})
    fetch.fetch(root, top_n=1, **FAST)
    assert len(pd.read_csv(root / fetch.FAILURES_CSV)) == 3
    ids = [image_id(1, i) for i in range(5)]
    server.routes[f"/{ids[0]}.jpg"] = ("ok", jpeg(100))
    server.routes[f"/{ids[1]}.jpg"] = ("500", b"")
    server.routes[f"/{ids[3]}.jpg"] = ("ok", jpeg(103))

    def ctrl_c_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c_after_two, **{**FAST, "workers": 1})
    listed = pd.read_csv(root / fetch.FAILURES_CSV)
    assert list(listed["id"]) == [ids[1]] and list(listed["detail"]) == ["HTTP 500"]
    assert stopped.value.report.interrupted_summary().splitlines()[1] == (
        f"1 failed before the stop, listed in {root / fetch.FAILURES_CSV} (only the photos asked for before the stop)")


def test_a_fetch_stopped_before_any_failure_removes_an_earlier_runs_list_and_says_so(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["404", "ok", "ok"]})
    fetch.fetch(root, top_n=1, **FAST)
    server.routes[f"/{image_id(1, 0)}.jpg"] = ("ok", jpeg(100))

    def ctrl_c(done, total):
        raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c, **FAST)
    assert not (root / fetch.FAILURES_CSV).exists()
    assert stopped.value.report.interrupted_summary().splitlines()[1:] == [
        f"{root / fetch.FAILURES_CSV}, the list of an earlier run's failures, is removed: none failed before the stop"]


def test_a_summary_where_every_photo_failed_to_connect_asks_whether_the_computer_is_online():
    # 10,000 lines of "connection failed" and nothing said of the likely cause: no network, or a proxy not set.
    report = fetch.FetchReport(wanted=10_000)
    for i in range(10_000):
        report.fail(f"{i:016x}", fetch.CONNECTION, "Failed to resolve 'upload.wikimedia.org'")
    assert report.summary().splitlines() == [
        "wanted 10,000 photos: 0 already there, 0 fetched, 10,000 failed", "  connection failed: 10,000",
        "every photo asked for failed with 'connection failed': is this computer online? Behind a proxy, set "
        "HTTPS_PROXY and HTTP_PROXY"]
    report.fetched, report.wanted = 1, 10_001  # one came: the network is there
    assert len(report.summary().splitlines()) == 2
    report = fetch.FetchReport(wanted=2, failures=[("a", fetch.HTTP_ERROR, "HTTP 403")] * 2)
    assert report.summary().splitlines()[-1] == (
        "every photo asked for failed with 'http error': the server refuses them: if it says HTTP 429, fetch later or "
        "with a lower --rate; if HTTP 403, give a --user-agent that says who you are (Wikimedia asks for one with a "
        "contact)")
