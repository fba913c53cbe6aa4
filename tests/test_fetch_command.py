"""`python -m glr fetch` from the terminal: --deadline, and Ctrl-C against a stalled server."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time

import pandas as pd
import pytest

from conftest import image_id
from glr.cli import main
from glr.data import fetch
from glr.fetch_command import say_above_the_bars
from fetch_servers import leftovers, release, server  # noqa: F401 (server: a fixture)

QUICK = ["--top-n", "1", "--rate", "0", "--retries", "0"]


def test_deadline_is_a_flag_and_reaches_the_downloads(tmp_path, server, capsys):
    # The 300 s deadline on one photo's answer could not be changed from the command line.
    root = release(tmp_path / "gld", server, {1: ["drip", "ok"]})
    assert main(["fetch", str(root), *QUICK, "--timeout", "0.5", "--deadline", "0.8"]) == 0
    assert "1 fetched, 1 failed" in capsys.readouterr().out
    failure = pd.read_csv(root / fetch.FAILURES_CSV).iloc[0]
    assert failure["reason"] == fetch.TIMED_OUT and failure["detail"].startswith("still sending after 0.8 s")


def test_deadline_is_in_the_help_and_shorter_than_the_timeout_is_refused(tmp_path, server, capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    assert "--deadline SECONDS" in capsys.readouterr().out
    root = release(tmp_path / "gld", server, {1: ["ok"]})
    assert main(["fetch", str(root), "--timeout", "30", "--deadline", "5"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: --deadline 5 is shorter than --timeout 30; give a --deadline of at least 30 s, " \
                          "or a shorter --timeout"


@pytest.mark.parametrize("signum, code, said, to_main", [(signal.SIGINT, 130, "interrupted", True),
                                                        (signal.SIGTERM, 143, "stopped by SIGTERM", True),
                                                        (signal.SIGTERM, 143, "stopped by SIGTERM", False)],
                         ids=["ctrl-c", "sigterm", "sigterm-taken-by-another-thread"])
def test_a_stop_against_a_stalled_server_ends_at_once_saying_what_was_kept_and_how_to_go_on(tmp_path, server, capsys,
                                                                                           signum, code, said, to_main):
    # The worker waiting on the stalled server held Ctrl-C up for the whole time-out (30 s here; every retry
    # again), and the terminal said only "interrupted"; `kill` or a container's stop ended the fetch on the spot.
    # A `kill` is the process's: the kernel may hand it to any thread. Taken by one other than the main thread, it
    # only set Python's flag, and the main thread, blocked until a photo finished, sat on it for all the stalled
    # photo's retries (127 s here, once in CI).
    root = release(tmp_path / "gld", server, {1: ["stall", "ok", "ok"]})
    stalled, kept = f"/{image_id(1, 0)}.jpg", [fetch.image_path(root, image_id(1, i)) for i in (1, 2)]
    got = []
    # Ctrl-C raises KeyboardInterrupt, as in a shell; SIGTERM's stand-in for the default (which would end pytest
    # itself) records it, should fetch not take it.
    stand_in = signal.default_int_handler if signum == signal.SIGINT else lambda signum, frame: got.append(signum)
    previous = signal.signal(signum, stand_in)
    main_thread = threading.main_thread().ident

    def send():
        while not (server.hits.get(stalled) and all(p.exists() for p in kept)):
            time.sleep(0.01)
        signal.pthread_kill(main_thread if to_main else threading.get_ident(), signum)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        start = time.monotonic()
        exit_code = main(["fetch", str(root), "--top-n", "1", "--rate", "0", "--workers", "3", "--timeout", "30"])
        elapsed = time.monotonic() - start
    finally:
        sender.join(timeout=60)
        now = signal.signal(signum, previous)
    assert now is stand_in and not got  # fetch took the signal, then put the old handler back
    assert exit_code == code and elapsed < 15  # 128 + the signal, as a shell says; the old code took the time-out
    assert not server.released.is_set()  # the server was still stalling
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"{said}: kept the 2 photos fetched before the stop; 2 of the 3 wanted are on disk, each one "
                   "whole. Run the same command again to fetch the other 1 (what is there is skipped)")
    assert sorted((root / "train").rglob("*.jpg")) == sorted(kept) and leftovers(root) == []


def test_download_flags_given_with_from_shards_are_said_to_be_ignored(tmp_path, capsys):
    # --workers 2 --from-shards looked like parallel extraction; the flags were dropped without a word.
    from fetch_servers import jpeg, shard, shard_release

    ids = shard_release(tmp_path / "gld", {1: 2})
    shard(tmp_path / "shards", 0, {i: jpeg(n) for n, i in enumerate(ids)})
    assert main(["fetch", str(tmp_path / "gld"), "--top-n", "1", "--from-shards", str(tmp_path / "shards"),
                 "--workers", "2", "--deadline", "60"]) == 0
    out = capsys.readouterr()
    assert "2 fetched, 0 failed" in out.out
    assert out.err.strip().splitlines()[0] == ("note: --workers, --deadline set how photos are downloaded from URLs; "
                                               "--from-shards reads the shards one after another and ignores them")


def test_the_download_defaults_have_one_owner_glr_data_download_settings(tmp_path, server, capsys, monkeypatch):
    # The command restated them (and its --from-shards note compared against its own copy): a default changed in
    # downloads was not the one used, and `--workers 8 --from-shards` (8 being the default) was ignored unsaid.
    # Their owner is download_settings (downloads reads them from it), so that --help need not import downloads.
    from glr.data import download_settings, downloads

    monkeypatch.setattr(download_settings, "RETRIES", 7)
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    assert "(default 7)" in " ".join(capsys.readouterr().out.split())  # the help reads it from there
    asked = []
    monkeypatch.setattr(downloads, "download_all", lambda root, targets, report, progress, **options: asked.append(options))
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    ids = sorted([image_id(1, 0), image_id(1, 1)])
    assert main(["fetch", str(root), "--top-n", "1"]) == 0
    assert [sorted(o.pop("ids")) for o in asked] == [ids]
    assert [o.pop("notice") for o in asked] == [say_above_the_bars]  # where a rate-limited fetch says so
    assert asked == [{}]  # no flag given: download_all's own defaults, nothing restated
    assert main(["fetch", str(root), "--top-n", "1", "--workers", "8", "--retries", "3", "--timeout", "5"]) == 0
    assert sorted(asked[-1].pop("ids")) == ids and asked[-1].pop("notice") is say_above_the_bars
    assert asked[-1] == {"workers": 8, "retries": 3, "timeout": 5.0}


def test_a_download_flag_given_at_its_default_with_from_shards_is_said_to_be_ignored_too(tmp_path, capsys):
    from fetch_servers import jpeg, shard, shard_release

    ids = shard_release(tmp_path / "gld", {1: 2})
    shard(tmp_path / "shards", 0, {i: jpeg(n) for n, i in enumerate(ids)})
    assert main(["fetch", str(tmp_path / "gld"), "--top-n", "1", "--from-shards", str(tmp_path / "shards"),
                 "--workers", "8", "--rate", "10"]) == 0
    assert capsys.readouterr().err.strip().splitlines()[0].startswith("note: --workers, --rate set how photos are")


def test_a_disk_full_mid_fetch_says_what_was_kept_and_how_to_go_on(tmp_path, server, capsys, monkeypatch):
    # The error named the photo and "the previous version of the file is kept", but not that the photos fetched
    # before are whole and kept, nor that running the command again goes on from there.
    import errno
    from pathlib import Path

    from glr import atomic

    writes, write_bytes = [], fetch.write_bytes

    def fills_up(path, data):
        writes.append(path)
        if len(writes) > 2:  # as os.write raises it, through atomic's own wording
            raise atomic._storage_error(Path(path), OSError(errno.ENOSPC, "No space left on device"))
        return write_bytes(path, data)

    monkeypatch.setattr(fetch, "write_bytes", fills_up)
    root = release(tmp_path / "gld", server, {1: ["ok"] * 6})
    assert main(["fetch", str(root), *QUICK, "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "cannot be written, the disk is full (No space left on device)" in err
    assert err.endswith("; the fetch stopped and kept the 2 photos fetched before; 2 of the 6 wanted are on disk, each "
                        "one whole. Run the same command again to fetch the other 4 (what is there is skipped)")
    assert len(list((root / "train").rglob("*.jpg"))) == 2 and leftovers(root) == []


def test_the_check_of_the_photos_on_disk_has_a_progress_bar(tmp_path, server, capsys, monkeypatch):
    # Thousands of photos on disk took minutes to check, and the terminal said nothing until the downloads began.
    root = release(tmp_path / "gld", server, {1: ["ok"] * 3})
    assert main(["fetch", str(root), *QUICK]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["fetch", str(root), *QUICK]) == 0
    out = capsys.readouterr()
    assert "\rchecking the photos on disk:   0%|          | 0/3 [" in out.err and "3 already there" in out.out


def test_off_a_terminal_fetch_says_its_progress_in_lines_not_bar_redraws(tmp_path, server, capsys):
    # `glr fetch ... > fetch.log 2>&1` filled the log with a bar's "\r" redraws, ten a second for hours.
    root = release(tmp_path / "gld", server, {1: ["ok"] * 3})
    assert main(["fetch", str(root), *QUICK]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "fetching photos: 3 photos\nfetching photos: 3 of 3 (100%)\n" in err


def test_a_disk_full_when_the_failures_are_listed_still_prints_the_summary(tmp_path, server, capsys, monkeypatch):
    # The StorageError of fetch_failures.csv was printed instead of the summary, and an earlier run's list stayed.
    import errno

    from glr import atomic

    root = release(tmp_path / "gld", server, {1: ["404", "404", "ok"]})
    assert main(["fetch", str(root), *QUICK]) == 0
    server.routes[f"/{image_id(1, 1)}.jpg"] = ("ok", b"")  # an empty answer now

    def disk_full(path, table):
        raise atomic._storage_error(path, OSError(errno.ENOSPC, "No space left on device"))

    before = (root / fetch.FAILURES_CSV).read_bytes()
    monkeypatch.setattr(fetch, "write_csv", disk_full)
    capsys.readouterr()
    assert main(["fetch", str(root), *QUICK]) == 0  # every photo asked for failed, but no asking again would get one
    out = capsys.readouterr().out.splitlines()
    assert out == ["wanted 3 photos: 1 already there, 0 fetched, 2 failed", "  not an image: 1",
                   "  not found (404): 1", f"the failures are not listed: {root / fetch.FAILURES_CSV} cannot be written "
                   "(No space left on device); the list there is an earlier run's, left as it was"]
    # It was removed: a list is never lost, and the note says whose it is.
    assert (root / fetch.FAILURES_CSV).read_bytes() == before


def test_a_disk_full_mid_fetch_keeps_an_earlier_runs_failures_listed_and_marked_as_such(tmp_path, server, capsys,
                                                                                       monkeypatch):
    # fetch_failures.csv still listed the earlier run's 404 as if it were this run's; then it was removed, and with it
    # the only record of a photo that is still not on disk.
    import errno

    from glr import atomic

    root = release(tmp_path / "gld", server, {1: ["404", "ok"]})
    assert main(["fetch", str(root), *QUICK]) == 0
    server.routes[f"/{image_id(1, 0)}.jpg"] = ("ok", server.routes[f"/{image_id(1, 1)}.jpg"][1])

    def disk_full(path, data):
        raise atomic._storage_error(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(fetch, "write_bytes", disk_full)
    capsys.readouterr()
    assert main(["fetch", str(root), *QUICK]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"(0 failed, and 1 of an earlier run not got yet, listed in {root / fetch.FAILURES_CSV})")
    listed = pd.read_csv(root / fetch.FAILURES_CSV)
    assert list(listed["id"]) == [image_id(1, 0)] and list(listed["detail"]) == ["in an earlier run: HTTP 404"]


def test_the_command_line_prints_a_summary(tmp_path, server, capsys):
    from glr.cli import main

    root = release(tmp_path / "gld", server, {1: ["ok", "404"], 2: ["ok", "ok"]})
    code = main(["fetch", str(root), "--top-n", "2", "--workers", "2", "--rate", "0", "--retries", "0"])
    out = capsys.readouterr()
    assert code == 0 and "3 fetched" in out.out and "not found (404): 1" in out.out
    assert str(root / fetch.FAILURES_CSV) in out.out


def closed_port_url() -> str:
    """An http address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("unreachable", [False, True], ids=["every-url-404", "host-unreachable"])
