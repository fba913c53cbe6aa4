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


def test_default_backend_is_onnx_and_falls_back_to_tensorflow(finished_run, monkeypatch):
    from glr.backbones import onnx_backend
    from glr.predict import Predictor

    default = Predictor(finished_run.path)
    assert default.backend == "onnx" and default.backend_note is None

    def broken(*args, **kwargs):
        raise RuntimeError("Unsupported ops: SomeOp\nmore details")

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
