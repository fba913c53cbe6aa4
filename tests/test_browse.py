"""glr.data.browse (and the demo marker): the Dataset page's helpers, tested without Streamlit."""

import io
import json

import numpy as np

from conftest import write_image
from glr.data import browse
from glr.data import datasets
from glr.demo import dataset as demo


def _jpeg(seed: int = 0, size: int = 40) -> bytes:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_demo_ready_follows_the_marker(monkeypatch, tmp_path):
    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "demo"))
    assert not demo.is_ready()


def test_recent_datasets_most_recent_first_without_duplicates(monkeypatch, tmp_path):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    assert browse.recent_datasets() == []
    browse.remember_dataset("/a")
    browse.remember_dataset("/b")
    assert browse.remember_dataset("/a") == ["/a", "/b"]
    for i in range(20):
        browse.remember_dataset(f"/d{i}", limit=3)
    assert browse.recent_datasets() == ["/d19", "/d18", "/d17"]
    (tmp_path / browse.RECENT_FILE).write_text("{not json")
    assert browse.recent_datasets() == []  # damaged: starts over, no exception
    (tmp_path / browse.RECENT_FILE).write_text(json.dumps({"a": 1}))
    assert browse.recent_datasets() == []


def test_dataset_stamp_changes_when_train_csv_changes(tmp_path):
    assert browse.dataset_stamp(tmp_path / "missing") == 0.0
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\n")
    before = browse.dataset_stamp(tmp_path)
    import os

    os.utime(csv, (before + 10, before + 10))
    assert browse.dataset_stamp(tmp_path) == before + 10


def test_split_table_counts_both_sides(tiny_data):
    split = datasets.curate(datasets.load_catalog(tiny_data))
    table = browse.split_table(split)
    assert list(table.columns) == ["index", "landmark_id", "name", "images", "train", "val"]
    assert (table["train"] + table["val"] == table["images"]).all()
    assert (table["val"] >= 1).all()


def test_gallery_pages_and_search(tiny_data):
    df = datasets.load_catalog(tiny_data)
    first = browse.gallery_page(df, "", page=1, per_page=2, per_class=3)
    assert (first.page, first.pages, first.matches) == (1, 2, 3)
    assert len(first.classes) == 2 and all(len(e) == 3 for e in first.classes["examples"])
    last = browse.gallery_page(df, "", page=99, per_page=2)
    assert last.page == 2 and len(last.classes) == 1  # clamped
    hit = browse.gallery_page(df, "  BLUE ")
    assert hit.classes["name"].tolist() == ["Blue Mosque"]
    assert browse.gallery_page(df, "9").classes["landmark_id"].tolist() == [9]  # by id too
    none = browse.gallery_page(df, "no such landmark")
    assert none.matches == 0 and none.classes.empty and none.pages == 1


def test_thumbnail_and_image_sizes(tmp_path):
    good = tmp_path / "a.jpg"
    write_image(good, seed=1, size=64)
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"%PDF-1.4 not an image")
    thumb = browse.thumbnail(good, 32)
    assert thumb.shape == (32, 32, 3) and thumb.dtype == np.uint8
    assert browse.thumbnail(bad) is None
    assert browse.thumbnail(io.BytesIO(_jpeg()), 16).shape == (16, 16, 3)
    stats = browse.image_size_stats([str(good), str(bad)] * 3, sample=4)
    assert stats["sampled"] == 4 and stats["unreadable"] + len(stats["sizes"]) == 4
    assert stats["common"]["size"].iloc[0] == "64 x 64"
    assert stats["summary"].loc["width", "median"] == 64
    empty = browse.image_size_stats([str(bad)])
    assert empty["sizes"].empty and empty["unreadable"] == 1
    assert browse.unread_problem(empty, tmp_path) == ("1 of the 1 images sampled could not be read (e.g. b.jpg): empty, "
                                                      "damaged or not images; training leaves such photos out")
    assert browse.unread_problem(browse.image_size_stats([str(good)]), tmp_path) is None


def test_a_thumbnail_converts_the_colours_of_its_own_pixels_only(monkeypatch):
    # The gallery showed a 12 MP Display P3 photo (an iPhone's HEIC profile, a phone's AVIF nclx) as a thumbnail after
    # converting all 12 million pixels to sRGB: now only the thumbnail's are (a P3 WebP: 1.4 -> 0.7 s at load 6.4).
    from conftest import colour_conversions, display_p3_png
    from glr.data.images import decode_image

    png = display_p3_png()
    converted = colour_conversions(monkeypatch)
    thumb = browse.thumbnail(io.BytesIO(png), 16)
    assert thumb.shape == (16, 16, 3)
    assert converted == [(16, 16)]
    whole = decode_image(png)
    assert np.abs(thumb.astype(int) - whole[:16, :16]).max() <= 1 and tuple(whole[0, 0]) != (200, 100, 50)


