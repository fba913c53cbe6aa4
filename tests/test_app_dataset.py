"""The Dataset page (AppTest): a dataset made from a zip of class folders or from photos dropped per class,
and the long-tail chart's axis."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.data.staging import photo_name
from streamlit_server import LikeAServer
from test_app_pages import DATASET, assert_no_exception, button, metric, open_page, texts


def _per_class_form():
    """The Dataset page with its upload form open at "Photos per class"."""
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.radio(key="upload_how").set_value("Photos per class").run()
    return at


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


def drop(at, label: str, files: list[tuple[str, bytes]], run: bool = True):
    """Drop `files` on the upload box labelled `label`: added to those it holds, as a browser does (a zip replaces)."""
    box = next(u for u in at.file_uploader if u.label.startswith(label))
    kind = "application/zip" if files[0][0].endswith(".zip") else "image/jpeg"
    if not box.accept_multiple_files:
        return box.set_value((files[0][0], files[0][1], kind)).run()
    # set_value would give the files held new upload ids, as if dropped again; a browser keeps them.
    held = [(f.file_id, f.name, f.getvalue(), f.type) for f in box.value or []]
    box._files = held + [(str(uuid.uuid4()), name, data, kind) for name, data in files]
    return box.run() if run else box


@pytest.fixture
def uploads_root(monkeypatch, tmp_path, tiny_data) -> Path:
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    monkeypatch.setenv("GLR_UPLOADS", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def test_a_zip_of_class_folders_becomes_the_dataset_in_use(uploads_root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for cls, n in (("Old Bridge", 3), ("Clock Tower", 2)):
            for i in range(n):
                zf.writestr(f"{cls}/{i}.jpg", _jpeg(i + 10 * n))
        zf.writestr("../../escape.jpg", _jpeg(99))
        zf.writestr("Clock Tower/readme.txt", b"notes")
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("my trip").run()
    drop(at, "A zip", [("trip.zip", buffer.getvalue())])
    assert_no_exception(at)
    warnings = texts(at.warning)
    assert "unsafe paths skipped" in warnings and "1 file that is not an image skipped" in warnings
    assert warnings.count("unsafe paths skipped") == 1  # said twice: "zip-0" is also the first class's slot
    assert "Clock Tower (2), Old Bridge (3)" in texts(at.caption)
    button(at, "Make the dataset").click().run()
    assert_no_exception(at)
    made = uploads_root / "my_trip"
    assert f"Made {made}: 2 classes, 5 photos." in texts(at.success)
    assert sorted(p.relative_to(made).as_posix() for p in made.rglob("*.jpg"))[:2] == ["Clock_Tower/0001.jpg",
                                                                                      "Clock_Tower/0002.jpg"]
    button(at, "Use this dataset").click().run()
    assert_no_exception(at)
    assert metric(at, "Classes") == "2" and metric(at, "Images") == "5"
    assert f"In use:** {made}" in texts(at.markdown)
    # The same name again is refused as it is typed (it was said only once Make was clicked), and the
    # first dataset stays as it was.
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("my trip").run()
    drop(at, "A zip", [("trip.zip", buffer.getvalue())])
    assert "a dataset named 'my_trip' already exists" in texts(at.warning) and button(at, "Make the dataset").disabled
    assert len(list(made.rglob("*.jpg"))) == 5


def test_photos_dropped_per_class(uploads_root):
    at = _per_class_form()
    button(at, "Add a class").click().run()
    assert len(at.file_uploader) == 3
    at.text_input(key="upload_name").input("pets").run()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1)), ("c2.jpg", _jpeg(2))])
    at.text_input(key="upload_class_1").input("dog").run()
    drop(at, "Photos of class 2", [("d1.jpg", _jpeg(3)), ("broken.jpg", b"not a photo")])
    button(at, "Make the dataset").click().run()
    assert_no_exception(at)
    assert "2 classes, 3 photos" in texts(at.success)
    assert "dog/broken.jpg" in texts(at.warning)
    # The name box is empty for the next dataset: it said "a dataset named 'pets' already exists" under this one.
    assert "already exists" not in texts(at.warning) and at.text_input(key="upload_name").value == ""
    assert sorted(p.name for p in (uploads_root / "pets").iterdir()) == ["cat", "dog"]


def test_the_long_tail_axis_reads_in_full(uploads_root, tmp_path):
    from conftest import make_gldv2

    data = make_gldv2(tmp_path / "tail", {1: 30, 2: 12, 3: 6, 4: 3})
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    axis = spec["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["ticktext"] == ["2", "5", "10", "20", "50"]
    # its mode bar trimmed as the Results page's are: each button is a Tab stop
    assert "zoomIn2d" in json.loads(at.get("plotly_chart")[0].proto.config)["modeBarButtonsToRemove"]


def _synthetic_release(root: Path, rows: int, classes: int) -> Path:
    """A GLDv2-like train.csv (long-tailed, no images) and a few category names."""
    import pandas as pd

    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, classes + 1) ** 0.9
    labels = np.concatenate([np.arange(classes), rng.choice(classes, rows - classes, p=weights / weights.sum())])
    ids = pd.Series(rng.permutation(rows) * 7919 + 10**15).map("{:016x}".format)
    root.mkdir(parents=True)
    pd.DataFrame({"id": ids, "url": "https://example.org/" + ids, "landmark_id": labels * 3 + 5}).to_csv(
        root / "train.csv", index=False)
    # The largest class, and one in the tail.
    pd.DataFrame({"landmark_id": [5, 45_005], "category": ["Category:Old_Harbour", "Category:Red_Fort"]}).to_csv(
        root / "train_label_to_category.csv", index=False)
    return root


def test_a_large_catalog_opens_with_aggregates_search_and_paging(monkeypatch, tmp_path):
    data = _synthetic_release(tmp_path / "big", rows=250_000, classes=20_000)
    monkeypatch.setenv("GLR_DATA", str(data))
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    at = open_page(DATASET)
    assert metric(at, "Classes") == "20,000" and metric(at, "Images") == "250,000"
    assert all("zoomIn2d" in json.loads(c.proto.config)["modeBarButtonsToRemove"] for c in at.get("plotly_chart"))
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    # The long tail from aggregates: a curve of a few hundred points and a dozen bars, not 20,000 bars.
    assert [len(c["data"][0]["x"]) for c in charts][1] <= 16 and len(charts[0]["data"][0]["x"]) <= 400
    assert charts[0]["layout"]["xaxis"]["type"] == "log"
    assert "Old Harbour" in texts(at.markdown)  # the largest class, named from its category
    at.text_input(key="gallery_query").input("red fort").run()
    assert_no_exception(at)
    assert "**Red Fort** · landmark 45005" in texts(at.markdown) and "1 classes match" in texts(at.caption)
    at.text_input(key="gallery_query").input("45005").run()  # by id too
    assert "**Red Fort** · landmark 45005" in texts(at.markdown)
    at.text_input(key="gallery_query").input("").run()
    # Page to the end: the smallest classes.
    pages = int(at.number_input(key="gallery_page__8").max)
    at.number_input(key="gallery_page__8").set_value(pages).run()
    assert_no_exception(at)
    assert f"page {pages} of {pages}" in texts(at.caption) and "· 1 images" in texts(at.markdown)


def gallery_with_credits(tmp_path, credit: str, encoding: str = "utf-8"):
    """The Dataset page on a small GLDv2 folder whose train_attribution.csv credits one photo with `credit` (its
    `author,license,title` cells), saved in `encoding`; and the gallery's captions."""
    from conftest import image_id, make_gldv2

    data = make_gldv2(tmp_path / "credits", {1: 3, 2: 2})
    (data / "train_attribution.csv").write_bytes(f"id,url,author,license,title\n{image_id(1, 0)},u,{credit}\n"
                                                 .encode(encoding))
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    return at, [img.caption for element in at.get("image") for img in element.proto.imgs]


