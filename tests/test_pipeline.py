"""glr.data.pipeline: shapes, crop vs centre crop, augmentation randomness, preprocessing, bad files."""

from pathlib import Path

import numpy as np
import pytest

from conftest import write_image
from glr.data.pipeline import load_size, make_dataset


def files(tmp_path, n=5):
    paths = []
    for i in range(n):
        path = tmp_path / f"{i}.jpg"
        write_image(path, seed=i, size=40 + 10 * i)  # different sizes on purpose
        paths.append(str(path))
    return paths


def test_load_size_matches_imagenet_ratio():
    assert load_size(224) == 256 and load_size(32) == 37


def test_eval_batches_are_deterministic_and_ordered(tmp_path):
    paths = files(tmp_path)
    ds = make_dataset(paths, [0, 1, 2, 3, 4], input_size=24, batch_size=2)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert images.shape == (5, 24, 24, 3) and images.dtype == np.float32
    assert labels.tolist() == [0, 1, 2, 3, 4]
    again = np.concatenate([b[0].numpy() for b in make_dataset(paths, [0] * 5, input_size=24, batch_size=2)])
    np.testing.assert_array_equal(images, again)


def test_training_views_differ_between_epochs(tmp_path):
    path = tmp_path / "grad.png"
    grad = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (64, 1, 3))
    from PIL import Image

    Image.fromarray(grad).save(path)
    ds = make_dataset([str(path)] * 8, input_size=32, training=True, batch_size=8, seed=3)
    first, second = next(iter(ds)).numpy(), next(iter(ds)).numpy()
    assert first.shape == (8, 32, 32, 3)
    # Random crops and flips of a horizontal gradient give different views.
    assert len({v.tobytes() for v in first}) > 1
    assert not np.array_equal(first, second)


# 28 px: a load size of 32, a power of two, where only each view's square is resized (glr.data.crop_resize).
@pytest.mark.parametrize("side", [32, 28])
def test_live_views_are_crops_and_flips_of_the_resized_photo_drawn_per_batch(tmp_path, side):
    # Live augmentation draws a batch's boxes at once: every view must still be one of the photo's crops, as is
    # or mirrored, with both kinds and several places among them, and the same seed must repeat them.
    from PIL import Image

    from glr.data.images import load_resized

    path = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)).save(path)
    big = load_resized(path, load_size(side))
    crops = {}
    for row in range(big.shape[0] - side + 1):
        for col in range(big.shape[1] - side + 1):
            crop = big[row:row + side, col:col + side]
            crops[crop.tobytes()], crops[crop[:, ::-1].tobytes()] = (row, col, 0), (row, col, 1)
    ds = make_dataset([str(path)] * 24, input_size=side, training=True, batch_size=5, seed=4)
    views = np.concatenate([b.numpy() for b in ds]).astype(np.uint8)
    boxes = [crops.get(v.tobytes()) for v in views]
    assert len(views) == 24 and None not in boxes
    assert {flip for _, _, flip in boxes} == {0, 1} and len({box[:2] for box in boxes}) > 5
    again = np.concatenate([b.numpy() for b in make_dataset([str(path)] * 24, input_size=side, training=True,
                                                             batch_size=5, seed=4)])
    np.testing.assert_array_equal(views, again.astype(np.uint8))


def test_preprocess_is_applied(tmp_path):
    paths = files(tmp_path, 2)
    raw = next(iter(make_dataset(paths, input_size=16))).numpy()
    pre = next(iter(make_dataset(paths, input_size=16, preprocess=lambda x: (x - 127.0) / 128.0))).numpy()
    assert raw.max() > 1.5
    np.testing.assert_allclose(pre, (raw - 127.0) / 128.0, atol=1e-5)


def test_the_pipeline_runs_without_tf_datas_autotuning_thread(tmp_path):
    # With it, deleting a finished extraction's iterator sat idle 8-9 s (benchmarks/bench_iterator_end.py).
    paths = files(tmp_path, 3)
    ds = make_dataset(paths, [0, 1, 2], input_size=16, batch_size=2, training=True, seed=1)
    assert ds.options().autotune.enabled is False
    assert sum(len(images) for images, _ in ds) == 3  # AUTOTUNE still means some parallelism: every photo comes


def test_bad_file_is_flagged_not_fatal(tmp_path):
    paths = files(tmp_path, 2)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    images, labels, ok = next(iter(make_dataset([paths[0], str(bad), paths[1]], [1, 2, 3], input_size=16, with_ok=True)))
    assert ok.numpy().tolist() == [True, False, True]
    assert labels.numpy().tolist() == [1, 2, 3]
    assert float(np.abs(images.numpy()[1]).sum()) == 0.0


def test_a_heic_photo_goes_through_the_pipeline(tmp_path):
    heic = str(Path(__file__).parent / "fixtures" / "photo.heic")
    images, ok = next(iter(make_dataset([heic, files(tmp_path, 1)[0]], input_size=16, with_ok=True)))
    assert ok.numpy().tolist() == [True, True]
    assert float(images.numpy()[0].std()) > 10  # the photo's red, blue and green, not a blank


