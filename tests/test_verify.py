"""Spatial verification: SIFT + RANSAC inliers, the local-feature store, the match drawing."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from glr.demo.dataset import demo_classes
from glr.demo.scenes import render_photo
from glr.errors import GlrError
from glr.retrieval import verify
from glr.retrieval.verify import (
    STORE_FILE, LocalFeatureStore, Verifier, draw_matches, draw_training_match, extract, match, read_stamped,
    verification_score,
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
    assert len(loaded) == 2 and loaded.stamps == [None, None]  # photos given as pixels: nothing to check them by
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
    # Empty (numpy's EOFError) or cut (zipfile's BadZipFile): both escaped as tracebacks.
    good = LocalFeatureStore.save(store, tmp_path / "idx").read_bytes()
    for data, why in ((b"", "an empty file"), (good[:len(good) // 2], "BadZipFile")):
        (tmp_path / "idx" / STORE_FILE).write_bytes(data)
        with pytest.raises(GlrError, match=re.escape(f"{tmp_path / 'idx' / STORE_FILE}: damaged ({why}); rebuild")):
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



def test_the_matched_points_picture_decodes_each_photo_once(photos, tmp_path, monkeypatch):
    # Was twice each: once for its features, once again to draw them (the Predict page's matched points).
    from glr.data import images

    a, b = crops(photos[0])
    Image.fromarray(a).save(tmp_path / "query.jpg", quality=95)
    Image.fromarray(b).save(tmp_path / "train.png")
    decoded, real = [], images.decode_image

    def counted(source, *args, **kwargs):
        decoded.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(images, "decode_image", counted)
    image, count = draw_training_match(str(tmp_path / "query.jpg"), str(tmp_path / "train.png"))
    assert decoded == [str(tmp_path / "query.jpg"), str(tmp_path / "train.png")]
    # The same count and points as found by `extract`, each photo decoded on its own.
    decoded.clear()
    assert count == match(extract(str(tmp_path / "query.jpg")), extract(str(tmp_path / "train.png")))[0] >= 30
    assert len(decoded) == 2 and image.height == max(a.shape[0], b.shape[0])

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
    image, count = draw_training_match(str(tmp_path / "query.jpg"), str(tmp_path / "train.jpg"))
    assert isinstance(image, Image.Image) and count >= 30
    gone = str(tmp_path / "moved-dataset" / "train.jpg")
    with pytest.raises(GlrError, match=r"moved-dataset/train.jpg: the matched training photo is no longer there "
                                       r"\(.*file not found\); was the run's dataset moved or deleted"):
        draw_training_match(str(tmp_path / "query.jpg"), gone)


# A training photo changed on disk after indexing: the store must describe the file as it is now.


def indexed(folder, pictures):
    """The pictures saved as training photos, their store built and saved, and loaded as the Recognizer loads it."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    paths = [str(folder / "data" / f"{i}.png") for i in range(len(pictures))]
    for path, picture in zip(paths, pictures):
        Image.fromarray(picture).save(path)
    LocalFeatureStore.build(paths).save(folder / "index")
    return paths, LocalFeatureStore.load(folder / "index", paths)