def test_the_gallery_credits_each_photo(uploads_root, tmp_path):
    _, captions = gallery_with_credits(tmp_path, "Jane Doe,CC BY-SA 4.0,File:Harbour.jpg")
    assert '"Harbour.jpg" by Jane Doe, CC BY-SA 4.0' in captions


def test_a_credits_file_in_a_windows_code_page_credits_each_photo_and_says_so_under_problems(uploads_root, tmp_path):
    # Excel on a Western Windows saves train_attribution.csv in Windows-1252: its credits were lost without a word.
    at, captions = gallery_with_credits(tmp_path, "Zoë Müller,CC BY-SA 4.0,File:Café.jpg", "cp1252")
    assert '"Café.jpg" by Zoë Müller, CC BY-SA 4.0' in captions
    assert "train_attribution.csv: read as Windows-1252 text (not UTF-8)" in texts(at.warning)


def test_the_gallerys_photos_wrap_rather_than_stack_one_to_a_phones_row(uploads_root, tmp_path):
    # In st.columns a phone (390 px) stacked each class's photos one to a row: 8 classes made the page 8,700 px tall
    # (6,200 in a row that wraps, two photos to a row there; seen in Chromium).
    from conftest import make_gldv2

    data = make_gldv2(tmp_path / "gallery", {1: 4, 2: 4})
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    assert len(at.get("image")) >= 8
    assert not any(c.get("image") for c in at.columns), "the gallery is in columns"


