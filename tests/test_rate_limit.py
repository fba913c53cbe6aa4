"""glr.data.rate_limit: when `glr fetch` stops asking a server that refuses (429/503) or a host that only fails
(time-outs, refused connections, 5xx), told by the HTTP status and the failure itself, never by the words of a message;
against servers on 127.0.0.1."""

from __future__ import annotations

import re
import socket

import pandas as pd
import pytest

from conftest import image_id
from glr.data import downloads, fetch
from glr.data.rate_limit import FailingHosts, GiveUp, host_of
from fetch_servers import FAST, Server, jpeg, release, server  # noqa: F401


class Clock:
    """A clock a test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_refusal_is_told_by_its_status_whatever_its_detail_says(tmp_path, server, monkeypatch):
    # The give-up read "HTTP 429" out of the detail text: a reworded detail kept a refusing server asked for ever.
    root = release(tmp_path / "gld", server, {1: ["429-always"] * 12})
    real = downloads.download
    monkeypatch.setattr(downloads, "download",
                        lambda *a, **k: real(*a, **k)._replace(detail="the server would rather not, just now"))
    report = fetch.fetch(root, top_n=1, give_up_photos=3, give_up_after=0, **{**FAST, "workers": 1, "retries": 0})
    reasons = report.failure_table()["reason"].value_counts()
    assert reasons[fetch.HTTP_ERROR] == 3 and reasons[fetch.GAVE_UP] == 9 and len(server.hits) == 3


def test_a_refusal_counts_by_its_status_and_nothing_else_does():
    clock = Clock()
    watch = GiveUp(2, 0, clock)
    watch.record(fetch.HTTP_ERROR, 500)
    watch.record(fetch.TIMED_OUT, None)
    watch.record(fetch.NOT_FOUND, 429)  # a status with a reason that is no refusal: not counted
    assert not watch.due()
    watch.record(fetch.HTTP_ERROR, 429)
    watch.record(fetch.HTTP_ERROR, 503)
    assert watch.due()


def test_a_host_that_only_fails_is_given_up_after_both_enough_photos_and_long_enough_and_alone():
    clock = Clock()
    hosts = FailingHosts(3, 600, clock)
    for kind in [(fetch.TIMED_OUT, None), (fetch.CONNECTION, None), (fetch.HTTP_ERROR, 502), (fetch.TRUNCATED, 200)]:
        assert not hosts.record("dead.example.org", *kind)  # four in a moment: a burst, not yet "for a long while"
    clock.now = 601
    assert not hosts.record("upload.wikimedia.org", fetch.TIMED_OUT, None)  # another host: its own count
    assert hosts.record("dead.example.org", fetch.TIMED_OUT, None)
    assert hosts.why("dead.example.org") == (
        "in the last 10 minutes dead.example.org sent no photo and failed 5 in a row: timed out (2), HTTP 502 (1), "
        "body cut short (1), connection failed (1)")
    assert hosts.why("upload.wikimedia.org") is None
    assert not hosts.record("dead.example.org", fetch.TIMED_OUT, None)  # said once


def test_a_photo_fetched_starts_a_host_afresh_and_answers_of_a_working_host_neither_count_nor_reset():
    clock = Clock()
    hosts = FailingHosts(2, 60, clock)
    host = "upload.wikimedia.org"
    hosts.record(host, fetch.HTTP_ERROR, 500)
    clock.now = 100
    hosts.record(host, "", 200)  # a photo came: the host works; its bad photo was one among good ones
    assert not hosts.record(host, fetch.HTTP_ERROR, 500)
    clock.now = 161
    for answer in [(fetch.NOT_FOUND, 404), (fetch.HTTP_ERROR, 403), (fetch.HTTP_ERROR, 429), (fetch.HTTP_ERROR, 503),
                   (fetch.NOT_AN_IMAGE, 200), (fetch.TOO_LARGE, 200)]:
        assert not hosts.record(host, *answer)  # not "failing": a 503 or 429 says slow down (GiveUp's)
    assert hosts.record(host, fetch.CONNECTION, None)  # ... nor started afresh: 61 s, and two failures since
    assert not hosts.record("", fetch.CONNECTION, None)  # no host (no url): never given up


@pytest.mark.parametrize("url, host", [("https://Upload.Wikimedia.org/a.jpg", "upload.wikimedia.org"),
                                       (" http://user:pw@127.0.0.1:8080/x ", "127.0.0.1:8080"), ("", ""),
                                       (float("nan"), ""), ("http://[::1/x", "")])
def test_the_host_of_a_url(url, host):
    assert host_of(url) == host


def closed_port() -> str:
    """A loopback url whose port refuses connections (nothing listens there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def two_hosts(root, dead: str, good: Server, n: int):
    """train.csv of 2n photos of one landmark, alternating between the host `dead` (a url) and `good`'s."""
    rows = []
    for i in range(2 * n):
        iid = image_id(1, i)
        good.routes[f"/{iid}.jpg"] = ("ok", jpeg(i))
        rows.append((iid, f"{dead if i % 2 else good.url}/{iid}.jpg", 1))
    root.mkdir(parents=True)
    pd.DataFrame(rows, columns=["id", "url", "landmark_id"]).to_csv(root / "train.csv", index=False)
    return root, {iid for iid, url, _ in rows if url.startswith(dead)}


@pytest.mark.parametrize("how", ["HTTP 500", "connection failed", "timed out"])
def test_a_host_that_only_fails_is_asked_no_more_and_the_other_hosts_photos_still_come(tmp_path, server, how):
    # A dead host's photos were each asked with re-tries and back-off: days for a fetch of 10,000 photos.
    with Server() as broken:
        kind = {"HTTP 500": "500", "timed out": "stall"}.get(how)
        dead = broken.url if kind else closed_port()
        root, on_dead = two_hosts(tmp_path / "gld", dead, server, 20)
        for iid in on_dead:
            broken.routes[f"/{iid}.jpg"] = (kind, b"")
        report = fetch.fetch(root, top_n=1, give_up_photos=3, give_up_after=0,
                             **{**FAST, "workers": 2, "retries": 0, "timeout": 0.3})
        asked = sum(broken.hits.values())
    host = dead.removeprefix("http://")
    assert report.fetched == 20 and {i for i, _, _ in report.failures} == on_dead  # the good host's all came
    table = report.failure_table()
    failed, given_up = table[table["reason"] != fetch.HOST_FAILING], table[table["reason"] == fetch.HOST_FAILING]
    assert 3 <= len(failed) <= 3 + 2 * 2 and len(given_up) == 20 - len(failed)  # at most the pool's after the third
    assert set(failed["reason"]) == {fetch.HTTP_ERROR if kind == "500" else how}
    if kind:
        assert asked == len(failed)
    said = rf"in the last \d+ s {re.escape(host)} sent no photo and failed [3-7] in a row: {re.escape(how)} \([3-7]\)"
    again = "; run the same command later to ask for them again"
    assert all(re.fullmatch(f"not asked: {said}{again}", d) for d in given_up["detail"]), list(given_up["detail"])
    note = rf"the fetch stopped asking {re.escape(host)}, {len(given_up)} photos short \(listed as " \
           rf"'{re.escape(fetch.HOST_FAILING)}'\): {said}{again}"
    assert [n for n in report.notes if re.fullmatch(note, n)], report.notes
    assert all(fetch.could_pass(r, d) for _, r, d in report.failures)  # the same command asks for them again
    assert report.got_nothing() is None


def test_a_bad_photo_now_and_then_among_good_ones_never_gives_a_host_up(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["ok", "500", "500", "ok", "500", "ok", "500", "500", "ok"]})
    report = fetch.fetch(root, top_n=1, give_up_photos=3, give_up_after=0, **{**FAST, "workers": 1, "retries": 0})
    assert report.fetched == 4 and set(report.failure_table()["reason"]) == {fetch.HTTP_ERROR}