def test_a_path_a_terminal_escaped_is_the_folder_it_names(tmp_path):
    # A folder dragged into a terminal, then pasted: `My\ Photos\ \(2024\)` was "no such file or folder".
    folder = tmp_path / "My Photos (2024)"
    folder.mkdir()
    assert browse.typed_path(f"{tmp_path}/My\\ Photos\\ \\(2024\\)/") == str(folder)
    odd = tmp_path / "a\\ b"  # a folder whose name really holds a backslash is left alone
    odd.mkdir()
    assert browse.typed_path(str(odd)) == str(odd)
    assert browse.typed_path(f"{tmp_path}/not\\ there") == f"{tmp_path}/not\\ there"


def test_dataset_stamp_changes_when_a_photo_is_added_to_a_class_folder(tmp_path):
    # The page's catalog is cached on this stamp: a photo dropped into Tower/ (or train/Tower/) left the old
    # counts and gallery on the page until the server restarted.
    import os

    for folder in ("Tower", "train/Bridge"):
        write_image(tmp_path / folder / "0.jpg", seed=0)
        stamp = browse.dataset_stamp(tmp_path)
        later = stamp + 100
        write_image(tmp_path / folder / "1.jpg", seed=1)
        os.utime(tmp_path / folder, (later, later))  # what adding the photo does, beyond the clock's resolution
        assert browse.dataset_stamp(tmp_path) == later


def test_dataset_stamp_changes_when_a_photo_is_added_to_gldv2s_images_tree(tmp_path):
    # `glr fetch` writes its photos into train/a/b/c/, whose time alone changes: the page kept saying they
    # were "not found" (its catalog cached on this stamp) until the server restarted.
    import os

    from conftest import make_gldv2

    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3})
    leaf = min(p for p in (root / "train").rglob("*") if p.is_file()).parent
    stamp = browse.dataset_stamp(root)
    later = stamp + 100
    os.utime(leaf, (later, later))  # what a photo fetched into train/a/b/c/ does, beyond the clock's resolution
    assert browse.dataset_stamp(root) == later


def test_dataset_stamp_looks_at_the_class_folders_once_per_memo_and_a_new_memo_sees_a_photo_added(tmp_path, monkeypatch):
    # Every call statted every class folder (40 ms at 10,000) and the Dataset page asked 5 times per rerun: with
    # one memo per rerun the folders are looked at once, and the next rerun's memo still sees photos added.
    import os

    for name in ("Tower", "Bridge"):
        write_image(tmp_path / name / "0.jpg", seed=0)
    looked = []
    real = browse._folder_stamps
    monkeypatch.setattr(browse, "_folder_stamps", lambda *args, **kw: looked.append(args) or real(*args, **kw))
    memo = {}
    stamp = browse.dataset_stamp(tmp_path, memo=memo)
    later = stamp + 100
    os.utime(tmp_path / "Tower", (later, later))  # a photo added to Tower/ during the rerun
    assert [browse.dataset_stamp(p, memo=memo) for p in (tmp_path, str(tmp_path), f"{tmp_path}")] == [stamp] * 3
    assert len(looked) == 1
    assert browse.dataset_stamp(tmp_path, memo={}) == browse.dataset_stamp(tmp_path) == later


def test_dataset_stamp_of_a_path_typed_in_nfc_follows_its_folder_named_in_nfd(tmp_path):
    # The app caches the catalog on this stamp: a path typed in NFC for a folder a Mac named in NFD stamped 0.0
    # for ever, so photos added there never showed until the server restarted.
    import os
    import unicodedata

    on_disk = tmp_path / unicodedata.normalize("NFD", "Café")
    write_image(on_disk / "Tower" / "0.jpg", seed=0)
    typed = tmp_path / "Café"
    assert browse.dataset_stamp(typed) == browse.dataset_stamp(on_disk) > 0
    later = browse.dataset_stamp(on_disk) + 100
    os.utime(on_disk / "Tower", (later, later))
    assert browse.dataset_stamp(typed) == later


def test_image_sizes_of_a_catalog_make_the_paths_of_their_sample_only(tiny_data, monkeypatch):
    catalog = datasets.load_catalog(tiny_data)
    listed = browse.image_size_stats(catalog.paths().tolist(), sample=5)
    asked = []
    real = datasets.Catalog.paths
    monkeypatch.setattr(datasets.Catalog, "paths", lambda self, rows=None: asked.append(rows) or real(self, rows))
    stats = browse.image_size_stats(catalog, sample=5)  # the same photos as the list of every path gives
    assert stats["sampled"] == 5 and stats["sizes"].equals(listed["sizes"]) and [len(r) for r in asked] == [5]