@pytest.mark.parametrize("typed", ['"{}"', "'{}/'", "  {}/  ", "file://{}", "~/My Photos ü"])
def test_a_path_pasted_with_quotes_a_slash_or_as_a_file_url_is_the_folder(uploads_root, tmp_path, typed, monkeypatch):
    # A file manager's "copy path" quotes a path with spaces; a dragged folder is a file:// URL.
    from conftest import write_image
    from glr.data import browse

    data = tmp_path / "My Photos ü"
    for c, name in enumerate(["東京タワー", "Big Ben"]):
        for i in range(3):
            write_image(data / name / f"{i}.jpg", seed=10 * c + i)
    monkeypatch.setenv("HOME", str(tmp_path))  # "~" is recorded as the folder it names
    # The cache folder is the session's, shared by the xdist workers: another test's folder could come first.
    monkeypatch.setattr(browse, "RECENT_FILE", f"recent-{uuid.uuid4().hex}.json")
    at = open_page(DATASET)
    text = typed.format(str(data).replace(" ", "%20") if typed.startswith("file:") else data)
    at.text_input(key="dataset_path").input(text).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    assert not at.error and metric(at, "Classes") == "2"
    assert browse.recent_datasets()[0] == str(data)  # one entry, however it was typed


def test_a_search_with_regex_characters_is_literal_and_echoed_as_typed(uploads_root):
    at = open_page(DATASET)
    for query in ("(", "[", "*", ".*"):
        at.text_input(key="gallery_query").input(query).run()
        assert_no_exception(at)
    assert "No class matches “.*”" in texts(at.info)  # literal text, not a pattern matching every class
    at.text_input(key="gallery_query").input("\\").run()
    assert "No class matches “\\”." in texts(at.info)  # one backslash, as typed (repr showed two)


def test_the_seed_boxes_stop_at_the_largest_seed_a_split_takes(uploads_root):
    from glr.data.datasets import MAX_SEED

    # Without a maximum, 2**32 was taken and refused later: "seed must be between 0 and 4294967295".
    assert open_page(DATASET).number_input(key="curate_seed").max == MAX_SEED == 2**32 - 1
    assert open_page("pages/2_train.py").number_input(key="train_seed").max == MAX_SEED


def test_the_split_preview_says_the_train_page_decides_and_asks_for_two_classes_at_least(uploads_root):
    at = open_page(DATASET)
    assert "the Train page has the same settings, set there for each run" in texts(at.caption)
    assert at.number_input(key="curate_top_n").min == 2 == open_page("pages/2_train.py").number_input(key="train_top_n").min


def test_the_names_typed_in_the_upload_form_survive_a_look_at_another_source(uploads_root):
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("Trip 2026").run()
    at.radio(key="upload_how").set_value("Photos per class").run()
    at.text_input(key="upload_class_0").input("Old Bridge").run()
    at.radio(key="dataset_source").set_value("A folder on this computer").run()
    at.radio(key="dataset_source").set_value("Upload photos").run()
    assert_no_exception(at)
    # Were emptied: a widget that is not drawn for one run loses its state.
    assert at.text_input(key="upload_name").value == "Trip 2026"
    assert at.radio(key="upload_how").value == "Photos per class"
    assert at.text_input(key="upload_class_0").value == "Old Bridge"


def _staged(uploads_root: Path) -> list[str]:
    return sorted(p.name for p in (uploads_root / ".staging").glob("*/*/*.jpg"))


