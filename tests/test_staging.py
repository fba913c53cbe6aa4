"""glr.data.staging: the photos dropped in the Dataset page's upload form, kept on disk (checked, once each,
within limits) until the dataset is made or they are discarded; old stagings pruned."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from glr.data import staging
from glr.data.staging import Staging, new_key, prune
from glr.errors import DatasetError


def _jpeg(seed: int, size: int = 40) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_dropped_photos_are_checked_and_kept_once(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    added, problems = box.add("class-0", [("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2)), ("bad.jpg", b"not a photo")])
    assert added == 2 and len(problems) == 1 and "bad.jpg" in problems[0]
    added, problems = box.add("class-0", [("a copy.jpg", _jpeg(1)), ("c.jpg", _jpeg(3))])  # the same file again
    assert added == 1 and problems == ["1 photo dropped again, kept once"]
    assert len(box.photos("class-0")) == 3 and box.slots() == ["class-0"]
    assert box.path.parent == tmp_path / ".staging"  # a hidden folder: no dataset read there lists it
    Image.open(box.photos("class-0")[0]).verify()  # stored as the JPEG the dataset will hold


def test_the_limits_hold_and_say_so(tmp_path):
    box = Staging(new_key(), root=tmp_path, max_files=3)
    added, problems = box.add("class-0", [(f"{i}.jpg", _jpeg(i)) for i in range(2)])
    added, problems = box.add("class-1", [(f"{i}.jpg", _jpeg(i)) for i in range(10, 13)])
    assert added == 1 and "2 photos not kept: a dataset made in the browser holds at most 3 photos" in problems[0]
    assert box.totals()[0] == 3


def test_a_zips_class_names_are_kept_with_their_slots_and_clearing_forgets_them(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    box.add("zip-0", [("Old Bridge/1.jpg", _jpeg(1))], label="Old Bridge")
    box.add("zip-1", [("Clock Tower/1.jpg", _jpeg(2))], label="Clock Tower")
    box.add("class-0", [("x.jpg", _jpeg(3))])
    assert box.slots("zip-") == ["zip-0", "zip-1"] and box.labels() == {"zip-0": "Old Bridge", "zip-1": "Clock Tower"}
    box.clear("zip-0")
    assert box.slots() == ["class-0", "zip-1"] and box.labels() == {"zip-1": "Clock Tower"}
    box.clear()
    assert not box.path.exists() and box.slots() == [] and box.photos("class-0") == []


@pytest.mark.parametrize("key", ["../x", "a" * 31, "A" * 32, "", None])
def test_a_key_that_is_not_one_is_refused(tmp_path, key):
    with pytest.raises(DatasetError):
        Staging(key, root=tmp_path)
    with pytest.raises(DatasetError):
        Staging(new_key(), root=tmp_path).photos("../../etc")


def test_old_stagings_and_all_but_the_most_recent_are_pruned(tmp_path):
    keys = [new_key() for _ in range(5)]
    for i, key in enumerate(keys):
        box = Staging(key, root=tmp_path)
        box.add("class-0", [("a.jpg", _jpeg(i))])
        stamp = time.time() - (5 - i) * 60  # keys[4] the most recent
        os.utime(box.path, (stamp, stamp))
    old = Staging(keys[0], root=tmp_path).path
    os.utime(old, (time.time() - staging.MAX_AGE_SECONDS - 1,) * 2)
    gone = prune(tmp_path, keep=3, spare=keys[1])
    assert sorted(p.name for p in gone) == sorted([keys[0]])  # keys[1] is the caller's own: spared
    assert sorted(p.name for p in (tmp_path / ".staging").iterdir()) == sorted(keys[1:])
    gone = prune(tmp_path, keep=2)
    assert sorted(p.name for p in gone) == sorted(keys[1:3])
    assert not set(gone + [old]) & set(staging._GENERATIONS)  # what is known of them goes with them
    assert prune(tmp_path / "nothing-here") == []


def test_what_is_kept_is_read_from_disk_once_per_change(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    box.add("class-0", [(f"{i}.jpg", _jpeg(i)) for i in range(3)], label="cat")
    assert len(box.photos("class-0")) == 3 and box.totals()[0] == 3
    # Behind the module's back, with the folder's time put back: were the photos listed again, it would show 2.
    # (The page asked for every slot's photos on each click, stat-ing each photo twice: slow with hundreds.)
    folder = box.path / "class-0"
    stamp = folder.stat().st_mtime_ns
    box.photos("class-0")[0].unlink()
    os.utime(folder, ns=(stamp, stamp))
    again = Staging(box.path.name, root=tmp_path)  # another session's view of the same staging: one cache
    assert len(again.photos("class-0")) == 3 and again.labels() == {"class-0": "cat"}
    # A change made here is seen at once...
    again.add("class-1", [("d.jpg", _jpeg(10))])
    assert box.slots() == ["class-0", "class-1"] and len(box.photos("class-0")) == 2 and box.totals()[0] == 3
    # ... and one made elsewhere (another process) once it changes the folder's time.
    (folder / f"{'0' * 40}.jpg").write_bytes(_jpeg(11))
    os.utime(folder, ns=(stamp + 10**9, stamp + 10**9))
    assert len(box.photos("class-0")) == 3


def test_the_dataset_name_is_kept_with_the_photos_and_goes_with_them(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    assert box.name() == "" and box.set_name("Trip") is False and not box.path.exists()  # no photo: no folder
    box.add("class-0", [("a.jpg", _jpeg(1))])
    assert box.set_name("Trip 2026") and Staging(box.path.name, root=tmp_path).name() == "Trip 2026"  # a refresh
    box.clear("class-0")
    assert box.name() == "Trip 2026"  # removing a class keeps the name
    assert len(box.set_name("x" * 10_000) and box.name()) == staging.MAX_NAME_CHARS  # bounded on disk
    box.clear()
    assert box.name() == ""


def test_the_same_photo_in_two_classes_is_refused_naming_the_first(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    box.add("class-0", [("a.jpg", _jpeg(1))], label="Old Bridge")
    added, problems = box.add("class-1", [("a copy.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))])
    assert added == 1 and len(problems) == 1
    assert "a copy.jpg: the same photo is kept for 'Old Bridge' already" in problems[0]
    added, problems = box.add("class-2", [("x.jpg", _jpeg(2))])
    assert added == 0 and "kept for 'class 2' already" in problems[0]  # an unnamed class: by its box
    assert box.add("zip-0", [("a.jpg", _jpeg(1))], label="Gate")[0] == 1  # a zip's classes are another dataset


def test_a_photo_can_be_removed_alone(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    box.add("class-0", [("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))])
    assert box.remove("class-0", [staging.photo_name(_jpeg(1)), "../labels.json", "nothing.jpg"]) == 1
    assert [p.name for p in box.photos("class-0")] == [staging.photo_name(_jpeg(2))]
    assert (tmp_path / ".staging" / box.path.name).is_dir()


def test_an_upload_box_is_synced_once_per_file_and_mirrors_what_is_taken_out(tmp_path):
    box, handled = Staging(new_key(), root=tmp_path), {}
    reads = []

    def held(*items):
        return [(file_id, f"{file_id}.jpg", lambda d=data, i=file_id: reads.append(i) or d) for file_id, data in items]

    a, b, bad = ("a", _jpeg(1)), ("b", _jpeg(2)), ("bad", b"not a photo")
    problems = box.sync("class-0", handled, held(a, b, bad), label="cat")
    assert len(box.photos("class-0")) == 2 and len(problems) == 1 and handled["bad"] == ""
    a_again = ("a2", _jpeg(1))  # the same photo under another name
    problems = box.sync("class-0", handled, held(a, b, bad, a_again))
    assert reads == ["a", "b", "bad", "a2"]  # the files held already are not read again
    assert problems == [(("a2",), "1 photo dropped again, kept once")]  # with the file it is about
    box.sync("class-0", handled, held(b, bad, a_again))  # a taken out: its photo stays, a2 is it too
    assert len(box.photos("class-0")) == 2
    box.sync("class-0", handled, held(bad, a_again))  # b taken out
    assert [p.name for p in box.photos("class-0")] == [staging.photo_name(_jpeg(1))] and set(handled) == {"bad", "a2"}


def test_photos_a_full_disk_did_not_let_be_kept_are_tried_again(tmp_path, monkeypatch):
    # They were marked refused, and with the box unchanged the page never tried them again, saying nothing.
    box, handled = Staging(new_key(), root=tmp_path), {}
    files = [(i, f"{i}.jpg", lambda d=_jpeg(n): d) for n, i in enumerate("abc")]
    real, writes = staging.write_bytes, []

    def full_at_the_second(path, data):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(staging, "write_bytes", full_at_the_second)
    with pytest.raises(OSError):
        box.sync("class-0", handled, files, label="cat")
    assert len(box.photos("class-0")) == 1 and list(handled) == ["a"]  # b and c: still to be kept
    box.sync("class-0", handled, files)  # room again: the page's next run
    assert len(box.photos("class-0")) == 3 and set(handled) == {"a", "b", "c"} and all(handled.values())


def test_the_dataset_made_is_kept_for_a_refresh_until_forgotten(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    assert box.built() is None
    assert box.set_built(tmp_path / "pets", {"cat": 2}, ["1 photo skipped"])  # makes the folder: the photos are gone
    again = Staging(box.path.name, root=tmp_path)
    assert again.built() == (str(tmp_path / "pets"), {"cat": 2}, ["1 photo skipped"])
    again.set_built(None)
    assert box.built() is None and box.set_name("next") and box.name() == "next"
    (box.path / staging.FORM_FILE).write_text('{"built": "not a list", "name": 3}')  # a file edited by hand
    os.utime(box.path / staging.FORM_FILE, ns=(1, 1))
    assert box.built() is None and box.name() == ""


def test_class_names_typed_and_the_names_photos_were_dropped_under_are_kept(tmp_path):
    box = Staging(new_key(), root=tmp_path)
    assert box.set_label("class-1", "owl") is False and not box.path.exists()  # no photo: no staging place taken
    box.add("class-0", [("cam/IMG_1.jpg", _jpeg(1)), ("IMG_2.jpg", _jpeg(2))])
    one, two = staging.photo_name(_jpeg(1)), staging.photo_name(_jpeg(2))
    assert box.set_label("class-1", "owl")  # a class with no photo yet: a refresh shows its name again
    again = Staging(box.path.name, root=tmp_path)
    assert again.labels() == {"class-1": "owl"} and again.names("class-0") == {one: "IMG_1.jpg", two: "IMG_2.jpg"}
    box.remove("class-0", [one])
    assert box.names("class-0") == {two: "IMG_2.jpg"}
    assert box.set_label("class-1", "") and box.labels() == {}
    box.clear("class-0")
    assert box.names("class-0") == {} and not box.snapshot().names


def test_a_sync_names_the_files_each_problem_is_about(tmp_path):
    box, handled = Staging(new_key(), root=tmp_path), {}
    files = [("a", "a.jpg", lambda: _jpeg(1)), ("bad", "bad.jpg", lambda: b"no"), ("a2", "a2.jpg", lambda: _jpeg(1))]
    problems = box.sync("class-0", handled, files)
    assert [ids for ids, _ in problems] == [("bad",), ("a2",)] and "bad.jpg" in problems[0][1]
    # A file whose bytes are gone (released from the server's memory) cannot be kept: refused, not read.
    assert box.sync("class-0", handled, files + [("gone", "", None)]) == [] and handled["gone"] == ""


def test_pruning_also_cleans_a_dataset_a_killed_server_left_half_written(tmp_path):
    half = tmp_path / ".trip.abcd1234.partial" / "cat"
    half.mkdir(parents=True)
    for path in (half, half.parent):
        os.utime(path, (time.time() - 7200,) * 2)
    prune(tmp_path)
    assert not half.parent.exists()