def test_a_host_failing_for_less_than_the_time_is_still_asked(tmp_path, server):
    root = release(tmp_path / "gld", server, {1: ["500"] * 8})
    report = fetch.fetch(root, top_n=1, give_up_photos=2, give_up_after=3600, **{**FAST, "workers": 2, "retries": 0})
    assert len(report.failures) == 8 and set(report.failure_table()["reason"]) == {fetch.HTTP_ERROR}
    assert len(server.hits) == 8


def test_a_fetch_whose_only_host_fails_gets_nothing_and_says_why(tmp_path):
    root = tmp_path / "gld"
    root.mkdir()
    dead = closed_port()
    pd.DataFrame([(image_id(1, i), f"{dead}/{i}.jpg", 1) for i in range(10)],
                 columns=["id", "url", "landmark_id"]).to_csv(root / "train.csv", index=False)
    report = fetch.fetch(root, top_n=1, give_up_photos=2, give_up_after=0, **{**FAST, "workers": 1, "retries": 0})
    by_reason = report.by_reason()  # the second failed; the third had started (one worker): no more were asked
    assert by_reason[fetch.CONNECTION] in (2, 3) and by_reason[fetch.HOST_FAILING] == 10 - by_reason[fetch.CONNECTION]
    assert re.match(r"none of the 10 photos asked for could be got: mostly 'given up \(host failing\)' \([78]\) \(the "
                    r"server only timed out, dropped the connection or failed \(HTTP 5xx\) for a long while",
                    report.got_nothing())
