"""glr.data.name_forms: a photo named in another Unicode form than its id (a Mac's NFD) is found."""

import os
import unicodedata

import pandas as pd

from glr.data.name_forms import twin_paths

NFC, NFD = "caf\u00e9", "cafe\u0301"
EXTENSIONS = (".jpg", ".jpeg", ".png")


def test_a_photo_saved_by_a_mac_is_found_for_an_id_typed_elsewhere_and_the_reverse(tmp_path):
    (tmp_path / f"{NFD}.jpg").write_bytes(b"x")
    (tmp_path / f"{NFC} 2.jpg").write_bytes(b"x")
    asked = pd.Series([f"{tmp_path}/{NFC}.jpg", f"{tmp_path}/{unicodedata.normalize('NFD', NFC + ' 2')}.jpg",
                       f"{tmp_path}/th\u00e9.jpg"], index=[5, 6, 7])
    found = twin_paths(asked, EXTENSIONS)
    assert found.index.tolist() == [5, 6, 7]
    assert found.tolist() == [f"{tmp_path}/{NFD}.jpg", f"{tmp_path}/{NFC} 2.jpg", f"{tmp_path}/th\u00e9.jpg"]
    assert all(os.path.isfile(p) for p in found[:2])


def test_another_extension_and_a_folder_in_another_form_are_found_too(tmp_path):
    folder = tmp_path / "images" / unicodedata.normalize("NFD", "K\u00f6ln")
    folder.mkdir(parents=True)
    (folder / f"{NFD}.PNG").write_bytes(b"x")
    (folder / f"{NFD}.jpg").write_bytes(b"x")
    (folder / f"{NFD}.txt").write_bytes(b"x")
    found = twin_paths(pd.Series([f"{tmp_path}/images/K\u00f6ln/{NFC}.jpeg"]), EXTENSIONS)
    assert found.tolist() == [f"{folder}/{NFD}.jpg"]  # GLDv2's .jpg first
    assert twin_paths(pd.Series([f"{tmp_path}/images/K\u00f6ln/{NFC}.gif"]), ()).tolist() == [
        f"{tmp_path}/images/K\u00f6ln/{NFC}.gif"]  # no extension allowed: as it was


def test_ascii_paths_are_not_looked_at(tmp_path, monkeypatch):
    # GLDv2's ids are ASCII: no other Unicode form, so not a folder is listed however many photos are missing.
    monkeypatch.setattr(os, "listdir", lambda *_: (_ for _ in ()).throw(AssertionError("listed")))
    asked = pd.Series([f"{tmp_path}/train/0/1/2/{i:016x}.jpg" for i in range(1000)])
    assert twin_paths(asked, EXTENSIONS).tolist() == asked.tolist()
    assert twin_paths(pd.Series([], dtype=object)).empty