def test_photos_dropped_per_class_survive_hiding_the_form_and_go_once_the_dataset_is_made(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_name").input("pets").run()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [(f"c{i}.jpg", _jpeg(i)) for i in range(3)])
    at.text_input(key="upload_class_1").input("dog").run()
    drop(at, "Photos of class 2", [("d1.jpg", _jpeg(10)), ("d2.jpg", _jpeg(11))])
    assert "3 photos kept for cat" in texts(at.caption) and len(_staged(uploads_root)) == 5
    # Were lost in silence: an upload box forgets its files when it is not drawn.
    at.radio(key="dataset_source").set_value("A folder on this computer").run()  # another source
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.radio(key="upload_how").set_value("A zip of class folders").run()  # the other way of uploading
    at.radio(key="upload_how").set_value("Photos per class").run()
    at.switch_page("pages/2_train.py").run()  # another page
    at.switch_page(DATASET).run()
    at.radio(key="dataset_source").set_value("Upload photos").run()
    assert_no_exception(at)
    shown = texts(at.caption)
    assert "3 photos kept for cat" in shown and "2 photos kept for dog" in shown and "cat (3), dog (2)" in shown
    assert not [u for u in at.file_uploader if u.value]  # the boxes are empty again, ready for more
    drop(at, "Photos of class 1", [("c0 again.jpg", _jpeg(0)), ("c9.jpg", _jpeg(9))])  # one new, one the same file
    assert "4 photos kept for cat" in texts(at.caption) and "1 photo dropped again, kept once" in texts(at.warning)
    button(at, "Make the dataset").click().run()
    assert_no_exception(at)
    assert "2 classes, 6 photos" in texts(at.success)
    # The form is drawn again without them: it showed "4 photos kept for cat" and Make enabled, for a dataset made.
    assert "kept for" not in texts(at.caption) and button(at, "Make the dataset").disabled
    assert sorted(len(list(p.iterdir())) for p in (uploads_root / "pets").iterdir()) == [2, 4]
    assert not (uploads_root / ".staging").exists() or _staged(uploads_root) == []  # kept photos go with the build


def test_kept_photos_come_back_after_a_refresh_and_can_be_removed(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1)), ("c2.jpg", _jpeg(2))])
    button(at, "Add a class").click().run()
    at.text_input(key="upload_class_2").input("owl").run()
    drop(at, "Photos of class 3", [("o1.jpg", _jpeg(3))])
    again = _refreshed(at)  # a new session: it finds the photos through the key in the page's URL
    assert "Also kept: 3 photos dropped per class" in texts(again.caption)  # the other way of uploading is shown
    again.radio(key="upload_how").set_value("Photos per class").run()
    assert_no_exception(again)
    shown = texts(again.caption)  # the boxes and the names come back with the photos
    assert "2 photos kept for cat" in shown and "1 photo kept for owl" in shown and len(again.file_uploader) == 3
    for _ in range(2):
        button(again, "Remove them").click().run()
        assert_no_exception(again)
    assert "kept for" not in texts(again.caption) and _staged(uploads_root) == []


def test_a_zips_photos_survive_hiding_the_form(uploads_root):
    from conftest import zip_of

    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("trip").run()
    drop(at, "A zip", [("trip.zip", zip_of({"Gate/1.jpg": _jpeg(1), "Gate/2.jpg": _jpeg(2), "Tower/1.jpg": _jpeg(3),
                                             "Tower/notes.txt": b"notes"}))])
    at.radio(key="upload_how").set_value("Photos per class").run()
    at.radio(key="upload_how").set_value("A zip of class folders").run()
    assert_no_exception(at)
    assert "Gate (2), Tower (1)" in texts(at.caption) and "1 file that is not an image skipped" in texts(at.warning)
    button(at, "Make the dataset").click().run()
    assert "2 classes, 3 photos" in texts(at.success) and _staged(uploads_root) == []


def test_a_zip_a_full_disk_kept_from_being_kept_is_tried_again_once_there_is_room(uploads_root, monkeypatch):
    # It was marked handled and released: freeing space did nothing until the zip was removed and dropped again.
    from conftest import zip_of
    from glr.data import staging

    real, full = staging.write_bytes, [True]

    def write_bytes(path, data):
        if full:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(staging, "write_bytes", write_bytes)
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    drop(at, "A zip", [("trip.zip", zip_of({"Gate/1.jpg": _jpeg(1), "Tower/1.jpg": _jpeg(3)}))])
    assert_no_exception(at)
    assert "No space left on device" in texts(at.warning) + texts(at.error)
    full.clear()  # room again
    at.run()
    assert_no_exception(at)
    assert "Gate (1), Tower (1)" in texts(at.caption)


def test_a_one_class_dataset_is_said_to_be_no_classifiers_data(uploads_root, tmp_path, monkeypatch):
    from conftest import write_image

    for i in range(6):
        write_image(tmp_path / "one" / "Tower" / f"{i}.jpg", seed=i)
    monkeypatch.setenv("GLR_DATA", str(tmp_path / "one"))
    at = open_page(DATASET)
    assert metric(at, "Classes") == "1"  # still shown: the gallery and the sizes are worth a look
    # Was a preview of a one-class split, which the Train page then trained and failed.
    assert "only 1 class ('Tower') left to train on, and a classifier needs at least 2" in texts(at.error)


