"""glr.data.usable: photos left out after decoding, validation copies of training photos, classes left untrained."""

import re

import numpy as np
import pandas as pd
import pytest

from glr.data.usable import copies_message, copies_of_training, usable_photos
from glr.errors import DatasetError

LABELS = pd.DataFrame({"index": [0, 1, 2], "name": ["Alpha", "Beta", "Gamma"]})


def test_only_exact_copies_of_training_photos_are_marked():
    mask = copies_of_training(["aa", "bb", ""], ["bb", "cc", "", "aa"])
    assert mask.tolist() == [True, False, False, True]  # an unreadable file ("" digest) matches nothing


def test_copies_leave_validation_with_a_message(tmp_path):
    train = pd.DataFrame({"path": [str(tmp_path / "a" / "1.jpg"), str(tmp_path / "c" / "9.jpg")], "label": [0, 2]})
    val = pd.DataFrame({"path": [str(tmp_path / "a" / "2.jpg"), str(tmp_path / "b" / "3.jpg")], "label": [0, 1]})
    ok = np.ones(2, bool)
    train_ok, val_ok, problems = usable_photos(train, val, {"train": ["d1", "d9"], "val": ["d1", "d3"]}, ok, ok,
                                               LABELS, tmp_path)
    assert train_ok.tolist() == [True, True] and val_ok.tolist() == [False, True]
    assert problems == ["left out of validation 1 photo identical to a training photo (the same file twice), "
                        "so it does not inflate its score (e.g. 'a/2.jpg')",
                        "no training photo left for 1 class (e.g. 'Beta'): the model cannot learn to recognise it"]


def test_no_validation_or_training_photo_left_stops_before_any_epoch(tmp_path):
    # Every class of two photos saved twice: all of validation left out as copies. Training ran its
    # epochs on an empty validation set (val_acc 0.000), then failed with an IndexError when scoring.
    train = pd.DataFrame({"path": [str(tmp_path / c / "0.jpg") for c in "abc"], "label": [0, 1, 2]})
    val = pd.DataFrame({"path": [str(tmp_path / c / "1.jpg") for c in "abc"], "label": [0, 1, 2]})
    ok = np.ones(3, bool)
    with pytest.raises(DatasetError, match=re.escape(
            "no validation photo left to score the model on: left out of validation 3 photos identical to a training "
            "photo (the same file twice), so they do not inflate its score (e.g. 'a/1.jpg', 'b/1.jpg', 'c/1.jpg'). "
            "Each class needs at least two different photos that decode")):
        usable_photos(train, val, {"train": ["da", "db", "dc"], "val": ["da", "db", "dc"]}, ok, ok, LABELS, tmp_path)
    with pytest.raises(DatasetError, match="^no training photo left: left out 3 images that could not be decoded"):
        usable_photos(train, val, {"train": ["da", "db", "dc"], "val": ["va", "vb", "vc"]}, ~ok, ok, LABELS, tmp_path)


def test_a_copy_of_a_photo_that_did_not_decode_is_no_copy(tmp_path):
    # Broken files are often byte-identical: they are reported as broken, not as copies.
    (tmp_path / "g").mkdir()
    for name in ("0.jpg", "1.jpg"):
        (tmp_path / "g" / name).write_bytes(b"\xff\xd8 broken")
    train = pd.DataFrame({"path": [str(tmp_path / "g" / "0.jpg"), "x.jpg", "y.jpg"], "label": [2, 0, 1]})
    val = pd.DataFrame({"path": [str(tmp_path / "g" / "1.jpg"), "z.jpg"], "label": [2, 0]})
    train_ok, val_ok, problems = usable_photos(train, val, {"train": ["dg", "dx", "dy"], "val": ["dg", "dz"]},
                                               np.array([False, True, True]), np.array([False, True]), LABELS, tmp_path)
    assert val_ok.tolist() == [False, True]
    assert problems == ["left out 2 images that could not be decoded (e.g. 'g/0.jpg', 'g/1.jpg')",
                        "why 'g/0.jpg' did not decode: not an image, or a format glr cannot read (use JPEG, PNG, WebP, "
                        "HEIC, AVIF, GIF, BMP, TIFF or ICO)",
                        "no training photo left for 1 class (e.g. 'Gamma'): the model cannot learn to recognise it"]


def test_photos_a_clone_left_as_git_lfs_pointers_say_so_when_training_stops(tmp_path):
    # A dataset cloned without `git lfs pull`: every .jpg a 130-byte pointer. Training stopped with "left out 4
    # images that could not be decoded" and no word of why.
    pointer = (b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5"
               b"e2ca24d17e2393\nsize 48213\n")
    paths = []
    for c in "ab":
        for i in range(2):
            (tmp_path / c).mkdir(exist_ok=True)
            (tmp_path / c / f"{i}.jpg").write_bytes(pointer)
            paths.append(str(tmp_path / c / f"{i}.jpg"))
    train = pd.DataFrame({"path": paths[0::2], "label": [0, 1]})
    val = pd.DataFrame({"path": paths[1::2], "label": [0, 1]})
    bad = np.zeros(2, bool)
    with pytest.raises(DatasetError, match=re.escape(
            "why 'a/0.jpg' did not decode: a Git LFS pointer, not the photo (the repository was cloned without its "
            "LFS files); run `git lfs pull` in it")):
        usable_photos(train, val, {"train": ["", ""], "val": ["", ""]}, bad, bad, LABELS, tmp_path)


def test_nothing_to_say_when_every_photo_is_usable():
    train = pd.DataFrame({"path": ["a.jpg", "b.jpg", "c.jpg"], "label": [0, 1, 2]})
    val = pd.DataFrame({"path": ["d.jpg"], "label": [0]})
    ok3, ok1 = np.ones(3, bool), np.ones(1, bool)
    assert usable_photos(train, val, {"train": ["a", "b", "c"], "val": ["d"]}, ok3, ok1, LABELS, None)[2] == []
    assert copies_message(val, np.zeros(1, bool), None) == ""


