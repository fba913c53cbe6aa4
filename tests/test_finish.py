"""evaluate_run without the whole probability matrix: a stand-in head (a numpy softmax) records what it is asked."""

import types

import numpy as np
import pandas as pd
import pytest

from glr.evaluation import finish, metrics, ranked
from glr.training.model import HEAD_NAME
from glr.training.run import Run


class Head:
    """A linear softmax head with Keras' predict signature; it records how many photos each call classifies."""

    def __init__(self, dim: int, classes: int, seed: int = 0):
        self.weights = np.random.default_rng(seed).normal(size=(dim, classes)).astype(np.float32)
        self.calls: list[int] = []

    def predict(self, feats, verbose=0, batch_size=32):
        self.calls.append(len(feats))
        logits = np.asarray(feats, np.float32) @ self.weights
        logits = np.round(logits)  # ties on the best and across the top 5
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _classifier(head):
    return types.SimpleNamespace(layers=[None, None], get_layer=lambda name: head if name == HEAD_NAME else None)


@pytest.fixture
def validation():
    """600 photos of 40 classes (the last with none), their features and labels."""
    rng = np.random.default_rng(1)
    classes, photos = 40, 600
    labels = pd.DataFrame({"index": range(classes), "landmark_id": range(500, 500 + classes),
                           "name": [f"L{i}" for i in range(classes)], "images": 3})
    true = rng.integers(0, classes - 1, photos)
    val = pd.DataFrame({"id": [f"{i:05d}" for i in range(photos)], "landmark_id": 500 + true,
                        "path": [f"/gone/{i}.jpg" for i in range(photos)]})
    return val, labels, rng.normal(size=(photos, 8)).astype(np.float32)


def test_evaluate_run_classifies_a_block_of_photos_at_a_time(tmp_path, monkeypatch, validation):
    """The head is asked for at most max(256, CHUNK_CELLS / classes) photos at once, never the whole split,
    and the run's evaluation is the one of the whole matrix, file for file."""
    val, labels, feats = validation
    monkeypatch.setattr(ranked, "CHUNK_CELLS", 256 * len(labels))  # blocks of 256 photos
    head = Head(feats.shape[1], len(labels))
    (tmp_path / "run").mkdir()
    settings = types.SimpleNamespace(fine_tuned=False)
    result = finish.evaluate_run(Run(tmp_path / "run"), _classifier(head), val, labels, settings,
                                 batch_size=8, val_feats=feats, embedding="single")
    assert head.calls == [256, 256, 88]  # whole predict batches, then the rest
    scores, embedded, single = result
    assert single is None and embedded.head is feats

    (tmp_path / "whole").mkdir()
    true = finish._class_indices(val, labels)
    whole = metrics.write_evaluation(tmp_path / "whole", val["id"].tolist(), val["path"].tolist(), true,
                                     Head(feats.shape[1], len(labels)).predict(feats), labels)
    assert scores == whole
    for name in ("metrics.json", "val_predictions.csv", "per_class.csv", "confusion.csv"):
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_head_blocks_stay_one_predict_batch_at_many_classes(validation):
    """At GLDv2's 81,313 classes a block is one predict batch of 256 photos (83 MB), however many photos."""
    _, _, feats = validation
    head = Head(feats.shape[1], 3)
    head.predict = lambda x, verbose=0, batch_size=32: head.calls.append(len(x)) or np.ones((len(x), 81_313), np.float32)
    for block in finish.head_blocks(head, feats, 81_313):
        assert block.shape == (len(block), 81_313)
    assert head.calls == [256, 256, 88]


def test_head_top1_counts_hits_over_blocks(monkeypatch, validation):
    val, labels, feats = validation
    monkeypatch.setattr(ranked, "CHUNK_CELLS", 256 * len(labels))
    head = Head(feats.shape[1], len(labels))
    true = finish._class_indices(val, labels)
    assert finish.head_top1(head, feats, true, len(labels)) == np.mean(head.predict(feats).argmax(1) == true)
    assert head.calls == [256, 256, 88, 600]


