"""`python -m glr inspect`'s table of classes (glr.inspect_command)."""

import pandas as pd

from conftest import image_id, make_gldv2, write_image
from glr.cli import main
from glr.inspect_command import class_table, split_sizes
from glr.paths import text_columns


def gldv2_with_labels(root, labels):
    """A GLDv2 folder of three photos per landmark_id, the ids written as given (text)."""
    rows = ["id,landmark_id"]
    for k, label in enumerate(labels):
        for i in range(3):
            iid = image_id(k, i)
            write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=100 * k + i, colour_seed=k)
            rows.append(f"{iid},{label}")
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    return root


def test_a_table_of_nineteen_digit_landmark_ids_stays_in_line(tmp_path, capsys):
    # The id column was 8 wide: a 17- or 19-digit landmark_id pushed its name and count out of line.
    labels = ["7", "12345678901234567", "1234567890123456789"]
    assert main(["inspect", str(gldv2_with_labels(tmp_path, labels))]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "landmark " in line and line.endswith("3")]
    assert len(rows) == 3
    assert len({text_columns(r) for r in rows}) == 1  # the counts end in one column
    assert len({r.index("landmark ") for r in rows}) == 1  # the names start in one column
    assert rows[0].startswith("                    7  landmark 7 ")


def test_short_ids_and_counts_keep_their_usual_widths():
    labels = pd.DataFrame({"landmark_id": [144408, 3], "name": ["Great Pyramid", "Tower"], "images": [60, 12345]})
    assert class_table(labels) == ["    144408  Great Pyramid      60", "         3  Tower          12,345"]


def test_inspect_imports_no_sklearn_when_the_split_sizes_are_certain(tmp_path):
    # `inspect` made the split (sklearn, 1-2 s to import) to print its two counts: classes of 6 at 0.2 have a photo
    # on both sides whatever the split, so the counts are made without it (18 photos: 14 train, 4 validation).
    import subprocess
    import sys

    data = make_gldv2(tmp_path / "d", {1: 6, 2: 6, 3: 6})
    code = (f"import sys; from glr.cli import main; main(['inspect', {str(data)!r}]); "
            "print([m for m in ('sklearn', 'scipy', 'tensorflow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "curated    top 3 classes: 14 train, 4 validation images" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_split_sizes_are_the_splits_own():
    # Made without the split only where certain: compared with the split itself on small classes around the bound
    # (c * n_val == n), where a class can end on one side only and stratified_split moves a photo across.
    import numpy as np

    from glr.data.stratified_split import stratified_split, validation_size

    rng = np.random.default_rng(0)
    shortcut = 0
    for counts, fraction in [([8, 6, 4, 3], 0.2), ([5, 5, 5, 5, 5], 0.2), ([6, 6, 6], 0.2), ([100, 2, 2], 0.02),
                             ([10, 10], 0.1), ([4, 4, 4, 4], 0.25), ([9, 3], 0.5), ([2, 2, 2], 0.5), ([7, 5], 0.9)] + \
            [(list(rng.integers(2, 12, size=rng.integers(1, 6))), float(rng.uniform(0.05, 0.95))) for _ in range(12)]:
        data = pd.DataFrame({"landmark_id": np.repeat(np.arange(len(counts)), counts)})
        n, n_val = len(data), validation_size(len(data), len(counts), fraction)
        shortcut += min(counts) * min(n_val, n - n_val) > n
        for seed in (0, 7):
            train, val = stratified_split(data, fraction, seed)
            assert split_sizes(data, fraction, seed) == (len(train), len(val)), (counts, fraction, seed)
    assert shortcut >= 5  # the test reaches both ways


def test_inspect_prints_the_counts_of_curate(tmp_path, capsys):
    # The settings reach the counts as they reach datasets.curate, where the split is made (train and fetch use it).
    from glr.data.datasets import curate, load_catalog

    data = make_gldv2(tmp_path / "d", {1: 9, 2: 7, 3: 6, 4: 2})
    for argv, settings in ([], {}), (["--top-n", "2", "--min-images", "3", "--val-fraction", "0.5", "--seed", "3"],
                                     {"top_n": 2, "min_images": 3, "val_fraction": 0.5, "seed": 3}):
        assert main(["inspect", str(data), *argv]) == 0
        split = curate(load_catalog(data), **settings)
        expected = f"top {split.num_classes} classes: {len(split.train)} train, {len(split.val)} validation images"
        assert expected in capsys.readouterr().out


def test_inspect_says_when_one_class_is_all_that_is_left(tmp_path, capsys):
    # inspect said "problems   none" for a dataset train and probe refuse: one class is nothing to tell apart.
    data = make_gldv2(tmp_path / "d", {1: 4, 2: 1})
    assert main(["inspect", str(data)]) == 0
    out = capsys.readouterr().out
    assert "only 1 class kept, and a classifier needs at least 2 landmarks to tell apart" in out
    assert "problems   2" in out
    assert main(["inspect", str(make_gldv2(tmp_path / "e", {1: 4, 2: 3})), "--top-n", "1"]) == 0
    assert "train and probe refuse this (a larger --top-n keeps more)" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "e")]) == 0
    assert "problems   none" in capsys.readouterr().out
