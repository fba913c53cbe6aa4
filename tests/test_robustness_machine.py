"""What a real user's machine throws at glr's caches: a cache folder on a read-only mount, or one without write
permission. Whatever is not kept is made again; nothing fails for it. (The feature cache's and the thumbnails'
cases are in test_feature_cache.py and test_thumbnails.py.)"""

import errno
import os

import numpy as np
import pytest

from glr.backbones.features import extract_features
from conftest import refuse_writes_under
from test_features import conv_model, photos


@pytest.fixture
def read_only_cache(tmp_path, monkeypatch):
    """GLR_CACHE_DIR on a file system that refuses every write (as a read-only mount does, even to root)."""
    from glr import unwritable
    from glr.backbones import onnx_features

    cache = tmp_path / "cache"
    monkeypatch.setenv("GLR_CACHE_DIR", str(cache))
    monkeypatch.setattr(onnx_features, "_SESSIONS", {})
    monkeypatch.setattr(unwritable, "_STAND_INS", {})
    refuse_writes_under(monkeypatch, cache)
    return cache


def test_a_read_only_cache_folder_still_runs_feature_extraction_on_onnx_runtime(tmp_path, read_only_cache, caplog):
    # The exported extractor could not be kept: extraction fell back to TensorFlow (1.4x slower) and converted
    # the model again (seconds) at every call. Now it is kept in a temporary folder for this process.
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    from glr.backbones import onnx_backend

    paths = photos(tmp_path / "photos", 3, size=24)
    model = conv_model()
    engines = []
    onnx_feats, ok = extract_features(model, paths, input_size=16, preprocess=None, engine="onnx",
                                      on_engine=engines.append)
    assert engines == ["onnx"] and ok.all()
    assert not list(read_only_cache.rglob("*.onnx"))
    tf_feats, _ = extract_features(model, paths, input_size=16, preprocess=None, engine="tf")
    np.testing.assert_allclose(onnx_feats, tf_feats, atol=1e-4)
    exports = []
    real_export = onnx_backend.export
    from glr.backbones import onnx_features

    onnx_features._SESSIONS.clear()  # a later call of this process: the stand-in's file is found, not converted again
    onnx_backend.export = lambda *a, **k: exports.append(a) or real_export(*a, **k)
    try:
        extract_features(model, paths, input_size=16, preprocess=None, engine="onnx", on_engine=engines.append)
    finally:
        onnx_backend.export = real_export
    assert engines == ["onnx", "onnx"] and exports == []
    notes = [r.getMessage() for r in caplog.records if "temporary folder" in r.getMessage()]
    assert len(notes) == 1 and "read-only" in notes[0], caplog.text


def test_clearing_a_read_only_cache_folder_says_nothing_was_removed(tmp_path, monkeypatch):
    # `glr cache --clear` on a read-only mount printed "removed 2 folders, 1.1 KB" and removed nothing
    # (shutil.rmtree was told to ignore errors).
    from glr import cache_folder
    from glr.errors import GlrError

    root = tmp_path / "cache"
    monkeypatch.setenv("GLR_CACHE_DIR", str(root))
    for part in ("thumbnails/ab", "photo-hashes"):
        (root / part).mkdir(parents=True)
        (root / part / "x.bin").write_bytes(b"x" * 100)

    def refused(path, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "unlink", refused)
    monkeypatch.setattr(os, "rmdir", refused)
    with pytest.raises(GlrError, match=r"cache/(photo-hashes|thumbnails): cannot be removed \(Read-only file system\); "
                                       r"nothing was removed \(2 folders left as they were\)"):
        cache_folder.clear_cache(results=tmp_path / "results")
    monkeypatch.undo()
    assert (root / "thumbnails" / "ab" / "x.bin").is_file()


def test_a_read_only_cache_folder_still_gives_the_distractor_photos(read_only_cache, caplog):
    # The retrieval index failed at the end of a training ("retrieval index failed: StorageError: ...scene-12345-000.jpg:
    # cannot be written, the file system is read-only"): its generated distractor photos went into the cache folder.
    from glr.demo.distractors import distractor_set

    table = distractor_set(generated=3)
    generated = table[table.source == "generated"]
    assert len(generated) == 3
    assert all(os.path.isfile(p) and not p.startswith(str(read_only_cache)) for p in generated.path)
    again = distractor_set(generated=3)  # later in the process: the stand-in's photos are found, not made again
    assert list(again[again.source == "generated"].path) == list(generated.path)
    notes = [r.getMessage() for r in caplog.records if "temporary folder" in r.getMessage()]
    assert len(notes) == 1 and "distractor photos" in notes[0] and "read-only" in notes[0], caplog.text