@pytest.fixture
def extractions(monkeypatch):
    """Every photo `verify.extract` is called on, as a list (an array query shows as its shape)."""
    seen = []
    real = verify.extract

    def counted(source, *args, **kwargs):
        seen.append(getattr(source, "shape", source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(verify, "extract", counted)
    return seen


def test_the_store_records_what_each_photo_was_when_indexed(photos, tmp_path):
    paths, store = indexed(tmp_path, [crops(photos[0])[1], crops(photos[1])[1]])
    assert [s.digest for s in store.stamps] == [read_stamped(p)[1].digest for p in paths]
    assert store.stamps == LocalFeatureStore.build(paths).stamps == [read_stamped(p)[1] for p in paths]
    # A photo gone at indexing time has no features and no stamp: it is looked at again when it is used.
    assert LocalFeatureStore.build([str(tmp_path / "gone.png")]).stamps == [None]


def test_a_training_photo_replaced_since_indexing_is_matched_as_it_is_now(photos, tmp_path, extractions):
    # The bug: the count came from the replaced photo's stored features while the Predict page drew the new one.
    (a, b), (c, d) = crops(photos[0]), crops(photos[1])
    paths, store = indexed(tmp_path, [b, d])
    assert Verifier(store, k=2).inliers([a], np.array([[0, 1]]))[0, 0] >= 30
    before = os.stat(paths[0])
    Image.fromarray(c).save(paths[0])  # another landmark under the same name, its mtime even set back
    os.utime(paths[0], ns=(before.st_atime_ns, before.st_mtime_ns))
    now = match(extract(a), extract(paths[0]))[0]
    assert now < 15
    for verifier in (Verifier(store, k=2), Verifier(LocalFeatureStore.load(tmp_path / "index", paths), k=2)):
        extractions.clear()
        assert verifier.inliers([a], np.array([[0, 1]]))[0, 0] == now
        assert len(extractions) == 2 and verifier.store.refreshed == 1  # the query, and the replaced photo
        assert verifier.store.stamps[0] == read_stamped(paths[0])[1]
        extractions.clear()
        assert verifier.inliers([a], np.array([[0, 1]]))[0, 0] == now and len(extractions) == 1  # remembered
    # The drawing reads the same file: its count is the verifier's, and the one to show with its lines.
    assert draw_training_match(a, paths[0])[1] == now


def test_a_training_photo_touched_or_copied_back_is_not_extracted_again(photos, tmp_path, extractions):
    a, b = crops(photos[0])
    paths, store = indexed(tmp_path, [b])
    counts = Verifier(store).inliers([a], np.array([[0]]))
    st = os.stat(paths[0])
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched
    extractions.clear()
    assert np.array_equal(Verifier(store).inliers([a], np.array([[0]])), counts)
    assert len(extractions) == 1 and store.refreshed == 0  # only the query's features were found
    assert store.stamps[0].mtime_ns == st.st_mtime_ns + 10**9  # the new stat is taken: the next check is a stat
    data = open(paths[0], "rb").read()
    os.remove(paths[0])
    open(paths[0], "wb").write(data)  # the same bytes written again: another file, the same photo
    extractions.clear()
    assert np.array_equal(Verifier(store).inliers([a], np.array([[0]])), counts) and len(extractions) == 1


def test_a_training_photo_deleted_or_its_folder_moved_keeps_its_features_and_says_so_when_drawn(photos, tmp_path):
    # Its features still describe the photo as indexed, as its embedding still votes; the drawing names it gone.
    a, b = crops(photos[0])
    paths, store = indexed(tmp_path, [b])
    counts = Verifier(store).inliers([a], np.array([[0]]))
    os.rename(tmp_path / "data", tmp_path / "moved")
    reloaded = LocalFeatureStore.load(tmp_path / "index", paths)
    assert np.array_equal(Verifier(reloaded).inliers([a], np.array([[0]])), counts)
    assert np.array_equal(Verifier(store).inliers([a], np.array([[0]])), counts) and store.refreshed == 0
    with pytest.raises(GlrError, match=r"data/0.png: the matched training photo is no longer there "
                                       r"\(.*file not found\); was the run's dataset moved or deleted"):
        draw_training_match(a, paths[0])
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "0.png").mkdir()  # a folder where the photo was: gone too, and never opened
    assert np.array_equal(Verifier(store).inliers([a], np.array([[0]])), counts)


def test_a_training_photo_replaced_by_a_damaged_file_verifies_nothing(photos, tmp_path):
    a, b = crops(photos[0])
    paths, store = indexed(tmp_path, [b])
    open(paths[0], "wb").write(b"\x89PNG\r\n\x1a\n cut short")
    assert Verifier(store).inliers([a], np.array([[0]]))[0, 0] == 0
    assert len(store[0]) == 0 and store.refreshed == 1
    with pytest.raises(GlrError, match=r"0.png: "):  # ImageError, shown by the Predict page instead of the matches
        draw_training_match(a, paths[0])


def test_only_the_matched_photos_are_looked_at(photos, tmp_path):
    # The Predict page stays quick: a query checks its k neighbours' files, never the whole index.
    pictures = [crops(photos[i % 2])[1] for i in range(6)]
    paths, store = indexed(tmp_path, pictures)
    for path in paths:
        open(path, "wb").write(b"damaged")
    stamps = list(store.stamps)
    Verifier(store, k=2).inliers([crops(photos[0])[0]], np.array([[4, 1, 0]]))
    assert [store.stamps[i] == stamps[i] for i in range(6)] == [True, False, True, True, False, True]
    assert store.refreshed == 2


def test_a_store_without_a_version_or_of_another_is_refused_as_out_of_date_never_mixed(photos, tmp_path, extractions):
    # Was: a store from before the change of resize (480 px by Pillow's bilinear before sRGB, not OpenCV's area resize
    # of the grey) loaded as it was; a photo changed since was extracted the new way beside the old way's features.
    (a, b), (c, d) = crops(photos[0]), crops(photos[1])
    paths, store = indexed(tmp_path, [b, d])
    path = tmp_path / "index" / STORE_FILE
    with np.load(path) as data:
        arrays = dict(data)
    assert int(arrays.pop("version")) == verify.STORE_VERSION == 2
    before_stamps = {k: arrays[k] for k in ("offsets", "points", "descriptors", "scales")}
    for saved, marked in ((arrays, "unmarked, format 1"), (before_stamps, "unmarked, format 1"),
                          ({**arrays, "version": np.array(1)}, "format 1"),
                          ({**arrays, "version": np.array(3)}, "format 3")):
        np.savez(path, **saved)
        with pytest.raises(GlrError, match=re.escape(f"{path}: out of date (local features of {marked}; this glr finds "
                                                     "them otherwise, as format 2); rebuild the index")):
            LocalFeatureStore.load(tmp_path / "index", paths)
    np.savez(path, **{**arrays, "version": np.array([2, 2])})
    with pytest.raises(GlrError, match=r"local_features.npz: damaged \(TypeError\); rebuild the index"):
        LocalFeatureStore.load(tmp_path / "index", paths)
    # Saved again, it loads with its stamps, and a photo not changed since is not extracted again.
    store.save(tmp_path / "index")
    extractions.clear()
    again = LocalFeatureStore.load(tmp_path / "index", paths)
    assert again.stamps == store.stamps and Verifier(again).inliers([a], np.array([[0, 1]]))[0, 0] > 15
    assert len(extractions) == 1  # the query only


def test_a_store_that_does_not_fit_the_index_is_refused(photos, tmp_path):
    paths, _ = indexed(tmp_path, [crops(photos[0])[1], crops(photos[1])[1]])
    with pytest.raises(GlrError, match=r"holds the local features of 2 photos, the index 3; rebuild the index"):
        LocalFeatureStore.load(tmp_path / "index", paths + paths[:1])
    with np.load(tmp_path / "index" / STORE_FILE) as data:
        arrays = dict(data)
    np.savez(tmp_path / "index" / STORE_FILE, **{**arrays, "stamp_digests": arrays["stamp_digests"][:1]})
    with pytest.raises(GlrError, match=r"local_features.npz: damaged \(ValueError\); rebuild the index"):
        LocalFeatureStore.load(tmp_path / "index", paths)


def test_a_display_p3_photo_s_colours_are_converted_at_the_size_its_features_are_found_at(monkeypatch):
    # Was: a photo whose colours need converting (an iPhone's Display P3 HEIC, an AVIF) was converted in full, then
    # shrunk to 480 px: a 12 MP P3 AVIF's extraction took ~400 ms, ~200 now. Its points stay in its own pixels.
    import io

    from skimage import data as samples

    from conftest import colour_conversions, display_p3_profile

    buffer = io.BytesIO()
    Image.fromarray(samples.astronaut()).resize((1200, 900)).save(buffer, "PNG", icc_profile=display_p3_profile())
    converted = colour_conversions(monkeypatch)
    features = extract(buffer.getvalue())
    assert converted == [(480, 360)]
    assert features.scale == 2.5 and len(features) > 100 and (features.points.max(axis=0) < [480, 360]).all()
    inliers, pairs = match(features, extract(buffer.getvalue()))
    assert inliers > 100 and 480 < pairs[:, 0].max() < 1200 and np.allclose(pairs[:, :2], pairs[:, 2:])


def test_a_run_whose_store_is_out_of_date_predicts_without_verification_and_says_to_rebuild(finished_run, tmp_path):
    # Was: the old store's features were used beside ones found the new way (photos changed since indexing).
    from conftest import run_copy_to_verify
    from glr.predict import _settings_and_labels
    from glr.retrieval import run_index

    copy, threshold = run_copy_to_verify(finished_run, tmp_path)
    labels = _settings_and_labels(run_index.as_run(copy))[1]
    store = LocalFeatureStore.build([None] * len(run_index.load_index(copy))).save(copy / "index")
    assert run_index.Recognizer(copy, labels).verifier is not None
    with np.load(store) as data:
        np.savez(store, **{k: data[k] for k in data.files if k != "version"})
    recognizer = run_index.Recognizer(copy, labels)
    assert recognizer.verifier is None and recognizer.calibration.threshold == pytest.approx(threshold - 0.01)
    assert recognizer.verify_problem == (f"{store}: out of date (local features of unmarked, format 1; this glr finds "
                                         f"them otherwise, as format 2); rebuild the index with "
                                         f"`python -m glr retrieval {copy} --verify`")
    # `glr retrieval RUN` rebuilds such an index, verification kept (it only showed an index already there).
    from glr.cli import main

    assert main(["retrieval", str(copy)]) == 0
    assert run_index.Recognizer(copy, labels).verifier is not None
