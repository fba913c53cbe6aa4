"""Spatial verification: SIFT + RANSAC inliers, the local-feature store, the match drawing."""

import numpy as np
import pytest
from PIL import Image

from glr.demo.dataset import demo_classes
from glr.demo.scenes import render_photo
from glr.errors import GlrError
from glr.retrieval.verify import (
    STORE_FILE, LocalFeatureStore, Verifier, draw_matches, draw_training_match, extract, match, verification_score,
)


@pytest.fixture(scope="module")
def photos():
    """Two demo photos of two different landmarks, drawn at 480 px."""
    classes = demo_classes()
    return [np.asarray(render_photo(classes[i], np.random.default_rng(i), width=480)) for i in (0, 1)]


def crops(photo):
    """Two overlapping crops of one photo, the second also shrunk: the same scene seen twice."""
    h, w = photo.shape[:2]
    a = photo[: int(h * 0.8), : int(w * 0.8)]
    b = Image.fromarray(photo[int(h * 0.15):, int(w * 0.15):])
    return a, np.asarray(b.resize((int(b.width * 0.8), int(b.height * 0.8))))


def test_two_crops_of_one_photo_share_many_inliers(photos):
    a, b = crops(photos[0])
    inliers, pairs = match(extract(a), extract(b))
    assert inliers >= 30
    assert pairs.shape == (inliers, 4)
    # The inliers map a point of crop a to crop b: (x, y) -> ((x - 0.15 w) * 0.8, (y - 0.15 h) * 0.8).
    h, w = photos[0].shape[:2]
    expected = np.c_[(pairs[:, 0] - int(w * 0.15)) * 0.8, (pairs[:, 1] - int(h * 0.15)) * 0.8]
    assert np.median(np.abs(expected - pairs[:, 2:])) < 3


def test_two_different_landmarks_share_few(photos):
    same, _ = match(*(extract(c) for c in crops(photos[0])))
    other, _ = match(extract(crops(photos[0])[0]), extract(crops(photos[1])[1]))
    assert other < 15
    assert other * 3 < same
    assert verification_score([other])[0] < 0.5 < verification_score([same])[0]


def test_store_round_trip_and_verifier(photos, tmp_path):
    (a, b), (c, d) = crops(photos[0]), crops(photos[1])
    store = LocalFeatureStore.build([b, d])
    store.save(tmp_path)
    loaded = LocalFeatureStore.load(tmp_path)
    assert len(loaded) == 2
    assert np.array_equal(loaded[0].descriptors, store[0].descriptors)
    counts = Verifier(loaded, k=2).inliers([a, c], np.array([[0, 1], [0, 1]]))
    assert counts[0, 0] > counts[0, 1] and counts[1, 1] > counts[1, 0]


def test_unreadable_photo_gets_no_features_and_damaged_store_is_named(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    store = LocalFeatureStore.build([bad])
    assert len(store[0]) == 0
    (tmp_path / "idx").mkdir()
    with pytest.raises(GlrError, match="missing"):
        LocalFeatureStore.load(tmp_path / "idx")
    (tmp_path / "idx" / STORE_FILE).write_bytes(b"garbage")
    with pytest.raises(GlrError, match="damaged"):
        LocalFeatureStore.load(tmp_path / "idx")


def test_draw_matches_returns_an_image(photos):
    a, b = crops(photos[0])
    image, count = draw_matches(a, b)
    assert isinstance(image, Image.Image) and count >= 30
    assert image.width > image.height


def test_matched_points_land_where_they_were_found_on_a_large_jpeg(tmp_path):
    # A phone-sized JPEG decodes at a reduced size for its features; the picture shown must be that decode,
    # or every line lands in its top-left corner. Its small copy shows the same scene: a match joins the same
    # spot in both, at the same relative position.
    from skimage import data as samples

    from glr.retrieval.verify import match_lines

    scene = Image.fromarray(samples.astronaut())
    scene.resize((2048, 2048), Image.Resampling.BICUBIC).save(tmp_path / "large.jpg", quality=92)
    scene.resize((400, 400)).save(tmp_path / "small.jpg", quality=92)
    images, lines, count = match_lines(tmp_path / "large.jpg", tmp_path / "small.jpg")
    assert count >= 20
    width0, width1 = images[0].width, images[1].width
    offsets = [abs(x0 / width0 - (x1 - width0) / width1) + abs(y0 / images[0].height - y1 / images[1].height)
               for x0, y0, x1, y1 in lines]
    assert np.median(offsets) < 0.02, np.median(offsets)


def test_a_panorama_strip_is_verified_not_a_crash(photos):
    # A 10000x10 strip's short side rounded to 0 pixels when shrunk to 480: OpenCV's resize
    # raised cv2.error, which crashed the prediction of any such photo on a run with --verify.
    for shape in ((10, 10000, 3), (10000, 10, 3)):
        strip = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
        features = extract(strip)
        assert features.scale == pytest.approx(10000 / 480) and len(features.points) == len(features.descriptors)
        store = LocalFeatureStore([extract(photos[0])])
        assert Verifier(store).inliers([strip], np.array([[0]])).shape == (1, 1)


def test_a_training_photo_gone_since_indexing_is_named_when_its_matches_are_drawn(photos, tmp_path):
    Image.fromarray(photos[0]).save(tmp_path / "query.jpg")
    Image.fromarray(photos[0]).save(tmp_path / "train.jpg")
    assert isinstance(draw_training_match(str(tmp_path / "query.jpg"), str(tmp_path / "train.jpg")), Image.Image)
    gone = str(tmp_path / "moved-dataset" / "train.jpg")
    with pytest.raises(GlrError, match=r"moved-dataset/train.jpg: the matched training photo is no longer there "
                                       r"\(.*file not found\); was the run's dataset moved or deleted"):
        draw_training_match(str(tmp_path / "query.jpg"), gone)
