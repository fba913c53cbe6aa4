"""glr.data.kept_uploads: what the Predict page keeps of an upload once its bytes are released."""

import io

import numpy as np
import pytest
from PIL import Image

from glr.data import kept_uploads


def _encoded(array, fmt="JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def _scene(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1).astype(np.uint8)


@pytest.mark.parametrize("shape, expected", [
    ((3000, 4000), (960, 720)),  # a 12 MP phone photo: its shorter side at 720
    ((720, 960), (960, 720)),  # never enlarged
    ((1, 1), (1, 1)),
    ((200, 30000), (8192, 55)),  # a panorama: its longer side capped too
    ((1, 70000), (8192, 1)),  # wider than a JPEG can be (65,535 px): was an exception on the Predict page
])
def test_the_copy_kept_is_small_and_never_enlarged(shape, expected):
    data = _encoded(_scene(*shape), "PNG")
    copy = kept_uploads.small_copy("x.png", data)
    assert copy is not None and _size(copy) == expected


def test_the_copy_is_upright_and_an_undecodable_file_has_none():
    photo = _scene(300, 400)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view: a phone photo taken upright
    assert _size(kept_uploads.small_copy("turned.jpg", _encoded(photo, exif=exif))) == (300, 400)
    assert kept_uploads.small_copy("fake.jpg", b"not an image") is None


def test_a_gif_of_500_frames_keeps_its_first_frame():
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).convert("P") for _ in range(500)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    copy = kept_uploads.small_copy("anim.gif", buffer.getvalue())
    assert _size(copy) == (64, 48) and len(copy) < len(buffer.getvalue()) / 100


def test_a_prediction_at_the_largest_settings_sliced_is_the_prediction_at_smaller_ones(finished_run):
    from glr.predict import Predictor

    predictor = Predictor(finished_run)
    photos = list(finished_run.predictions()["path"].iloc[:3])
    full = predictor.predict(photos, k=kept_uploads.MAX_K, similar=kept_uploads.MAX_SIMILAR)
    for k, similar in [(1, 0), (2, 3), (5, 6)]:
        assert [kept_uploads.shown(p, k, similar) for p in full] == predictor.predict(photos, k=k, similar=similar)


def test_unique_keeps_the_first_name_and_never_merges_empty_files():
    items = [("a.jpg", "d1", 5), ("b.jpg", "d1", 5), ("e1.jpg", "d0", 0), ("e2.jpg", "d0", 0)]
    kept, repeats = kept_uploads.unique(items, lambda i: i[1], lambda i: i[2])
    assert [i[0] for i in kept] == ["a.jpg", "e1.jpg", "e2.jpg"] and repeats == [("b.jpg", "a.jpg")]


def test_a_kept_copy_converts_the_colours_of_its_own_pixels_only(monkeypatch):
    # A kept upload's small copy of a 12 MP Display P3 photo converted all 12 million pixels to sRGB, then shrank
    # them: now it shrinks first, as training and prediction do.
    from conftest import colour_conversions, display_p3_png
    from glr.data.images import decode_image

    png = display_p3_png()
    converted = colour_conversions(monkeypatch)
    copy = Image.open(io.BytesIO(kept_uploads.small_copy("p3.png", png, side=16)))
    assert copy.size == (21, 16)
    assert converted == [(21, 16)]
    shown = decode_image(png)[0, 0].astype(int)
    assert np.abs(np.asarray(copy).astype(int) - shown).max() <= 3  # a JPEG of one colour