def test_a_fetch_where_every_photo_fails_exits_non_zero_with_one_line_naming_the_cause(tmp_path, server, capsys,
                                                                                       unreachable):
    # It printed the counts and exited 0, so `glr fetch ... && glr train ...` went on to train on nothing.
    root = release(tmp_path / "gld", server, {1: ["404", "404"]})
    if unreachable:
        table = pd.read_csv(root / "train.csv")
        table["url"] = [f"{closed_port_url()}/{i}.jpg" for i in table["id"]]
        table.to_csv(root / "train.csv", index=False)
    assert main(["fetch", str(root), *QUICK]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1:]  # after the progress bars
    csv = root / fetch.FAILURES_CSV
    cause = ("'connection failed' (is this computer online? Behind a proxy, set HTTPS_PROXY and HTTP_PROXY)"
             if unreachable else "'not found (404)'")
    assert err == [f"error: none of the 2 photos asked for could be got: {cause}; listed in {csv}; "
                   "0 of the 2 wanted are on disk"]
    assert len(pd.read_csv(csv)) == 2  # the list is still written


def test_a_partial_failure_or_a_rerun_that_finds_only_dead_urls_left_exits_0(tmp_path, server, capsys):
    # GLDv2 always has dead URLs: a fetch that got the rest, or one run again over a complete dataset, succeeded.
    root = release(tmp_path / "gld", server, {1: ["ok", "404"]})
    assert main(["fetch", str(root), *QUICK]) == 0
    assert main(["fetch", str(root), *QUICK]) == 0  # only the 404 left to ask for, and it is gone for good
    out = capsys.readouterr()
    assert "1 already there, 0 fetched, 1 failed" in out.out and "error" not in out.err
    server.routes[f"/{image_id(1, 1)}.jpg"] = ("500", b"")  # but a server error is no dead url: it may pass
    assert main(["fetch", str(root), *QUICK]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "error: none of the 1 photos asked for could be got: 'http error'")


