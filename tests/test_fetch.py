"""glr.data.fetch: which photos a fetch asks for, what it keeps, and the failures list, against a real HTTP server on
127.0.0.1 (tests/fetch_servers.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import image_id
from fetch_servers import FAST, jpeg, leftovers, release, server  # noqa: F401 (server: a fixture)
from glr.data import downloads, fetch
from glr.errors import DatasetError


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


def test_a_train_csv_without_urls_is_a_clear_error(gldv2):
    for path in (gldv2 / "train").rglob("*.jpg"):
        path.unlink()
    with pytest.raises(DatasetError, match="no url column"):
        fetch.fetch(gldv2, top_n=2, **FAST)


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


def test_a_stopped_fetch_lists_its_failures_and_keeps_the_earlier_runs_for_photos_it_did_not_get(tmp_path, server):
    # fetch_failures.csv was left as the last whole run wrote it: photos fetched since were listed as failed, and the
    # failure of this run was not. Then the stopped run's list replaced it, and the earlier failures of the photos
    # not asked again before the stop were lost.
    root = release(tmp_path / "gld", server, {1: ["404", "404", "ok", "404", "ok"]})
    fetch.fetch(root, top_n=1, **FAST)
    assert len(pd.read_csv(root / fetch.FAILURES_CSV)) == 3
    ids = [image_id(1, i) for i in range(5)]
    server.routes[f"/{ids[0]}.jpg"] = ("ok", jpeg(100))
    server.routes[f"/{ids[1]}.jpg"] = ("500", b"")
    server.routes[f"/{ids[3]}.jpg"] = ("stall", b"")  # never got before the stop

    def ctrl_c_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c_after_two, **{**FAST, "workers": 1})
    listed = pd.read_csv(root / fetch.FAILURES_CSV)
    assert list(listed["id"]) == [ids[1], ids[3]]
    assert list(listed["detail"]) == ["HTTP 500", "in an earlier run: HTTP 404"]
    assert stopped.value.report.interrupted_summary().splitlines()[1:] == [
        f"1 failed before the stop, listed in {root / fetch.FAILURES_CSV} (only the photos asked for before the stop)",
        f"earlier failures kept in {root / fetch.FAILURES_CSV}: 1 (photos not on disk that this run did not fail; "
        "marked 'in an earlier run:')"]


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
        f"{root / fetch.FAILURES_CSV}, the list of an earlier run's failures, is removed: none failed before the stop, "
        "and the photos it listed are on disk now"]


def test_a_rerun_left_only_photos_no_asking_again_will_get_is_no_error():
    # 997 of 1,000 on disk and the last three refused (403), not a photo, gone (404): every rerun exited 1, so
    # `fetch && train` never trained. A server error or a dropped connection may pass: those still exit 1.
    report = fetch.FetchReport(wanted=1000, already=997, failures=[
        ("a", fetch.HTTP_ERROR, "HTTP 403"), ("b", fetch.NOT_AN_IMAGE, "an HTML page"), ("c", fetch.NOT_FOUND, "HTTP 404")])
    assert report.got_nothing() is None
    report.failures.append(("d", fetch.HTTP_ERROR, "HTTP 503 (rate limited: ...)"))
    assert report.got_nothing().startswith("none of the 4 photos asked for could be got: mostly 'http error' (2) (")
    report.failures[:] = [("a", fetch.HTTP_ERROR, "HTTP 403"), ("b", fetch.NOT_AN_IMAGE, "x"),
                          ("c", fetch.CONNECTION, "refused")]  # a tie: no "mostly", and no one reason's hint
    assert report.got_nothing().startswith("none of the 3 photos asked for could be got: 'connection failed' (1), "
                                           "'http error' (1), 'not an image' (1); 997 of the 1,000 wanted are on disk")


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


def test_a_full_disk_before_any_photo_is_asked_for_leaves_an_earlier_runs_failures_list_alone(tmp_path, server,
                                                                                              monkeypatch):
    # A StorageError before the downloads began still ran the stopped run's listing, which removed the earlier list.
    from glr.atomic import StorageError

    root = release(tmp_path / "gld", server, {1: ["404", "ok"]})
    fetch.fetch(root, top_n=1, **FAST)
    before = (root / fetch.FAILURES_CSV).read_bytes()

    def disk_full(path):
        raise StorageError(f"{path}: cannot be written, the disk is full")

    monkeypatch.setattr(fetch, "is_valid_file", disk_full)
    with pytest.raises(StorageError):
        fetch.fetch(root, top_n=1, **FAST)
    assert (root / fetch.FAILURES_CSV).read_bytes() == before


def test_rows_that_train_csv_holds_but_the_catalog_skips_are_said(tmp_path, server):
    # A row with an unsafe id ('../x') was skipped without a word: `glr train` says so, fetch said nothing.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok"]})
    with open(root / "train.csv", "a") as fh:
        fh.write(f"../../evil,{server.url}/evil.jpg,1\n")
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.fetched == 2 and "/evil.jpg" not in server.hits
    assert report.summary().splitlines()[-1] == (
        "1 row has an id that is not a plain file name (e.g. '../../evil' on line 4: a path out of the dataset); skipped, so nothing outside the dataset "
        "is read")


def test_a_fetch_of_fewer_classes_keeps_the_earlier_failures_of_the_others_listed(tmp_path, server):
    # `fetch --top-n 2`, then `fetch --top-n 1`: the second run's list replaced the first's, and the failures of the
    # class it did not ask for were lost.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok", "ok"], 2: ["ok", "404"]})
    fetch.fetch(root, top_n=2, **FAST)
    report = fetch.fetch(root, top_n=1, **FAST)
    listed = pd.read_csv(root / fetch.FAILURES_CSV)
    assert list(listed["id"]) == [image_id(2, 1)] and list(listed["detail"]) == ["in an earlier run: HTTP 404"]
    assert report.summary().splitlines()[-1] == (
        f"earlier failures kept in {root / fetch.FAILURES_CSV}: 1 (photos not on disk that this run did not fail; "
        "marked 'in an earlier run:')")


def test_a_folder_named_as_the_failures_list_is_said_to_be_in_the_way(tmp_path, server):
    # It was called "an earlier run's list, left as it was".
    root = release(tmp_path / "gld", server, {1: ["404", "ok"]})
    (root / fetch.FAILURES_CSV).mkdir()
    report = fetch.fetch(root, top_n=1, **FAST)
    assert report.summary().splitlines()[-1] == (
        f"the failures are not listed: {root / fetch.FAILURES_CSV} cannot be written (Is a directory); a folder has its "
        "name: move it away, then run the same command again")


def test_a_stopped_fetch_counts_every_photo_it_wrote_as_kept(tmp_path, server):
    # Photos written while the stop came, their worker's result not yet taken, were on disk but not counted: "kept
    # the 1 photos fetched before the stop; 1 of the 3 wanted are on disk" with 2 or 3 there.
    root = release(tmp_path / "gld", server, {1: ["ok", "ok", "ok"]})

    def ctrl_c(done, total):
        raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(root, top_n=1, progress=ctrl_c, **{**FAST, "workers": 3})
    on_disk = len(list((root / "train").rglob("*.jpg")))
    assert stopped.value.report.fetched == on_disk >= 1


def test_the_failures_list_escapes_what_a_spreadsheet_would_run_and_keeps_it_exactly_for_the_next_run(tmp_path):
    # A server's reason text (or a URL) starting "=", "+", "-" or "@" went raw into fetch_failures.csv, a list a
    # user opens in a spreadsheet, which would run it as a formula.
    first = fetch.FetchReport()
    first.fail("abc0000000000000", fetch.NOT_FOUND, '=HYPERLINK("http://x","y")')
    first.fail("abd0000000000000", fetch.NOT_FOUND, "-1 bytes")
    fetch.list_failures(tmp_path, first)
    raw = pd.read_csv(tmp_path / fetch.FAILURES_CSV, dtype=str, keep_default_na=False)
    assert raw["detail"].tolist() == ['\'=HYPERLINK("http://x","y")', "'-1 bytes"]
    # A stopped run that failed none of them keeps the earlier rows, their text as it was (marked EARLIER).
    kept = fetch.not_asked_again(tmp_path, fetch.FetchReport())
    assert kept["detail"].tolist() == [fetch.EARLIER + '=HYPERLINK("http://x","y")', fetch.EARLIER + "-1 bytes"]


def test_an_earlier_failures_list_is_read_back_by_glrs_own_reader_exactly(tmp_path):
    # fetch_failures.csv was read with a bare pandas.read_csv, not glr's reader: a list written before a cell
    # holding a bare carriage return was quoted (its lines end in "\n") split that row in two, making up a failure
    # for a photo "go away" with no reason, and the cut detail lost the rest of its text.
    (tmp_path / fetch.FAILURES_CSV).write_bytes(b"id,reason,detail\nabc0000000000000,http error,server said\rgo away\n"
                                                b"abd0000000000000,not found (404),\nNone,not found (404),NA\n")
    kept = fetch.not_asked_again(tmp_path, fetch.FetchReport())
    assert kept.to_dict("list") == {"id": ["abc0000000000000", "abd0000000000000", "None"],
                                    "reason": ["http error", "not found (404)", "not found (404)"],
                                    "detail": [fetch.EARLIER + "server said\rgo away", fetch.EARLIER, fetch.EARLIER + "NA"]}
    # The list as glr writes it now (a BOM for Excel, CRLF line ends around a return) reads back the same way; the
    # earlier row this run did not fail stays, marked once.
    report = fetch.FetchReport()
    report.fail("abc0000000000000", fetch.HTTP_ERROR, "server said\rgo away")
    report.fail("abd0000000000000", fetch.NOT_FOUND, "")
    fetch.list_failures(tmp_path, report)
    assert (tmp_path / fetch.FAILURES_CSV).read_bytes().startswith(b"\xef\xbb\xbfid,reason,detail")
    kept = fetch.not_asked_again(tmp_path, fetch.FetchReport())
    assert kept["id"].tolist() == ["abc0000000000000", "abd0000000000000", "None"]
    assert kept["detail"].tolist() == [fetch.EARLIER + "server said\rgo away", fetch.EARLIER, fetch.EARLIER + "NA"]


def test_the_decode_check_converts_a_display_p3_photo_s_colours_for_one_pixel_only(monkeypatch):
    # Was: each downloaded photo's check converted all its pixels to sRGB only to throw them away (a 12 MP Display P3
    # AVIF: about 400 ms of LittleCMS). Every byte is still decoded: a cut file is still refused.
    from conftest import colour_conversions, display_p3_png
    from glr.errors import ImageError

    png = display_p3_png()
    converted = colour_conversions(monkeypatch)
    fetch.check_image(png, "p3.png")
    assert converted == [(1, 1)]
    with pytest.raises(ImageError):
        fetch.check_image(png[:-200], "cut.png")
