"""glr fetch --from-shards: the curated photos out of GLDv2-style tar shards with md5 files."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from fetch_servers import jpeg, shard, shard_release as release
from glr.data import fetch, tar_shards
from glr.errors import DatasetError


def test_shards_give_only_the_curated_photos_and_report_bad_md5_and_missing(tmp_path):
    ids = release(tmp_path / "gld", {1: 5, 2: 4, 3: 2})
    top = set(ids[:9])  # classes 1 and 2
    shards = tmp_path / "shards"
    photos = {i: jpeg(n) for n, i in enumerate(ids)}
    shard(shards, 0, {i: photos[i] for i in ids[:3]} | {"x/y/z/../../evil": jpeg(99)})
    shard(shards, 1, {ids[3]: photos[ids[3]], ids[4]: b"<html>not a photo</html>", ids[9]: photos[ids[9]]}, md5=None)
    shard(shards, 2, {ids[5]: photos[ids[5]], ids[6]: photos[ids[6]]}, md5="wrong")
    shard(shards, 3, {ids[7]: photos[ids[7]]})
    report = fetch.fetch(tmp_path / "gld", top_n=2, shards=shards)
    root = tmp_path / "gld"
    assert report.wanted == 9 and report.fetched == 5
    got = {p.stem for p in (root / "train").rglob("*.jpg")}
    assert got == set(ids[:4]) | {ids[7]} and got <= top  # class 3's photo in shard 1 is not taken
    assert all(fetch.is_valid_file(fetch.image_path(root, i)) for i in got)
    reasons = report.failure_table().set_index("id")["reason"].to_dict()
    assert reasons == {ids[4]: fetch.NOT_AN_IMAGE, ids[5]: fetch.NOT_IN_SHARDS, ids[6]: fetch.NOT_IN_SHARDS,
                       ids[8]: fetch.NOT_IN_SHARDS}
    assert fetch.BAD_MD5 in report.failure_table().set_index("id").loc[ids[5], "detail"]
    assert any("images_002.tar: md5" in note for note in report.notes)
    assert not (tmp_path / "evil").exists() and not list(tmp_path.rglob("evil*"))


def test_a_partly_downloaded_shard_gives_what_it_holds_then_a_resume_finishes(tmp_path):
    ids = release(tmp_path / "gld", {1: 6})
    shards = tmp_path / "shards"
    data = shard(shards, 0, {i: jpeg(n, size=64) for n, i in enumerate(ids)}, md5=None)
    (shards / "images_000.tar").write_bytes(data[: len(data) // 2])  # the download stopped half-way
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert 0 < report.fetched < 6 and any("ends early" in n for n in report.notes)
    got = list((tmp_path / "gld" / "train").rglob("*"))
    assert all(fetch.is_valid_file(p) for p in got if p.is_file()) and not [p for p in got if p.name.startswith(".")]
    # The rest of the download arrives (with its md5 this time): the second run takes only what is missing.
    shard(shards, 0, {i: jpeg(n, size=64) for n, i in enumerate(ids)})
    again = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert again.already == report.fetched and again.fetched == 6 - report.fetched and not again.failures


def test_no_shards_is_a_clear_error(tmp_path):
    release(tmp_path / "gld", {1: 2})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no tar shards"):
        fetch.fetch(tmp_path / "gld", top_n=1, shards=tmp_path / "empty")


def test_md5_files_are_read_as_the_release_writes_them(tmp_path):
    shard(tmp_path, 7, {"abc0000000000000": jpeg(1)})
    path = tmp_path / "images_007.tar"
    assert tar_shards.expected_md5(path) == tar_shards.file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest()
    (tmp_path / "md5.images_007.txt").unlink()
    assert tar_shards.expected_md5(path) is None


def test_the_command_line_takes_shards(tmp_path, capsys):
    from glr.cli import main

    ids = release(tmp_path / "gld", {1: 2})
    shard(tmp_path / "shards", 0, {i: jpeg(n) for n, i in enumerate(ids)})
    assert main(["fetch", str(tmp_path / "gld"), "--top-n", "1", "--from-shards", str(tmp_path / "shards")]) == 0
    assert "2 fetched, 0 failed" in capsys.readouterr().out


def test_an_md5_file_that_holds_no_md5_does_not_condemn_its_shard(tmp_path):
    # An empty md5 file, or an error page saved under its name, states no hash: the shard was skipped as "damaged".
    for n, content in enumerate(["", "<html><body>404 Not Found</body></html>"]):
        ids = release(tmp_path / f"gld{n}", {1: 2})
        shards = tmp_path / f"shards{n}"
        shard(shards, 0, {i: jpeg(k) for k, i in enumerate(ids)}, md5=None)
        (shards / "md5.images_000.txt").write_text(content)
        report = fetch.fetch(tmp_path / f"gld{n}", top_n=1, shards=shards)
        assert report.fetched == 2 and not report.failures
        assert any(note.startswith("md5.images_000.txt: holds no md5") and "read unchecked" in note for note in report.notes)


def test_photos_missing_after_a_shard_cut_short_are_said_to_be_maybe_in_it(tmp_path):
    ids = release(tmp_path / "gld", {1: 6})
    shards = tmp_path / "shards"
    data = shard(shards, 0, {i: jpeg(n, size=64) for n, i in enumerate(ids)}, md5=None)
    (shards / "images_000.tar").write_bytes(data[: len(data) // 2])
    shard(shards, 1, {"abc0000000000000": jpeg(1)}, md5=None)  # a whole shard without them
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    failures = report.failure_table()
    cut = failures[failures["reason"] == fetch.TRUNCATED]  # the member the shard's end cut off is named as such
    assert len(cut) == 1 and cut["detail"].tolist() == ["in images_000.tar, which ends early"]
    details = set(failures[failures["reason"] != fetch.TRUNCATED]["detail"])
    assert details == {"searched 1 of 2 shards whole (cut short, damaged or unreadable, so it may be in: images_000.tar)"}


def test_a_damaged_first_copy_gives_way_to_a_good_copy_in_a_later_shard(tmp_path):
    # The first copy's fault (bad bytes, a member cut off by the shard's end, a shard whose md5 fails) used to
    # condemn the photo: the good copy in a later shard was never looked at.
    ids = release(tmp_path / "gld", {1: 3})
    shards = tmp_path / "shards"
    photos = {i: jpeg(n, size=64) for n, i in enumerate(ids)}
    shard(shards, 0, {ids[0]: b"<html>not a photo</html>"}, md5=None)
    shard(shards, 1, {ids[1]: photos[ids[1]]}, md5="wrong")
    cut = shard(shards, 2, {ids[2]: photos[ids[2]]}, md5=None)
    (shards / "images_002.tar").write_bytes(cut[:700])  # the member's header and part of its bytes
    shard(shards, 3, photos, md5=None)
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert report.fetched == 3 and not report.failures
    assert all(fetch.image_path(tmp_path / "gld", i).read_bytes() == photos[i] for i in ids)


def test_the_same_photo_in_two_shards_is_taken_once_or_failed_once_naming_both(tmp_path):
    ids = release(tmp_path / "gld", {1: 2})
    shards = tmp_path / "shards"
    first, second = jpeg(1), jpeg(2)
    shard(shards, 0, {ids[0]: first, ids[1]: b"not a photo"}, md5=None)
    shard(shards, 1, {ids[0]: second, ids[1]: b"<html>nor this</html>"}, md5=None)
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert report.fetched == 1 and fetch.image_path(tmp_path / "gld", ids[0]).read_bytes() == first
    failures = report.failure_table()
    assert len(failures) == 1 and failures.loc[0, "id"] == ids[1] and failures.loc[0, "reason"] == fetch.NOT_AN_IMAGE
    assert failures.loc[0, "detail"] == "2 copies, none usable: not an image in images_000.tar; not an image in images_001.tar"


def test_a_shard_cut_between_two_members_is_not_taken_as_whole(tmp_path):
    # tarfile stops in silence at a missing header, so a download that stopped between two members was "read
    # whole" and the photos after the cut were "not in any shard" (searched 1 of 1 shards whole).
    ids = release(tmp_path / "gld", {1: 3})
    shards = tmp_path / "shards"
    data = shard(shards, 0, {i: jpeg(n) for n, i in enumerate(ids)}, md5=None)
    second = tarfile.open(fileobj=io.BytesIO(data)).getmembers()[1].offset
    (shards / "images_000.tar").write_bytes(data[:second])
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert report.fetched == 1 and any(n.startswith("images_000.tar: ends early or is damaged") for n in report.notes)
    assert set(report.failure_table()["detail"]) == {
        "searched 0 of 1 shards whole (cut short, damaged or unreadable, so it may be in: images_000.tar)"}


def test_a_shard_that_is_not_a_tar_is_said_so_and_the_others_are_read(tmp_path):
    ids = release(tmp_path / "gld", {1: 2})
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "images_000.tar").write_text("<html><body>403 Forbidden</body></html>")
    (shards / "images_001.tar").write_bytes(b"")
    shard(shards, 2, {i: jpeg(n) for n, i in enumerate(ids)}, md5=None)
    report = fetch.fetch(tmp_path / "gld", top_n=1, shards=shards)
    assert report.fetched == 2 and not report.failures
    assert [n.split(" (")[0] for n in report.notes] == ["images_000.tar: not a tar archive", "images_001.tar: not a tar archive"]
    assert all(n.endswith("; skipped (download it again)") for n in report.notes)


def test_shards_named_by_a_missing_folder_or_by_one_shard_file(tmp_path):
    ids = release(tmp_path / "gld", {1: 2})
    with pytest.raises(DatasetError, match="no-such-folder: no such folder"):
        fetch.fetch(tmp_path / "gld", top_n=1, shards=tmp_path / "no-such-folder")
    shard(tmp_path / "shards", 0, {i: jpeg(n) for n, i in enumerate(ids)})  # one shard named itself: it is read
    assert fetch.fetch(tmp_path / "gld", top_n=1, shards=tmp_path / "shards" / "images_000.tar").fetched == 2


def test_ctrl_c_while_extracting_keeps_the_photos_written_and_says_how_many(tmp_path):
    ids = release(tmp_path / "gld", {1: 4})
    shard(tmp_path / "shards", 0, {i: jpeg(n) for n, i in enumerate(ids)})

    def ctrl_c_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(fetch.FetchInterrupted) as stopped:
        fetch.fetch(tmp_path / "gld", top_n=1, shards=tmp_path / "shards", progress=ctrl_c_after_two)
    report = stopped.value.report
    assert report.fetched == 2 and len(list((tmp_path / "gld" / "train").rglob("*.jpg"))) == 2
    assert report.interrupted_summary() == (
        "interrupted: kept the 2 photos fetched before the stop; 2 of the 4 wanted are on disk, each one whole. "
        "Run the same command again to fetch the other 2 (what is there is skipped)")