def test_a_server_that_says_to_slow_down_is_said_to_as_the_fetch_goes(tmp_path, server, capsys):
    # A fetch paused by 429s looked stalled: nothing said why until the end, if at all.
    root = release(tmp_path / "gld", server, {1: ["429-once", "ok"]})
    assert main(["fetch", str(root), "--top-n", "1", "--rate", "0", "--retries", "1"]) == 0
    out = capsys.readouterr()
    assert ("note: the server says to slow down (HTTP 429): every download pauses 2 s (and as often as it asks again; "
            "a lower --rate asks less often)") in out.err.splitlines()
    assert "rate limited: the server answered 429 or 503 1 time" in out.out


def test_a_photo_folder_that_links_to_a_drive_not_mounted_is_named_not_a_traceback(tmp_path, server, capsys):
    # train/ -> /mnt/usb/train with the drive not mounted: "FileExistsError: [Errno 17] File exists" and a traceback.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    (root / "train").symlink_to(tmp_path / "usb" / "train")
    assert main(["fetch", str(root), *QUICK]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "Traceback" not in err
    assert f"cannot be written, {root / 'train'} is a link to {tmp_path / 'usb' / 'train'}, which is not there " \
           "(moved, deleted, or on a drive not mounted?); fix that folder, then run the same command again" in err


def test_a_server_that_says_only_to_slow_down_ends_the_fetch_and_the_same_command_later_gets_the_rest(
        tmp_path, server, capsys, monkeypatch):
    # A server answering only 429 kept the fetch going for days (10,000 photos, 60 s pauses): it now stops asking, the
    # photos not got are listed as worth asking again, the exit code says it (1 while none comes), and a later run
    # asks for them again.
    from glr.data import rate_limit

    monkeypatch.setattr(rate_limit, "GIVE_UP_PHOTOS", 3)  # from 10 photos and 10 minutes: a test's few and no wait
    monkeypatch.setattr(rate_limit, "GIVE_UP_SECONDS", 0)
    root = release(tmp_path / "gld", server, {1: ["ok"] + ["429-always"] * 29})
    csv, command = root / fetch.FAILURES_CSV, ["fetch", str(root), *QUICK, "--workers", "1"]
    assert main(command) == 0  # one came, then only "slow down": a partial fetch, as with dead URLs
    out = capsys.readouterr().out
    table = pd.read_csv(csv)
    assert "1 fetched, 29 failed" in out and set(table["reason"]) == {fetch.HTTP_ERROR, fetch.GAVE_UP}
    assert (table["reason"] == fetch.GAVE_UP).sum() >= 29 - 3 - 2  # refused, under way, the rest never asked
    assert "the fetch stopped asking, " in out and "run the same command later, or with a lower --rate" in out
    assert sum(server.hits.values()) <= 1 + 3 + 2

    assert main(command) == 1  # the same command asks them all again; none comes: an error, not "as whole as it gets"
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: none of the 29 photos asked for could be got: mostly 'given up (rate limited)' (")
    assert "(the server said only to slow down (HTTP 429 or 503) for a long while: run the same command later, or " \
           f"with a lower --rate); listed in {csv}; 1 of the 30 wanted are on disk" in err

    for i in range(1, 30):  # the server takes requests again
        server.routes[f"/{image_id(1, i)}.jpg"] = ("ok", server.routes[f"/{image_id(1, i)}.jpg"][1])
    assert main(command) == 0
    assert "1 already there, 29 fetched, 0 failed" in capsys.readouterr().out and not csv.exists()