def test_two_classes_named_alike_are_said_to_be_one_class_before_the_dataset_is_made(uploads_root):
    at = _per_class_form()
    button(at, "Add a class").click().run()
    at.text_input(key="upload_name").input("trip").run()
    for i, (name, seed) in enumerate((("Tower", 1), ("tower", 3), ("Gate", 5))):
        at.text_input(key=f"upload_class_{i}").input(name).run()
        drop(at, f"Photos of class {i + 1}", [(f"{seed}.jpg", _jpeg(seed)), (f"{seed + 1}.jpg", _jpeg(seed + 1))])
    assert "Named like class 1: their photos make one class." in texts(at.warning)  # was silent
    button(at, "Make the dataset").click().run()
    assert_no_exception(at)
    assert "2 classes, 6 photos" in texts(at.success)  # were 3 classes, "Tower" and "tower"
    assert sorted(p.name for p in (uploads_root / "trip").iterdir()) == ["Gate", "Tower"]


def test_an_uploads_folder_that_is_a_file_is_named_when_photos_are_dropped(uploads_root, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("GLR_UPLOADS", str(tmp_path / "afile" / "uploads"))
    at = _per_class_form()
    at.text_input(key="upload_name").input("pets").run()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1))])
    assert_no_exception(at)  # was NotADirectoryError from Make the dataset
    assert f"{tmp_path / 'afile'} is a file, not a folder: no photo can be kept" in texts(at.warning)


def test_kept_photos_cleared_by_the_servers_cap_are_said_to_be_gone(uploads_root):
    from glr.data import staging

    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1))])
    assert staging.prune(uploads_root, keep=0)  # newer uploads of other sessions pushed it out
    at.run()
    assert_no_exception(at)
    assert "The photos kept in this form were cleared" in texts(at.warning) and "kept for cat" not in texts(at.caption)
    at.run()
    assert "were cleared" not in texts(at.warning)  # said once


def _refreshed(at):
    """The page opened again in a new session (a browser refresh) at the address `at` had, the upload form open."""
    from test_app_pages import new_app

    key = at.query_params["upload"]
    again = new_app()
    again.query_params["upload"] = key
    again.run().switch_page(DATASET).run()
    again.query_params["upload"] = key  # the URL the refreshed page was opened with
    again.radio(key="dataset_source").set_value("Upload photos").run()
    return again


def test_a_second_batch_dropped_while_the_first_is_checked_is_kept(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    shown = at._tree  # what the browser shows while the run keeping the first batch goes on
    box = drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1)), ("c2.jpg", _jpeg(2))], run=False)
    at.run()
    assert "2 photos kept for cat" in texts(at.caption)
    # The second batch lands on the box the browser showed then. The box had a new key once the first
    # batch was kept, so the second was dropped on a box no longer drawn: lost, in silence.
    at._tree = shown
    box._files = box._files + [(str(uuid.uuid4()), "c3.jpg", _jpeg(3), "image/jpeg")]
    at.run()
    assert_no_exception(at)
    assert "3 photos kept for cat" in texts(at.caption) and len(_staged(uploads_root)) == 3
    assert "dropped again" not in texts(at.warning)  # the first batch is not checked twice
    drop(at, "Photos of class 1", [("c4.jpg", _jpeg(4))])  # and one more, in the box as drawn now
    assert "4 photos kept for cat" in texts(at.caption) and not at.warning


def test_a_photo_taken_out_of_its_box_is_no_longer_kept(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1)), ("c2.jpg", _jpeg(2)), ("c3.jpg", _jpeg(3))])
    box = at.file_uploader[0]
    box._files = [(f.file_id, f.name, f.getvalue(), f.type) for f in box.value if f.name != "c2.jpg"]  # its ✕
    box.run()
    assert_no_exception(at)
    assert "2 photos kept for cat" in texts(at.caption) and len(_staged(uploads_root)) == 2
    from glr.data.staging import photo_name

    assert photo_name(_jpeg(2)) not in _staged(uploads_root)