def test_images_left_out_are_told_apart_broken_from_blank(tmp_path):
    from PIL import Image

    from glr.data.usable import undecodable_message

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    Image.new("RGB", (40, 30), (10, 10, 10)).save(tmp_path / "a" / "dark.jpg")
    Image.new("RGB", (40, 30), (200, 0, 0)).save(tmp_path / "a" / "red.png")
    paths = [str(tmp_path / "a" / n) for n in ("broken.jpg", "dark.jpg", "red.png")]
    assert undecodable_message(paths, tmp_path) == (
        "left out 1 image that could not be decoded (e.g. 'a/broken.jpg'); "
        "left out 2 blank images, one flat colour with nothing to learn from (e.g. 'a/dark.jpg', 'a/red.png')")
    assert undecodable_message(paths[:1], tmp_path) == "left out 1 image that could not be decoded (e.g. 'a/broken.jpg')"


def test_a_resized_copy_of_a_training_photo_leaves_validation_with_a_message(tmp_path):
    from PIL import Image
    from skimage import data as samples

    from glr.data.near_copies import HashStore

    (tmp_path / "a").mkdir()
    photo = Image.fromarray(samples.astronaut())
    photo.save(tmp_path / "a" / "1.jpg")
    photo.resize((200, 200)).save(tmp_path / "a" / "2.jpg", quality=60)  # the same picture, smaller
    Image.fromarray(samples.coffee()).save(tmp_path / "a" / "3.jpg")  # another photo of the class
    train = pd.DataFrame({"path": [str(tmp_path / "a" / "1.jpg")], "label": [0]})
    val = pd.DataFrame({"path": [str(tmp_path / "a" / n) for n in ("2.jpg", "3.jpg")], "label": [0, 0]})
    labels = LABELS.iloc[:1]
    train_ok, val_ok, problems = usable_photos(train, val, {"train": ["d1"], "val": ["d2", "d3"]}, np.ones(1, bool),
                                               np.ones(2, bool), labels, tmp_path, HashStore(tmp_path / "hashes"))
    assert val_ok.tolist() == [False, True]
    assert problems == ["left out of validation 1 photo that is a near-copy of a training photo of the same "
                        "landmark (resized, re-encoded or recoloured), so it does not inflate its score (e.g. 'a/2.jpg')"]


def test_a_photo_copied_into_two_classes_is_left_out_of_both_and_named(tmp_path):
    # The same file in Alpha/ and Gamma/ (dragged into the wrong folder as a copy): it was trained as both
    # landmarks, or scored as one against a model taught it is the other.
    train = pd.DataFrame({"path": [str(tmp_path / "a" / "x.jpg"), str(tmp_path / "a" / "1.jpg"),
                                   str(tmp_path / "c" / "9.jpg")], "label": [0, 0, 2]})
    val = pd.DataFrame({"path": [str(tmp_path / "c" / "x.jpg"), str(tmp_path / "b" / "3.jpg")], "label": [2, 1]})
    ok = np.ones(3, bool)
    train_ok, val_ok, problems = usable_photos(train, val, {"train": ["dx", "d1", "d9"], "val": ["dx", "d3"]},
                                               ok, np.ones(2, bool), LABELS, tmp_path)
    assert train_ok.tolist() == [False, True, True] and val_ok.tolist() == [False, True]
    assert problems[0] == ("left out 2 photos whose file is in more than one class (e.g. 'a/x.jpg', 'c/x.jpg'): "
                           "which landmark it shows is unknown; keep each photo in its own class's folder only")


def test_a_photo_in_two_landmarks_of_a_train_csv_says_what_to_do_in_train_csv(tmp_path):
    # GLDv2 holds the same photo under two ids of two landmarks; "keep each photo in its own class's folder only"
    # said to move a file in a dataset that has no class folders.
    (tmp_path / "train.csv").write_text("id,landmark_id\n")
    train = pd.DataFrame({"path": [str(tmp_path / f"train/a/b/{c}/{c}1.jpg") for c in "cdef"], "label": [0, 1, 0, 1]})
    val = pd.DataFrame({"path": [str(tmp_path / "train/f/f/f/fff1.jpg")], "label": [0]})
    _, _, problems = usable_photos(train, val, {"train": ["dx", "dx", "d1", "d2"], "val": ["d3"]}, np.ones(4, bool),
                                   np.ones(1, bool), LABELS.iloc[:2], tmp_path)
    assert problems[0].endswith("which landmark it shows is unknown; keep one of its rows in train.csv, "
                                "under the landmark it shows")


def test_a_sample_of_photos_that_do_not_decode_is_said_before_training(tmp_path):
    # `inspect` said "problems none" of a folder of 10,000 files of which 10 decode; training found out a minute
    # later. A seeded sample of the curated photos is decoded to say it at once.
    from glr.data.usable import undecodable_sample
    from conftest import write_image

    paths = []
    for i in range(30):
        path = tmp_path / "A" / f"{i}.jpg"
        path.parent.mkdir(exist_ok=True)
        if i < 3:
            write_image(path, seed=i)
        else:
            path.write_bytes(b"<html>login</html>" if i % 2 else b"\0" * 10)
        paths.append(str(path))
    note = undecodable_sample(paths, tmp_path, size=10)
    assert note.startswith("photos that do not decode: ") and " of 10 sampled at random (e.g. 'A/" in note
    assert note.endswith("training leaves such photos out; the counts above include them")
    assert undecodable_sample(paths[:3], tmp_path, size=10) is None
