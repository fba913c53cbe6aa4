"""Tests of the embedded demo dataset generator (glr.demo.dataset), on tiny generations."""

import csv
import json
import os
import re

import numpy as np
import pytest

from glr.demo import dataset as demo
from glr.demo.scenes import render_photo
from glr.demo.sketch import FAMILIES
from glr.errors import GlrError

# Tiny but complete: 4 classes (4 different structure families), ~4 photos each, 64 px.
TINY = dict(n_classes=4, image_size=64, mean_per_class=4, workers=0)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return demo.generate_demo(tmp_path_factory.mktemp("demo") / "out", seed=3, **TINY)


def test_layout_is_gldv2(tiny):
    rows = read_csv(tiny / "train.csv")
    assert rows[0] == ["id", "landmark_id"]
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == 16 and len(set(ids)) == 16
    for image_id, landmark_id in rows[1:]:
        assert re.fullmatch(r"[0-9a-f]{16}", image_id)
        assert (tiny / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.jpg").is_file()
        int(landmark_id)
    # Nothing else is in train/ but the listed images.
    assert sorted(p.stem for p in (tiny / "train").rglob("*.jpg")) == sorted(ids)

    labels = read_csv(tiny / "train_label_to_category.csv")
    assert labels[0] == ["landmark_id", "category"]
    assert {r[0] for r in labels[1:]} == {r[1] for r in rows[1:]}
    for _, url in labels[1:]:
        assert re.fullmatch(r"http://commons\.wikimedia\.org/wiki/Category:[A-Za-z0-9_%().,'-]+", url)
    assert json.loads((tiny / demo.COMPLETE_MARKER).read_text())["n_classes"] == 4
    assert not list(tiny.parent.glob("*" + demo.PARTIAL_SUFFIX + "*"))


def test_images_are_jpeg_photos(tiny):
    from PIL import Image

    for path in (tiny / "train").rglob("*.jpg"):
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert im.width == 64 and 48 <= im.height <= 80


def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    again = demo.generate_demo(tmp_path / "again", seed=3, **TINY)
    assert (again / "train.csv").read_bytes() == (tiny / "train.csv").read_bytes()
    for path in (tiny / "train").rglob("*.jpg"):
        assert (again / path.relative_to(tiny)).read_bytes() == path.read_bytes()
    other = demo.generate_demo(tmp_path / "other", seed=4, **TINY)
    assert (other / "train.csv").read_bytes() != (tiny / "train.csv").read_bytes()


def test_parallel_workers_write_the_same_files(tiny, tmp_path):
    parallel = demo.generate_demo(tmp_path / "par", seed=3, **{**TINY, "workers": 2})
    for path in (tiny / "train").rglob("*.jpg"):
        assert (parallel / path.relative_to(tiny)).read_bytes() == path.read_bytes()


def test_default_shape_is_long_tailed():
    counts = demo.class_counts()  # 100 classes, mean 20: no images drawn
    assert len(counts) == 100 and sum(counts) == 2000
    assert max(counts) == pytest.approx(60, abs=2) and min(counts) == 6
    assert np.median(counts) < 16  # a long tail: most classes are below the mean
    assert counts == demo.class_counts() and counts != sorted(counts, reverse=True)  # seeded shuffle


def test_default_classes():
    classes = demo.demo_classes()
    ids = [c.landmark_id for c in classes]
    assert len(set(ids)) == 100 and max(ids) > 1000  # sparse ids, not 0..99
    assert len({c.name for c in classes}) == 100
    assert {c.family for c in classes} == set(FAMILIES)
    assert any("%C3%" in c.category for c in classes)  # some names need percent-escaping
    for family in FAMILIES:  # variants of a family never share colour or pattern
        members = [c for c in classes if c.family == family]
        assert len({c.main for c in members}) == len(members)
        assert len({c.pattern for c in members}) == len(members)


def test_every_family_draws(tmp_path):
    classes = demo.demo_classes(len(FAMILIES) * 2)
    for cls in classes:
        photo = render_photo(cls, np.random.default_rng(cls.index), 96)
        assert photo.mode == "RGB" and photo.width == 96
        assert np.asarray(photo).std() > 5


def test_ensure_demo_is_idempotent_and_redoes_incomplete(tmp_path, monkeypatch):
    calls = []
    # ensure_demo generates the default dataset; shrink it so the test stays fast.
    monkeypatch.setattr(demo, "DEFAULT_CLASSES", 3)
    monkeypatch.setattr(demo, "DEFAULT_MEAN_PER_CLASS", 3)
    monkeypatch.setattr(demo, "DEFAULT_IMAGE_SIZE", 48)
    monkeypatch.setattr(demo, "DEFAULT_WORKERS", 0)
    real = demo.generate_demo
    monkeypatch.setattr(demo, "generate_demo", lambda *a, **k: calls.append(1) or real(*a, **k))

    root = demo.ensure_demo(tmp_path / "d")
    assert len(calls) == 1 and (root / demo.COMPLETE_MARKER).is_file()
    stamp = (root / "train.csv").stat().st_mtime_ns
    assert demo.ensure_demo(tmp_path / "d") == root and len(calls) == 1
    assert (root / "train.csv").stat().st_mtime_ns == stamp

    # An interrupted generation (no marker, a missing image) is thrown away and redone.
    (root / demo.COMPLETE_MARKER).unlink()
    next((root / "train").rglob("*.jpg")).unlink()
    demo.ensure_demo(tmp_path / "d")
    assert len(calls) == 2 and (root / demo.COMPLETE_MARKER).is_file()
    assert len(list((root / "train").rglob("*.jpg"))) == 9

    # So is a dataset from another generator version.
    monkeypatch.setattr(demo, "GENERATOR_VERSION", demo.GENERATOR_VERSION + 1)
    demo.ensure_demo(tmp_path / "d")
    assert len(calls) == 3


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(GlrError, match="not a glr demo"):
        demo.generate_demo(tmp_path, **TINY)
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_stale_partial_folders_are_removed(tmp_path):
    stale = tmp_path / f"d{demo.PARTIAL_SUFFIX}999999999"
    stale.mkdir()
    demo.generate_demo(tmp_path / "d", **TINY)
    assert not stale.exists()


def test_bad_arguments():
    with pytest.raises(GlrError):
        demo.class_counts(0)
    with pytest.raises(GlrError):
        demo.demo_classes(0)
    with pytest.raises(GlrError, match="1 to 200,000 classes, not 300,000"):  # was NumPy's ValueError (the app's caller)
        demo.demo_classes(300_000)


MP_MAIN_MARKER = '''
import os, sys
from pathlib import Path
if __name__ == "__mp_main__":  # a "spawn" worker importing its parent's main script, as one does a Streamlit page
    Path(os.environ["MARKER_DIR"], f"imported-{os.getpid()}").touch()
else:
    from glr.demo import dataset as demo
    demo.DEFAULT_CLASSES, demo.DEFAULT_MEAN_PER_CLASS, demo.DEFAULT_IMAGE_SIZE = 3, 3, 48
    seen = []
    if sys.argv[1] == "child":
        demo.ensure_demo_in_child(sys.argv[2], progress=lambda done, total: seen.append((done, total)))
    else:
        demo.generate_demo(sys.argv[2], 3, 0, 48, 3, lambda done, total: seen.append((done, total)), workers=2)
    print(seen[0], seen[-1], demo.is_ready(sys.argv[2]))
'''


@pytest.mark.parametrize("how", ["child", "in-process"])
def test_drawing_workers_stay_out_of_the_callers_main_script(tmp_path, how):
    """A Streamlit server runs each page as `__main__`, and a "spawn" worker imports its parent's `__main__`:
    generated in-process, every page ran again in each drawing worker, printing Streamlit warnings.
    ensure_demo_in_child draws in a child process whose workers import only glr."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "page.py"
    script.write_text(MP_MAIN_MARKER)
    markers = tmp_path / "markers"
    markers.mkdir()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MARKER_DIR": str(markers), "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, str(script), how, str(tmp_path / "demo")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(0,", "9)", "(9,", "9)", "True"]  # the progress, from 0 to all 9 photos
    imported = list(markers.iterdir())
    assert (len(imported) == 0) if how == "child" else (len(imported) == 2), imported  # 2 workers in-process


def test_ensure_demo_in_child_reports_a_failure_in_one_line(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(GlrError, match=r"failed: .* holds files that are not a glr demo dataset"):
        demo.ensure_demo_in_child(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "precious"


@pytest.mark.parametrize("lost", ["train.csv", "train"])
def test_a_demo_folder_that_lost_its_csv_or_photos_is_not_ready_and_is_drawn_again(tmp_path, monkeypatch, lost):
    import shutil

    monkeypatch.setattr(demo, "DEFAULT_CLASSES", 3)
    monkeypatch.setattr(demo, "DEFAULT_MEAN_PER_CLASS", 3)
    monkeypatch.setattr(demo, "DEFAULT_IMAGE_SIZE", 48)
    monkeypatch.setattr(demo, "DEFAULT_WORKERS", 0)
    root = demo.ensure_demo(tmp_path / "d")
    shutil.rmtree(root / lost) if lost == "train" else (root / lost).unlink()
    # Was ready (the marker alone was checked): the app's "Generate the demo dataset" then did nothing.
    assert not demo.is_ready(root)
    demo.ensure_demo(root)
    assert demo.is_ready(root) and len(list((root / "train").rglob("*.jpg"))) == 9


@pytest.mark.parametrize("cores, workers", [(1, 2), (2, 2), (6, 6), (64, 8)])
def test_the_demo_is_drawn_on_every_core_this_process_may_use(monkeypatch, cores, workers):
    # Two drawing processes always: a first run on an 8-core laptop drew its 2,000 photos on two of them.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert demo.default_workers() == workers