def test_the_dataset_name_comes_back_after_a_refresh(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_name").input("Trip 2026").run()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1))])
    again = _refreshed(at)
    assert_no_exception(again)
    assert again.text_input(key="upload_name").value == "Trip 2026"  # was empty: only the classes came back
    again.text_input(key="upload_name").input("Trip 2027").run()
    from glr.data.staging import Staging

    assert Staging(again.query_params["upload"]).name() == "Trip 2027"  # the name typed last, for the next refresh


def test_a_class_named_so_it_cannot_be_a_folder_is_said_at_once_and_its_photos_stay(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_name").input("pets").run()
    at.text_input(key="upload_class_0").input("dog").run()
    drop(at, "Photos of class 1", [("d1.jpg", _jpeg(1))])
    drop(at, "Photos of class 2", [("c1.jpg", _jpeg(2)), ("c2.jpg", _jpeg(3))])
    # A longer name cannot be typed: the browser cuts it at 64 characters, a folder name's most.
    assert at.text_input(key="upload_class_1").max_chars == 64 == at.text_input(key="upload_name").max_chars
    for label, problem in [("   ", "the class has no name"), ("cats/dogs", "no '/'"), ("..", "not only dots")]:
        at.text_input(key="upload_class_1").input(label).run()
        assert_no_exception(at)
        warnings = texts(at.warning)
        assert "2 photos not in the dataset until the class is named again" in warnings and problem in warnings
    button(at, "Make the dataset").click().run()
    # Were skipped by Make with a message, and their kept photos deleted with the others.
    assert "1 class, 1 photo" in texts(at.success) and len(_staged(uploads_root)) == 2
    at.text_input(key="upload_class_1").input("cat").run()
    assert "cat (2)" in texts(at.caption)


def test_the_same_photo_dropped_into_two_classes_is_kept_in_the_first_only(uploads_root):
    at = _per_class_form()
    for i, name in enumerate(("Old Bridge", "Clock Tower")):
        at.text_input(key=f"upload_class_{i}").input(name).run()
        drop(at, f"Photos of class {i + 1}", [(f"{i}.jpg", _jpeg(i)), ("same.jpg", _jpeg(9))])
    assert "Clock Tower/same.jpg: the same photo is kept for 'Old Bridge' already" in texts(at.warning)
    assert "Old Bridge (2)" in texts(at.caption) and "Clock Tower (1)" in texts(at.caption)


def test_a_zip_taken_out_of_its_box_takes_its_photos_and_another_zip_replaces_them(uploads_root):
    from conftest import zip_of

    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    drop(at, "A zip", [("a.zip", zip_of({"Gate/1.jpg": _jpeg(1), "Tower/1.jpg": _jpeg(2)}))])
    assert "Gate (1), Tower (1)" in texts(at.caption)
    drop(at, "A zip", [("b.zip", zip_of({"Bridge/1.jpg": _jpeg(3), "Bridge/2.jpg": _jpeg(4), "Fort/1.jpg": _jpeg(5)}))])
    assert "Bridge (2), Fort (1)" in texts(at.caption) and len(_staged(uploads_root)) == 3  # the first zip's are gone
    at.file_uploader[0].clear().run()  # its ✕: the box shows the zip its photos came from
    assert_no_exception(at)
    assert "Kept, ready" not in texts(at.caption) and _staged(uploads_root) == []


def test_a_refresh_while_the_dataset_is_made_says_it_was_made(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_name").input("pets").run()
    for i, name in enumerate(("cat", "dog")):
        at.text_input(key=f"upload_class_{i}").input(name).run()
        drop(at, f"Photos of class {i + 1}", [(f"{i}.jpg", _jpeg(i))])
    again = _refreshed(at)  # opened while the first session makes the dataset
    button(at, "Make the dataset").click().run()
    again.run()
    assert_no_exception(again)
    # The photos were gone with no word of where: the dataset made was said only in the session that made it.
    assert f"Made {uploads_root / 'pets'}: 2 classes, 2 photos." in texts(again.success)
    button(again, "Use this dataset").click().run()
    assert metric(again, "Classes") == "2"
    assert "Made" not in texts(_refreshed(again).success)  # said until it is used

def test_kept_photos_leave_the_servers_memory_and_their_box_still_takes_one_out(uploads_root, monkeypatch):
    server = LikeAServer(monkeypatch)
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    server.drop(at, "Photos of class 1", [(f"c{i}.jpg", _jpeg(i)) for i in range(3)])
    assert "3 photos kept for cat" in texts(at.caption)
    # Were held until the session ended (a new key for the box freed nothing): 8-16 GB for 2,000 phone photos.
    assert server.held() == 0 and len(server.released) == 3
    values = at.session_state[at.file_uploader[0].id]  # what session state keeps of the box between runs
    assert len(values) == 3 and not any(f.getvalue() for f in values)
    at.text_input(key="upload_class_1").input("dog")
    server.run(at)  # the box lists 3 files Streamlit no longer holds: they were taken for removed
    assert_no_exception(at)
    assert "3 photos kept for cat" in texts(at.caption) and len(_staged(uploads_root)) == 3
    server.boxes["Photos of class 1"].pop(1)  # its ✕, on a file released
    server.run(at)
    assert "2 photos kept for cat" in texts(at.caption) and photo_name(_jpeg(1)) not in _staged(uploads_root)
    server.drop(at, "Photos of class 1", [("c9.jpg", _jpeg(9)), ("c0 again.jpg", _jpeg(0))])  # a second batch
    assert "3 photos kept for cat" in texts(at.caption) and "1 photo dropped again, kept once" in texts(at.warning)
    assert server.held() == 0


def test_a_refused_files_warning_goes_with_the_file(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1)), ("broken.jpg", b"not a photo"), ("c1 again.jpg", _jpeg(1))])
    assert "cat/broken.jpg" in texts(at.warning) and "1 photo dropped again, kept once" in texts(at.warning)
    box = at.file_uploader[0]
    box._files = [(f.file_id, f.name, f.getvalue(), f.type) for f in box.value if f.name != "broken.jpg"]  # its ✕
    box.run()
    assert_no_exception(at)
    # Stayed until the class's photos were all removed. The other file's message stays with it.
    assert "broken.jpg" not in texts(at.warning) and "1 photo dropped again, kept once" in texts(at.warning)
    assert "1 photo kept for cat" in texts(at.caption)