def test_retrieval_too_big_counts_the_streamed_evaluation_not_dense_matrices():
    """Streamed, GLDv2-clean's 100,000 validation photos x 81,313 classes need about 0.55 GB, not the 130 GB of the
    dense matrices: a machine with 16 GB free (or 1 GB) builds the index; one with 0.2 GB free skips it and says so."""
    assert finish.retrieval_too_big(100, 50, available=10**9) == ""
    assert finish.retrieval_too_big(100_000, 81_313, available=16 * 10**9) == ""
    assert finish.retrieval_too_big(100_000, 81_313, available=10**9) == ""
    why = finish.retrieval_too_big(100_000, 81_313, available=2 * 10**8)
    assert why.startswith("the similarity index was not built") and "0.55 GB" in why and "0.20 GB" in why
    assert "100,000 validation photos, 81,313 classes" in why
    # The photos count per photo, not per class: ten times the photos is not ten times the memory.
    ten = finish.retrieval_too_big(1_000_000, 81_313, available=2 * 10**8)
    assert "1.01 GB" in ten


def test_retrieval_too_big_counts_the_training_photos_embeddings_the_index_holds():
    """GLDv2-clean's 1.58M training photos x 1,280 features held as float32 vectors in several copies while the index
    is built: about 57 GB, which would have the trainer killed on a 24 GB machine before it marked the run finished."""
    assert finish.retrieval_too_big(100_000, 81_313, available=24 * 10**9, train_photos=4_800, dim=1280) == ""
    why = finish.retrieval_too_big(100_000, 81_313, available=24 * 10**9, train_photos=1_580_000, dim=1280)
    assert why.startswith("the similarity index was not built: building and evaluating it holds about 57.18 GB")
    assert "(1,580,000 training photos' embeddings, 100,000 validation photos, 81,313 classes)" in why


def test_finish_run_skips_an_index_too_big_for_memory_and_still_finishes(tmp_path, monkeypatch, validation):
    """At GLDv2 size the index's dense evaluation would have the trainer killed before the run is finished: it is
    skipped with the reason in the status, the evaluation and the report still written."""
    val, labels, _ = validation
    run = Run.create(tmp_path, {"train": {"backbone": "efficientnet_lite0"}}, run_id="20260101-000000-big")
    run.write_labels(labels)
    monkeypatch.setattr(finish, "run_index_kind", lambda *a: "single")
    monkeypatch.setattr(finish, "evaluate_run", lambda *a, **k: ({"top1": 0.5}, None, None))
    monkeypatch.setattr(finish, "index_run", lambda *a, **k: pytest.fail("the index was built"))
    reported = []
    monkeypatch.setattr(finish, "report_run", reported.append)
    monkeypatch.setattr(finish, "_available_memory", lambda: 1000)
    progress = types.SimpleNamespace(start=lambda *a, **k: None, advance=lambda *a, **k: None, close=lambda: None)
    scores, problems = finish.finish_run(run, None, val, val, batch_size=8, progress=progress)
    assert scores == {"top1": 0.5} and problems == [] and reported == [run]
    assert run.status()["message"].startswith("the similarity index was not built")


