"""glr.training.model: the study's head, classifier and embedding models; atomic save; safe loading refuses code."""

import json
import re
import numpy as np
import pytest

from conftest import run_with_another_backbones_model
from glr.errors import CheckpointError
from glr.training.model import build_classifier, build_head, load_model, save_model, split_classifier


def tiny_backbone(size=16, dim=6):
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(dim, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="backbone")


def test_head_shape_and_softmax():
    head = build_head(6, num_classes=4, hidden=8, dropout=0.3)
    assert [layer.name for layer in head.layers] == ["features", "l2", "hidden", "dropout", "classes"]
    assert head.get_layer("hidden").units == 8 and head.get_layer("dropout").rate == 0.3
    probs = head(np.random.default_rng(0).normal(size=(5, 6)).astype("float32")).numpy()
    assert probs.shape == (5, 4)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_classifier_roundtrip_and_split(tmp_path):
    backbone = tiny_backbone()
    head = build_head(6, 3, hidden=4)
    model = build_classifier(backbone, head, 16)
    x = np.random.default_rng(1).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    path = save_model(model, tmp_path / "m.keras")
    loaded = load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    back, top = split_classifier(loaded)
    assert top.name == "head" and back.name == "backbone"
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_lambda_layer_is_refused(tmp_path):
    import keras

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(CheckpointError, match="refused to load: the model contains code"):
        load_model(path)


@pytest.mark.parametrize("content, message", [(None, "model file not found"), (b"garbage", "not a .keras model file")])
def test_missing_or_damaged_file(tmp_path, content, message):
    path = tmp_path / "model.keras"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_failed_save_keeps_the_old_file(tmp_path):
    path = save_model(build_head(6, 3, hidden=4), tmp_path / "m.keras")
    before = path.read_bytes()

    class Broken:
        def save(self, target):
            open(target, "wb").write(b"partial")
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        save_model(Broken(), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_a_runs_model_of_another_backbone_is_refused_by_the_run_loader(finished_run, tmp_path):
    # The Predictor refused it; Grad-CAM, the index rebuild and exports loaded the file as it was, and prepared
    # photos for Lite0 for a MobileNetV3 model. One loader for a run's model refuses it for all of them.
    from glr.errors import GlrError
    from glr.training.model import load_run_model

    copy = run_with_another_backbones_model(finished_run, tmp_path)
    with pytest.raises(GlrError, match=r"the model is a mobilenet_v3_small classifier but config\.json says "
                                       r"efficientnet_lite0: the two files come from different runs"):
        load_run_model(copy)
    assert load_run_model(finished_run).output_shape == (None, 3)  # its own model loads


def test_a_runs_model_of_another_size_or_class_count_is_refused_by_every_loader(finished_run, tmp_path):
    # Only the Predictor and Grad-CAM checked the input size and class count: exports, the index rebuild and
    # open-set calibration loaded a model of 4 classes for a run of 3 (or another size) and scored the wrong classes.
    import shutil

    from glr.errors import GlrError
    from glr.export import portable_model
    from glr.training.model import load_run_model
    from glr.training.run import Run

    copy = Run(shutil.copytree(finished_run.path, tmp_path / "classes" / finished_run.path.name))
    labels = json.loads(copy.labels_path.read_text())
    copy.labels_path.write_text(json.dumps(labels + [{**labels[-1], "index": 3, "landmark_id": 99, "name": "x"}]))
    message = r"the model has 3 classes but labels\.json lists 4: the two files come from different runs"
    with pytest.raises(GlrError, match=message):
        load_run_model(copy)
    with pytest.raises(GlrError, match=message):
        portable_model(copy)  # the exports' loader

    sized = Run(shutil.copytree(finished_run.path, tmp_path / "size" / finished_run.path.name))
    config = json.loads(sized.config_path.read_text())
    config["train"]["input_size"] = 64
    sized.config_path.write_text(json.dumps(config))
    with pytest.raises(GlrError, match=r"the model takes 32 px photos but config\.json says 64"):
        load_run_model(sized)


def _resaved_by(run, version: str, config: bytes | None = None) -> None:
    """Make the run's model.keras say Keras `version` saved it (and, given, hold `config` as its description)."""
    import zipfile

    members = {}
    with zipfile.ZipFile(run.model_path) as archive:
        for name in archive.namelist():
            members[name] = archive.read(name)
    members["metadata.json"] = json.dumps({**json.loads(members["metadata.json"]), "keras_version": version}).encode()
    if config is not None:
        members["config.json"] = config
    with zipfile.ZipFile(run.model_path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_finished_runs_model_another_keras_saved_that_will_not_load_names_both_versions(finished_run, tmp_path,
                                                                                             monkeypatch):
    # Only a resume said so: predict, export and Grad-CAM (load_run_model) gave Keras' own words alone.
    import shutil

    import keras

    from glr.errors import CheckpointError
    from glr.training.model import check_run_model, load_run_model
    from glr.training.run import Run

    hint = (f"(it was saved by Keras 2.99.0, and this machine has Keras {keras.__version__}: use this run where Keras "
            "2.99.0 is installed, or install that version)")
    copy = Run(shutil.copytree(finished_run.path, tmp_path / "other" / finished_run.path.name))
    _resaved_by(copy, "2.99.0")

    def unloadable(*args, **kwargs):
        raise TypeError("Could not deserialize class 'Functional'")

    monkeypatch.setattr(keras.models, "load_model", unloadable)
    with pytest.raises(CheckpointError) as caught:
        load_run_model(copy)
    assert str(caught.value).endswith("cannot be loaded (TypeError: Could not deserialize class 'Functional') " + hint)
    _resaved_by(copy, keras.__version__)
    with pytest.raises(CheckpointError) as caught:
        load_run_model(copy)
    assert "saved by Keras" not in str(caught.value)  # this Keras's own file: its failure is no version's
    _resaved_by(copy, "2.99.0", config=b"{not json")
    with pytest.raises(CheckpointError, match="damaged model file .*" + re.escape(hint)):
        check_run_model(copy)  # the description read before loading, as every loader does