def test_class_names_typed_before_their_photos_come_back_after_a_refresh(uploads_root):
    at = _per_class_form()
    button(at, "Add a class").click().run()
    at.text_input(key="upload_class_0").input("cat").run()
    at.text_input(key="upload_class_2").input("owl").run()  # no photo of owls yet
    assert not (uploads_root / ".staging").exists()  # no photo kept: no staging place taken from other sessions
    drop(at, "Photos of class 1", [("c1.jpg", _jpeg(1))])
    at.text_input(key="upload_class_2").input("barn owl").run()
    again = _refreshed(at)
    again.radio(key="upload_how").set_value("Photos per class").run()
    assert_no_exception(again)
    # Was "" with 2 boxes: only a class with photos came back named.
    assert len(again.file_uploader) == 3 and again.text_input(key="upload_class_2").value == "barn owl"
    assert again.text_input(key="upload_class_0").value == "cat"


def test_one_kept_photo_can_be_seen_and_removed_after_a_refresh(uploads_root):
    at = _per_class_form()
    at.text_input(key="upload_class_0").input("cat").run()
    drop(at, "Photos of class 1", [(f"IMG_{i}.jpg", _jpeg(i)) for i in range(3)])
    assert not at.expander  # each listed in its box, with its ✕
    again = _refreshed(at)
    again.radio(key="upload_how").set_value("Photos per class").run()
    assert "3 photos kept earlier: see or remove one" in [e.label for e in again.expander]
    pick = again.multiselect(key="upload_pick_class-0_3")
    assert pick.options == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]  # the names dropped, not the names kept under
    pick.select(photo_name(_jpeg(1))).run()
    shown = [img.caption for element in again.get("image") for img in element.proto.imgs]
    assert "IMG\\_1.jpg" in shown and "IMG\\_0.jpg" not in shown  # a thumbnail of the photo picked (its caption Markdown)
    button(again, "Remove 1 photo").click().run()
    assert_no_exception(again)
    assert "2 photos kept for cat" in texts(again.caption)
    assert sorted(_staged(uploads_root)) == sorted([photo_name(_jpeg(0)), photo_name(_jpeg(2))])


def test_a_rerun_of_the_dataset_page_looks_at_the_dataset_folders_once(uploads_root, tmp_path, monkeypatch):
    # Every look stats each class folder (30-50 ms at 10,000 of them), and a rerun of this page looked 5 times.
    from conftest import make_gldv2
    from glr.data import browse

    data = make_gldv2(tmp_path / "looked", {1: 4, 2: 4, 3: 4})
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    looks = []
    real = browse._stamp
    monkeypatch.setattr(browse, "_stamp", lambda root: looks.append(str(root)) or real(root))
    at.run()
    assert_no_exception(at)
    assert looks.count(str(data)) == 1, looks