def test_index_run_asks_the_head_for_one_block_of_photos_at_a_time(tmp_path, monkeypatch, validation):
    """The index's evaluation (validation photos and distractors) asks the head for at most max(256,
    CHUNK_CELLS / classes) photos at once, never a whole set, and writes the files of the whole matrices."""
    from glr.demo import distractors as demo_distractors
    from glr.retrieval import regional, run_index
    from glr.retrieval.regional import Embedded

    val, labels, feats = validation
    rng = np.random.default_rng(2)
    train = val.iloc[:120].assign(id=[f"t{i:04d}" for i in range(120)], path=[f"/gone/t{i}.jpg" for i in range(120)])
    lookup = dict(zip(val["path"], feats)) | {p: rng.normal(size=8).astype(np.float32) for p in train["path"]}
    lookup |= {f"/gone/d{i}.jpg": rng.normal(size=8).astype(np.float32) for i in range(300)}
    decoys = pd.DataFrame({"name": [f"generated:d{i}" for i in range(300)], "source": "generated",
                           "path": [f"/gone/d{i}.jpg" for i in range(300)]})

    def embed(kind, backbone, paths, cache, **common):
        x = np.stack([lookup[p] for p in paths])
        return Embedded(x, x, x, np.ones(len(x), bool))

    monkeypatch.setattr(regional, "embed_for_index", embed)
    monkeypatch.setattr(demo_distractors, "distractor_set", lambda: decoys)
    monkeypatch.setattr(finish, "make_thumbnails", lambda paths: 0)
    monkeypatch.setattr(ranked, "CHUNK_CELLS", 256 * len(labels))  # blocks of 256 photos
    settings = types.SimpleNamespace(final_feature_cache=lambda: None, input_size=32, spec=types.SimpleNamespace(preprocess=None))
    head = Head(feats.shape[1], len(labels))
    (tmp_path / "run").mkdir()
    (tmp_path / "whole").mkdir()
    result = finish.index_run(Run(tmp_path / "run"), _classifier(head), train, val, labels, settings, batch_size=8,
                              embedding="single")
    assert head.calls == [256, 256, 88, 256, 44]  # 600 validation photos, then 300 distractors

    whole = Head(feats.shape[1], len(labels))
    d_feats = np.stack([lookup[p] for p in decoys["path"]])
    expected = run_index.write_run_retrieval(tmp_path / "whole", labels, train, np.stack([lookup[p] for p in train["path"]]),
                                             finish._class_indices(val, labels), feats, whole.predict(feats), decoys,
                                             d_feats, whole.predict(d_feats), embedding="single")
    assert result == expected
    for name in ("retrieval.json", "val_retrieval.csv", "distractors.csv", "index/items.csv", "index/vectors.npy"):
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_a_stop_asked_while_the_run_evaluates_lets_it_finish(tmp_path, monkeypatch, validation):
    """launch.stop says a run evaluating "ends finished by itself", yet the trainer's progress raised StopRequested
    after the evaluation: the run ended "stopped", its index and report never written."""
    from glr.training.progress import Progress

    val, labels, _ = validation
    run = Run.create(tmp_path, {"train": {"backbone": "efficientnet_lite0"}}, run_id="20260101-000000-stop")
    run.write_labels(labels)
    monkeypatch.setattr(finish, "run_index_kind", lambda *a: "single")
    monkeypatch.setattr(finish, "evaluate_run", lambda *a, **k: (run.request_stop(), ({"top1": 0.5}, None, None))[1])
    indexed, reported = [], []
    monkeypatch.setattr(finish, "index_run", lambda *a, **k: indexed.append(1) or {
        "index": {"items": 3}, "unknown": {"distractors_flagged": 1.0}})
    monkeypatch.setattr(finish, "report_run", reported.append)
    scores, problems = finish.finish_run(run, None, val, val, batch_size=8, progress=Progress(run))
    assert scores == {"top1": 0.5} and indexed == [1] and reported == [run]


def _copy_with_data(finished_run, tiny_data, tmp_path):
    """A copy of the finished run whose dataset is a copy of its own (config.json points at it)."""
    import json
    import shutil

    copy, data = tmp_path / "run", tmp_path / "data"
    shutil.copytree(finished_run.path, copy)
    shutil.copytree(tiny_data, data)
    config = json.loads((copy / "config.json").read_text())
    config["train"]["data"] = str(data)
    config.get("dataset", {}).update(root=str(data))
    (copy / "config.json").write_text(json.dumps(config))
    split = Run(copy).split()
    photos = {i: next(data.glob(f"train/{i[0]}/{i[1]}/{i[2]}/{i}.*")) for i in split["id"].astype(str)}
    return copy, split, photos


def test_rebuilding_an_index_whose_photos_are_all_gone_says_so(finished_run, tiny_data, tmp_path):
    # `glr retrieval RUN --rebuild` ended in an IndexError inside the R-MAC embedding when none of the run's validation
    # (or training) photos was left in its dataset, and in one inside the evaluation when none of them decoded.
    from glr.errors import GlrError

    copy, split, photos = _copy_with_data(finished_run, tiny_data, tmp_path)
    before = (copy / "retrieval.json").read_bytes()
    val = split.loc[split["split"] == "val", "id"].astype(str)
    kept = {i: photos[i].read_bytes() for i in val}
    for i in val:
        photos[i].unlink()
    with pytest.raises(GlrError, match=f"none of the run's {len(val)} validation photos is in its dataset"):
        finish.rebuild_index(copy)
    for i, content in kept.items():
        photos[i].write_bytes(content)
    train = split.loc[split["split"] == "train", "id"].astype(str)
    for i in train:
        photos[i].write_bytes(b"not a photo")
    with pytest.raises(GlrError, match=f"none of the run's {len(train)} training photos can be read now"):
        finish.rebuild_index(copy)
    assert (copy / "retrieval.json").read_bytes() == before  # the index there is kept