def test_a_blank_photo_is_flagged_like_a_broken_one(tmp_path):
    from PIL import Image

    blank = tmp_path / "black.jpg"
    Image.new("RGB", (64, 48)).save(blank)
    images, ok = next(iter(make_dataset([files(tmp_path, 1)[0], str(blank)], input_size=32, with_ok=True)))
    assert ok.numpy().tolist() == [True, False]
    # An 8 px raw-pixel view is not checked: that small, a resize makes any photo look flat.
    assert next(iter(make_dataset([str(blank)], input_size=8, with_ok=True)))[1].numpy().tolist() == [True]


def test_view_seeds_make_augmentation_reproducible(tmp_path):
    path = tmp_path / "grad.png"
    from PIL import Image

    grad = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (64, 1, 3))
    Image.fromarray(grad).save(path)
    paths = [str(path)] * 4
    seeds = np.array([[7, 1], [7, 2], [7, 1], [8, 1]])
    first = next(iter(make_dataset(paths, input_size=32, view_seeds=seeds, batch_size=4))).numpy()
    second = next(iter(make_dataset(paths, input_size=32, view_seeds=seeds, batch_size=4))).numpy()
    np.testing.assert_array_equal(first, second)  # same seeds, same views, every time
    np.testing.assert_array_equal(first[0], first[2])
    assert not np.array_equal(first[0], first[1]) or not np.array_equal(first[0], first[3])


@pytest.mark.parametrize("side", [32, 28])  # 28: only each view's square resized, as above
def test_views_equal_tf_stateless_crop_and_flip(tmp_path, side):
    # The feature cache stores views by their seed pair: the batch-level numpy crop must cut
    # exactly what tf.image's stateless crop and flip cut from the same decoded square.
    import tensorflow as tf

    from glr.data.images import load_resized

    path = tmp_path / "noise.png"
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)).save(path)
    seeds = np.random.default_rng(1).integers(0, 2**31, (16, 2))
    views = np.concatenate([b.numpy() for b in make_dataset([str(path)] * 16, input_size=side, view_seeds=seeds, batch_size=5)])
    big = tf.constant(load_resized(path, load_size(side)))
    flips = 0
    for view, pair in zip(views, seeds):
        pair = tf.constant(pair, tf.int64)
        want = tf.image.stateless_random_crop(big, (side, side, 3), seed=pair)
        flipped = tf.image.stateless_random_flip_left_right(want, seed=pair + 1)
        flips += not np.array_equal(flipped.numpy(), want.numpy())
        np.testing.assert_array_equal(view, flipped.numpy().astype(np.float32))
    assert 0 < flips < 16  # both branches of the flip were checked


def test_centre_crop_and_failures_within_one_batch(tmp_path):
    from glr.data.images import load_resized

    paths = files(tmp_path, 3)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff broken")
    images, ok = next(iter(make_dataset([paths[0], str(bad), paths[2]], input_size=16, with_ok=True, batch_size=3)))
    assert ok.numpy().tolist() == [True, False, True]
    offset = (load_size(16) - 16) // 2
    want = load_resized(paths[2], load_size(16))[offset:offset + 16, offset:offset + 16]
    np.testing.assert_array_equal(images.numpy()[2], want.astype(np.float32))
    assert float(np.abs(images.numpy()[1]).sum()) == 0.0


def test_several_views_per_file_decode_once_and_equal_one_view_at_a_time(tmp_path, monkeypatch):
    from glr.data import pipeline

    paths = files(tmp_path, 5)
    seeds = np.random.default_rng(2).integers(0, 2**31, (5, 3, 2))
    seeds[:, 0] = pipeline.CENTRE_VIEW  # view 0: the centre crop, as glr's view 0
    calls = []
    real = pipeline._decode_or_blank
    monkeypatch.setattr(pipeline, "_decode_or_blank", lambda path, *args: calls.append(path) or real(path, *args))
    batches = list(make_dataset(paths, [10, 11, 12, 13, 14], input_size=16, view_seeds=seeds, batch_size=4, with_ok=True))
    assert len(calls) == 5  # each file decoded once for its 3 views
    assert [int(b[0].shape[0]) for b in batches] == [4, 4, 4, 3]  # batch_size images per batch, not files
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert labels.tolist() == [10] * 3 + [11] * 3 + [12] * 3 + [13] * 3 + [14] * 3
    assert np.concatenate([b[2].numpy() for b in batches]).all()
    monkeypatch.setattr(pipeline, "_decode_or_blank", real)
    centre = np.concatenate([b.numpy() for b in make_dataset(paths, input_size=16)])
    np.testing.assert_array_equal(images[0::3], centre)
    for v in (1, 2):
        one = np.concatenate([b.numpy() for b in make_dataset(paths, input_size=16, view_seeds=seeds[:, v])])
        np.testing.assert_array_equal(images[v::3], one)


def test_the_centre_mirror_seed_gives_the_centre_crop_mirrored(tmp_path):
    from glr.data import pipeline

    paths = files(tmp_path, 3)
    seeds = np.zeros((3, 2, 2), np.int64)
    seeds[:, 0], seeds[:, 1] = pipeline.CENTRE_VIEW, pipeline.CENTRE_MIRROR_VIEW
    images = np.concatenate([b.numpy() for b in make_dataset(paths, input_size=16, view_seeds=seeds, batch_size=4)])
    centre = np.concatenate([b.numpy() for b in make_dataset(paths, input_size=16)])
    np.testing.assert_array_equal(images[0::2], centre)
    np.testing.assert_array_equal(images[1::2], centre[:, :, ::-1])
    assert not np.array_equal(images[1::2], centre)  # the photos are not symmetric: the mirror is another view