def test_the_gallerys_photos_name_their_landmark_to_a_screen_reader(uploads_root, tmp_path):
    # A screen reader read each gallery photo as "image": Streamlit sets no alt text unless asked.
    from conftest import make_gldv2
    from test_app_pages import alt_texts

    data = make_gldv2(tmp_path / "gallery", {1: 2, 2: 2}, {1: "Big_Ben", 2: "Red_Fort"})
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    alts = alt_texts(at)
    assert sorted(set(alts)) == ["A photo of Big Ben", "A photo of Red Fort"], alts


def test_only_the_split_imports_sklearn_for_the_dataset_page_and_inspect(gldv2):
    import re
    import subprocess
    import sys

    # sklearn costs 2-4 s to import, cold: the page's glr modules, inspect's, reading the catalog, its class index
    # and the curated rows take none of it. Only the split does (the page and inspect show its train/val counts).
    page = (Path(__file__).resolve().parents[1] / "pages" / "1_dataset.py").read_text()
    imports = re.findall(r"^(?:from|import) glr\b.*$", page, re.MULTILINE)
    assert len(imports) >= 5, imports
    code = "\n".join([
        "import sys", *imports, "import glr.commands, glr.inspect_command, glr.data.usable",
        f"catalog = datasets.load_catalog({str(gldv2)!r})",
        "index = ClassIndex(catalog); index.summary(); index.page('', 1, 8, 3)",
        "datasets.curated_rows(catalog, top_n=3)",
        "print('sklearn' in sys.modules)",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out == ["False"]


def test_a_folder_of_empty_photos_is_no_dataset_without_problems(uploads_root, tmp_path):
    # Every photo 0 bytes: "No problems found: every listed image exists ..." beside "None of the 6 sampled images
    # could be read", and Start made a run that failed on "no training photo left".
    data = tmp_path / "empty photos"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        for i in range(3):
            (data / name / f"{i}.jpg").write_bytes(b"")
    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(str(data)).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    assert "No problems found" not in texts(at.success)
    said = texts(at.warning)
    assert "6 of the 6 images sampled could not be read (e.g. " in said and "training leaves such photos out" in said


def test_a_path_with_a_nul_character_is_said_on_every_page(uploads_root, tmp_path):
    # "embedded null byte" (ValueError from os.stat) on the Dataset page, then on Train and Home in the same session.
    from test_app_pages import TRAIN

    at = open_page(DATASET)
    at.text_input(key="dataset_path").input(f"{tmp_path}/da\x00ta").run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    assert "holds a NUL character" in texts(at.error)
    for page in (TRAIN, "app.py"):
        at.switch_page(page).run()
        assert_no_exception(at)


def test_a_zips_folder_names_that_cannot_be_classes_are_said_before_make(uploads_root):
    # "Kept, ready for the dataset: CON (3), Good One (3)": CON was refused only by Make, its photos skipped then.
    def zipped(classes):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for c, name in enumerate(classes):
                for i in range(3):
                    zf.writestr(f"{name}/{i}.jpg", _jpeg(10 * c + i))
        return buffer.getvalue()

    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("odd names").run()
    drop(at, "A zip", [("odd.zip", zipped(["Good One", "CON", "Good Two"]))])
    assert_no_exception(at)
    assert "Kept, ready for the dataset: Good One (3), Good Two (3)" in texts(at.caption)
    assert ("a name Windows cannot give a folder" in texts(at.warning)
            and "Its 3 photos will be left out of the dataset: rename that folder in the zip" in texts(at.warning))
    assert not button(at, "Make the dataset").disabled
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("all odd").run()
    drop(at, "A zip", [("odd.zip", zipped(["CON", "a|b"]))])
    assert "Kept, ready" not in texts(at.caption) and button(at, "Make the dataset").disabled


def test_a_zips_folders_that_make_one_class_are_said_before_make(uploads_root):
    # "Kept, ready for the dataset: Tower (1), tower (1)": two classes listed, one made, said only after Make.
    from conftest import zip_of

    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("Upload photos").run()
    at.text_input(key="upload_name").input("cased").run()
    drop(at, "A zip", [("cased.zip", zip_of({"Tower/1.jpg": _jpeg(1), "tower/2.jpg": _jpeg(2), "Gate/1.jpg": _jpeg(3),
                                             "Old Bridge/1.jpg": _jpeg(4), "Old_Bridge/2.jpg": _jpeg(5)}))])
    assert_no_exception(at)
    said = [w for w in texts(at.warning).splitlines() if "name the same folder" in w]
    assert len(said) == 2 and any("Tower and tower" in w for w in said)
    assert any("Old Bridge and Old_Bridge" in w for w in said)
