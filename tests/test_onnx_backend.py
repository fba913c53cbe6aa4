"""glr.backbones.onnx_backend: the Predictor's ONNX Runtime backend gives the TensorFlow path's answers."""

import numpy as np
import pytest

from conftest import write_image
from glr.errors import GlrError

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")


def test_onnx_backend_matches_tensorflow(finished_run, tmp_path):
    from glr.predict import Predictor

    photos = []
    for i in range(3):
        write_image(tmp_path / f"{i}.jpg", seed=100 + i, colour_seed=[3, 5, 9][i], size=60)
        photos.append(str(tmp_path / f"{i}.jpg"))
    tf_pred, onnx_pred = Predictor(finished_run.path, backend="tf"), Predictor(finished_run.path, backend="onnx")
    assert (tf_pred.backend, onnx_pred.backend) == ("tf", "onnx")
    views = np.stack([np.asarray(np.random.default_rng(i).integers(0, 256, (32, 32, 3)), np.uint8) for i in range(4)])
    for ours, theirs in zip(onnx_pred.forward(views), tf_pred.forward(views)):  # probabilities, then features
        np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)
    a, b = tf_pred.predict(photos), onnx_pred.predict(photos)
    assert [[t[0] for t in p.top] for p in a] == [[t[0] for t in p.top] for p in b]
    from glr.paths import cache_dir

    converted = sorted((cache_dir() / "onnx").glob("*.onnx"))
    Predictor(finished_run.path, backend="onnx")
    assert sorted((cache_dir() / "onnx").glob("*.onnx")) == converted  # converted once, then reused


def test_unknown_backend_is_refused(finished_run):
    from glr.predict import Predictor

    with pytest.raises(GlrError, match="unknown prediction backend"):
        Predictor(finished_run.path, backend="tpu")


def test_default_backend_is_onnx_and_falls_back_to_tensorflow(finished_run, monkeypatch, tmp_path):
    from glr.atomic import write_bytes
    from glr.backbones import onnx_backend
    from glr.predict import Predictor

    default = Predictor(finished_run.path)
    assert default.backend == "onnx" and default.backend_note is None

    def broken(*args, **kwargs):
        raise RuntimeError("Unsupported ops: SomeOp\nmore details")

    # A cache of its own: the failure is remembered there (and a "conversion" is a few bytes, not seconds).
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(onnx_backend, "export", lambda forward, size, path: write_bytes(path, b"converted"))
    monkeypatch.setattr(onnx_backend, "OnnxForward", broken)  # the session, whichever file (one view or flip-averaged)
    fallback = Predictor(finished_run.path)
    assert fallback.backend == "tf"
    assert fallback.backend_note == ("predicting with TensorFlow: ONNX Runtime could not take this model "
                                     "(Unsupported ops: SomeOp)")
    assert fallback.predict([fallback.recognizer.index.items["path"].iloc[0]])[0].ok
    with pytest.raises(GlrError, match="the ONNX backend is not available for this model"):
        Predictor(finished_run.path, backend="onnx")


def test_the_app_predicts_on_one_onnx_runtime_thread_with_the_same_answers(finished_run):
    from glr.predict import Predictor

    one, default = Predictor(finished_run.path, threads=1), Predictor(finished_run.path)
    assert one._onnx.session.get_session_options().intra_op_num_threads == 1
    photo = one.recognizer.index.items["path"].iloc[0]
    assert [t[0] for t in one.predict([photo])[0].top] == [t[0] for t in default.predict([photo])[0].top]


def test_a_failed_conversion_is_remembered_and_a_new_model_is_tried_again(finished_run, monkeypatch, tmp_path):
    # tf2onnx failing on a model cost seconds on every load (a child process, then TensorFlow in this one),
    # only to fail again and predict with TensorFlow.
    import shutil
    import zipfile

    from glr.atomic import write_bytes
    from glr.backbones import onnx_backend
    from glr.predict import Predictor

    tries = []

    def refuse(forward, size, path):
        tries.append(path)
        raise RuntimeError("Unsupported ops: FancyOp\nmore details")

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_backend, "export", refuse)
    # Each Predictor here falls back to TensorFlow, loading the model (seconds, five times): loaded once instead, as
    # what is checked is which conversions are tried (the retrained copy has the same weights).
    from glr import predict

    loaded, load = {}, predict.tf_forward
    monkeypatch.setattr(predict, "tf_forward", lambda run, spec, size, embedding: loaded.get(embedding) or
                        loaded.setdefault(embedding, load(run, spec, size, embedding)))
    note = "predicting with TensorFlow: ONNX Runtime could not take this model (Unsupported ops: FancyOp)"
    first = Predictor(finished_run.path, convert="here")
    assert (first.backend, first.backend_note, len(tries)) == ("tf", note, 1)
    assert onnx_backend.conversion_failure(tries[0]) == "Unsupported ops: FancyOp" and not tries[0].exists()
    again = Predictor(finished_run.path)
    assert (again.backend, again.backend_note, len(tries)) == ("tf", note, 1)  # straight to TensorFlow, same note
    photo = again.recognizer.index.items["path"].iloc[0]
    assert again.predict([photo])[0].ok
    retrained = shutil.copytree(finished_run.path, tmp_path / "retrained", ignore=shutil.ignore_patterns("report"))
    with zipfile.ZipFile(retrained / "model.keras", "a") as archive:  # other bytes: another model to the cache
        archive.comment = b"trained again"
    assert Predictor(retrained, convert="here").backend_note == note and len(tries) == 2  # tried, not taken as known
    with pytest.raises(GlrError, match="the ONNX backend is not available for this model .Unsupported ops: FancyOp"):
        Predictor(finished_run.path, backend="onnx", convert="here")  # asked for by name: tried again
    assert len(tries) == 3
    monkeypatch.setattr(onnx_backend, "_converter_version", lambda: "99.0")  # tf2onnx upgraded: worth another try
    Predictor(finished_run.path, convert="here")
    assert len(tries) == 4


