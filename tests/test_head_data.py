"""glr.training.head_data: phase 1's batches are the cached rows, gathered in place, with int labels."""

import numpy as np


def table(n=50, k=3, d=4):
    # Row i, view v holds i + v / 10 in every column, so a batch says which rows and views it took.
    values = np.arange(n)[:, None, None] + np.arange(k)[None, :, None] / 10
    return np.broadcast_to(values, (n, k, d)).astype(np.float16), np.arange(n) % 7


def test_an_epoch_takes_every_photo_once_as_one_of_its_views():
    from glr.training.head_data import train_dataset

    feats, labels = table()
    ds, epochs = train_dataset(feats, labels, 8, seed=1), []
    assert ds.options().autotune.enabled is False  # with it, some epochs' iterators took 0.3 s to delete
    for _ in range(2):
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
        x, y = np.concatenate(xs), np.concatenate(ys)
        assert x.dtype == np.float32 and y.dtype == np.int32 and x.shape == (50, 4)
        rows = np.floor(x[:, 0] + 1e-3).astype(int)
        assert sorted(rows) == list(range(50))  # every photo once
        np.testing.assert_array_equal(y, labels[rows])  # with its own label
        views = np.round((x[:, 0] - rows) * 10).astype(int)
        assert set(views) == {0, 1, 2}  # views drawn at random, all of them used
        np.testing.assert_array_equal(x, feats[rows, views].astype(np.float32))
        epochs.append(rows)
    assert list(epochs[0]) != list(epochs[1])  # reshuffled every epoch


def test_validation_batches_are_the_rows_in_order():
    from glr.training.head_data import eval_dataset

    feats, labels = table()
    ds = eval_dataset(feats[:, 0], labels, 16)
    assert ds.options().autotune.enabled is False
    x, y = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    np.testing.assert_array_equal(np.concatenate(x), feats[:, 0].astype(np.float32))
    np.testing.assert_array_equal(np.concatenate(y), labels)


def test_keep_rows_moves_the_kept_rows_to_the_front_in_place(monkeypatch):
    from glr.training.head_data import keep_rows

    feats, _ = table(n=9000)  # more rows than one move of 4,096
    feats = feats.copy()
    mask = np.ones(9000, bool)
    mask[[0, 5, 4095, 4096, 8999]] = False
    expected = feats[mask].copy()
    kept = keep_rows(feats, mask)
    np.testing.assert_array_equal(kept, expected)
    assert np.shares_memory(kept, feats)  # the same table, not a copy of it
    assert keep_rows(feats, np.ones(9000, bool)) is feats


def test_the_window_choice_keeps_all_windows_within_budget_and_the_largest_first_beyond_it():
    from glr.training.head_data import WindowChoice

    photo = np.arange(28)[:, None] * np.ones((1, 5))  # window w holds w: 14 of the centre crop, 14 of the mirror
    roomy = WindowChoice(100, budget=100 * 28 * 5 * 2)
    np.testing.assert_array_equal(roomy(photo), photo)
    assert (roomy.kept, roomy.total, roomy.table_bytes(28)) == (28, 28, 28_000)
    tight = WindowChoice(100, budget=100 * 6 * 5 * 2)  # room for 6 per photo: 3 of each half
    np.testing.assert_array_equal(tight(photo)[:, 0], [0, 1, 2, 14, 15, 16])
    assert (tight.kept, tight.total) == (6, 28)
    none = WindowChoice(100, budget=0)  # never less than the two whole maps
    np.testing.assert_array_equal(none(photo)[:, 0], [0, 14])


def test_image_views_go_float16_then_fewer_over_the_budget():
    from glr.training.head_data import views_within_budget

    float32 = 100 * 5 * 8 * 4  # 100 photos, 5 views of 8 numbers
    assert views_within_budget(100, 5, 8, budget=float32) == (5, np.float32)
    assert views_within_budget(100, 5, 8, budget=float32 // 2) == (5, np.float16)
    assert views_within_budget(100, 5, 8, budget=100 * 3 * 8 * 2) == (3, np.float16)
    assert views_within_budget(100, 5, 8, budget=0) == (2, np.float16)  # never less than the centre crop and mirror
    assert views_within_budget(100, 1, 8, budget=0) == (1, np.float16)  # no augmentation: one view


def test_the_table_plan_asks_for_the_whole_maps_only_when_not_even_two_windows_fit(monkeypatch):
    from glr.training import head_data

    monkeypatch.setattr(head_data, "machine_memory", lambda: 4 * 100 * 2 * 8 * 2)  # a budget of 2 windows x 100 photos
    assert head_data.table_plan(100, 8, ["centre", "mirror"], windows=True)[:3] == (["centre", "mirror"], np.float16,
                                                                                 {"windows_kept": 2, "windows_total": None})
    assert head_data.table_plan(50, 8, ["centre", "mirror"], windows=True) == ([], np.float16, {}, None)  # 4 fit
    views, dtype, fields, message = head_data.table_plan(100, 8, [0, 1, 2, 3, 4], windows=False)
    assert (views, dtype, fields) == ([0, 1], np.float16, {"views_kept": 2, "views_total": 5})
    assert message.startswith("phase 1 holds 2 of the 5 image views")
