"""glr.thumbnails: small JPEGs of image files, made once and read back from the disk cache by any process."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from conftest import write_image
from glr import thumbnails


@pytest.fixture
def cache(monkeypatch, tmp_path):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GLR_CACHE_DIR", str(folder))
    return folder


def test_a_thumbnail_is_a_small_square_jpeg_kept_on_disk_and_read_back(cache, tmp_path, monkeypatch):
    photo = tmp_path / "a.jpg"
    write_image(photo, seed=1, size=200)
    data = thumbnails.thumbnail(photo, 40)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (40, 40)
    assert thumbnails.cache_file(photo, 40).read_bytes() == data

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(thumbnails, "_make", no_decoding)
    assert thumbnails.thumbnail(photo, 40) == data  # from the disk cache, not decoded again


def test_a_thumbnail_cut_short_on_disk_is_made_again(cache, tmp_path):
    # The cache's writes are not fsynced: after a crash a thumbnail may be empty or cut short.
    photo = tmp_path / "a.jpg"
    write_image(photo, seed=1, size=64)
    whole = thumbnails.thumbnail(photo, 32)
    where = thumbnails.cache_file(photo, 32)
    for damaged in (b"", whole[: len(whole) // 2]):
        where.write_bytes(damaged)
        assert thumbnails.thumbnail(photo, 32) == whole
        assert where.read_bytes() == whole  # and kept whole again


def test_a_photo_replaced_on_disk_gets_a_new_thumbnail(cache, tmp_path):
    photo = tmp_path / "a.jpg"
    write_image(photo, seed=1, size=64)
    before = thumbnails.thumbnail(photo, 32)
    where = thumbnails.cache_file(photo, 32)
    write_image(photo, seed=2, size=80, colour_seed=7)
    os.utime(photo, ns=(1, 10**18))  # a different modification time, whatever the clock's resolution
    assert thumbnails.cache_file(photo, 32) != where
    assert thumbnails.thumbnail(photo, 32) != before
    assert thumbnails.cache_file(photo, 40) != thumbnails.cache_file(photo, 32)  # each size its own


def test_what_cannot_be_decoded_gives_none_and_nothing_is_kept(cache, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"%PDF-1.4 not a photo")
    assert thumbnails.thumbnail(bad, 32) is None
    assert not thumbnails.cache_file(bad, 32).exists()
    assert thumbnails.thumbnail(tmp_path / "missing.jpg", 32) is None
    assert thumbnails.cache_file(tmp_path / "missing.jpg") is None


def test_a_cache_that_cannot_be_written_still_gives_the_thumbnail(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GLR_CACHE_DIR", str(blocker))
    photo = tmp_path / "a.jpg"
    write_image(photo, seed=3, size=64)
    assert thumbnails.thumbnail(photo, 32)[:2] == b"\xff\xd8"  # a JPEG, made again on each call


def test_make_thumbnails_makes_the_missing_ones_up_to_the_limit(cache, tmp_path):
    photos = []
    for i in range(5):
        photos.append(tmp_path / f"{i}.jpg")
        write_image(photos[-1], seed=i, size=48)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    assert thumbnails.make_thumbnails(photos[:2], size=24) == 2
    assert thumbnails.make_thumbnails(photos + [bad], size=24) == 3  # the 2 made already are skipped, bad is not made
    assert all(thumbnails.cache_file(p, 24).is_file() for p in photos)
    assert thumbnails.make_thumbnails(photos, size=16, limit=2) == 2
    assert [thumbnails.cache_file(p, 16).is_file() for p in photos] == [True, True, False, False, False]


def test_the_end_of_training_made_the_thumbnails_of_the_indexed_photos(finished_run):
    from glr.retrieval.index import EmbeddingIndex

    paths = EmbeddingIndex.load(finished_run.index_dir).items["path"].tolist()
    assert paths and all(thumbnails.cache_file(p).is_file() for p in paths)


def test_a_photo_with_exif_rotation_gets_an_upright_thumbnail_as_the_prediction_sees_it(cache, tmp_path):
    # A phone photo stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view):
    # its thumbnail is upright, red on top, as glr.predict.eval_view sees it.
    import numpy as np

    from glr.predict import eval_view

    stored = np.zeros((60, 120, 3), np.uint8)
    stored[:, :60], stored[:, 60:] = (255, 0, 0), (0, 0, 255)  # red left, blue right as stored
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif.tobytes())
    with Image.open(io.BytesIO(thumbnails.thumbnail(tmp_path / "phone.jpg", 40))) as image:
        thumb = np.asarray(image.convert("RGB"), np.float32)
    view = eval_view(str(tmp_path / "phone.jpg"), 32).astype(np.float32)
    for upright in (thumb, view):
        assert upright[:5, :, 0].mean() > 200 > upright[:5, :, 2].mean()  # red on top
        assert upright[-5:, :, 2].mean() > 200 > upright[-5:, :, 0].mean()  # blue at the bottom


def test_make_thumbnails_stops_at_a_cache_folder_that_cannot_be_written(cache, tmp_path, monkeypatch):
    # The end of training makes up to 20,000 thumbnails; on a read-only cache folder each was decoded
    # (about 3 ms) and thrown away. Now the first refused write ends it: none is kept, none is counted.
    import errno

    real_replace = os.replace

    def read_only(src, dst, *a, **k):
        if str(dst).startswith(str(cache)):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real_replace(src, dst, *a, **k)

    photos = []
    for i in range(6):
        photos.append(tmp_path / f"{i}.jpg")
        write_image(photos[-1], seed=i, size=48)
    made = []
    real_make = thumbnails._make
    monkeypatch.setattr(thumbnails, "_make", lambda *a: made.append(a) or real_make(*a))
    monkeypatch.setattr(os, "replace", read_only)
    assert thumbnails.make_thumbnails(photos, size=24, workers=1) == 0
    assert len(made) == 1
    assert thumbnails.thumbnail(photos[0], 24)[:2] == b"\xff\xd8"  # a photo asked for is still shown