@pytest.mark.parametrize("failure, remembered", [(MemoryError(), False), (RuntimeError("Unsupported ops: FancyOp"), True)])
def test_only_the_models_own_conversion_failures_are_remembered(tmp_path, monkeypatch, failure, remembered):
    # Memory short for a moment (another model loading) cost the model its ONNX backend until tf2onnx changed.
    from glr.backbones import onnx_backend

    def fail(forward, size, path):
        raise failure

    monkeypatch.setattr(onnx_backend, "export", fail)
    path = tmp_path / "model-32.onnx"
    with pytest.raises(type(failure)):
        onnx_backend.onnx_forward(tmp_path / "model.keras", lambda x: x, 32, path=path)
    assert onnx_backend.failure_marker(path).exists() is remembered


def test_a_damaged_cached_onnx_file_is_converted_again(finished_run, monkeypatch, tmp_path):
    # It was kept: every later load fell back to TensorFlow with ONNX Runtime's "Protobuf parsing failed" as its note.
    from glr.atomic import write_bytes
    from glr.backbones import onnx_backend
    from glr.predict import Predictor

    path = Predictor(finished_run.path)._onnx_file()
    converted = path.read_bytes()
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    cut = tmp_path / "onnx" / path.name
    cut.parent.mkdir()
    cut.write_bytes(converted[:len(converted) // 2])
    monkeypatch.setattr(onnx_backend, "export", lambda forward, size, path: write_bytes(path, converted))
    again = Predictor(finished_run.path, convert="here")
    assert (again.backend, again.backend_note) == ("onnx", None)
    assert cut.read_bytes() == converted


def test_a_model_file_is_hashed_again_only_when_its_stat_changed(monkeypatch, tmp_path):
    # Every load hashed the whole model file for its ONNX cache key: 0.2 s for ResNet152's 230 MB, each time.
    import hashlib
    import os
    import time

    from glr.backbones import features, onnx_backend

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_backend, "_digests", {})
    hashed = []
    monkeypatch.setattr(features, "content_digest", lambda path: hashed.append(path) or hashlib.sha1(
        open(path, "rb").read()).hexdigest())
    model = tmp_path / "model.keras"
    model.write_bytes(b"a" * 1000)
    first = onnx_backend.onnx_path(model, 32)
    assert first.name == f"{hashlib.sha1(b'a' * 1000).hexdigest()}-32.onnx" and len(hashed) == 1
    assert onnx_backend.onnx_path(model, 64).name.startswith(first.name[:40]) and len(hashed) == 1
    onnx_backend._digests.clear()  # another process: it reads what this one remembered
    assert onnx_backend.onnx_path(model, 32) == first and len(hashed) == 1
    stat = model.stat()
    model.write_bytes(b"b" * 1000)  # the same size, another content
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert onnx_backend.onnx_path(model, 32).name.startswith(hashlib.sha1(b"b" * 1000).hexdigest()) and len(hashed) == 2
    time.sleep(0.02)  # past the kernel's coarse clock tick, so the ctime moves on
    model.write_bytes(b"c" * 1000)
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # its time set back as it was: the ctime is not
    assert onnx_backend.onnx_path(model, 32).name.startswith(hashlib.sha1(b"c" * 1000).hexdigest()) and len(hashed) == 3
    onnx_backend._digests.clear()
    (tmp_path / "cache" / "onnx" / onnx_backend.DIGESTS_FILE).write_text("{")  # damaged: only a hash again
    assert onnx_backend.onnx_path(model, 32).name.startswith(hashlib.sha1(b"c" * 1000).hexdigest()) and len(hashed) == 4
    with pytest.raises(GlrError, match="cannot be read"):
        onnx_backend.onnx_path(tmp_path / "gone.keras", 32)
