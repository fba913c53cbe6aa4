"""glr.export_verdict: what of a run's index and unknown verdict an export carries, read from the run's files."""

from __future__ import annotations

import json
import shutil

import numpy as np

from glr.export_verdict import ITEMS_NAME, VECTORS_NAME, VERDICT_NAME, portable_verdict
from glr.retrieval.index import EmbeddingIndex
from glr.training.run import Run


def copy_of(run: Run, tmp_path) -> Run:
    """A copy of a finished run to edit, without its exports."""
    return Run(shutil.copytree(run.path, tmp_path / "runs" / "copy", ignore=shutil.ignore_patterns("export")))


def test_the_verdict_is_the_runs_index_and_calibration(finished_run, tmp_path):
    verdict, line = portable_verdict(finished_run)
    retrieval = finished_run.retrieval()
    index = EmbeddingIndex.load(finished_run.index_dir)
    assert verdict.embedding == retrieval["embedding"] and line.startswith("with the verdict")
    assert verdict.settings["threshold"] == retrieval["unknown"]["threshold"]
    assert verdict.settings["known_head_weight"] == retrieval["known_head_weight"]
    assert verdict.settings["method"] == retrieval["default_method"] and verdict.settings["verification"] == "none"
    verdict.write(tmp_path)
    vectors = np.load(tmp_path / VECTORS_NAME)
    assert vectors.dtype == np.float16 and np.array_equal(vectors, index.vectors)  # the index's own unit rows
    items = (tmp_path / ITEMS_NAME).read_text().splitlines()
    assert items[0] == "id,landmark_id" and len(items) == len(index) + 1  # no paths: they are this machine's
    assert json.loads((tmp_path / VERDICT_NAME).read_text()) == verdict.settings


def test_a_verified_run_exports_the_threshold_set_without_verification(finished_run, tmp_path):
    run = copy_of(finished_run, tmp_path)
    retrieval = run.retrieval()
    retrieval["verification"] = {"k": 5, "plain_threshold": 0.123}
    run.retrieval_path.write_text(json.dumps(retrieval))
    verdict, _ = portable_verdict(run)
    assert verdict.settings["threshold"] == 0.123  # verification needs OpenCV and local features: not exported
    assert verdict.settings["verification"].startswith("not exported")


def test_an_index_of_an_unknown_kind_is_not_exported(finished_run, tmp_path):
    run = copy_of(finished_run, tmp_path)
    retrieval = run.retrieval()
    retrieval["embedding"] = "learned-by-a-newer-glr"
    run.retrieval_path.write_text(json.dumps(retrieval))
    verdict, line = portable_verdict(run)
    assert verdict is None and line.startswith("classifier only: the run's index cannot be read")


def test_a_damaged_index_is_said_to_be_damaged_with_one_way_to_rebuild_it(finished_run, tmp_path):
    """A retrieval.json cut short was "the run has no embedding index", where glr predict said it is damaged; a damaged
    index said how to rebuild it twice, in two ways (`glr retrieval RUN`, then `glr retrieval RUN --rebuild`)."""
    run = copy_of(finished_run, tmp_path)
    run.retrieval_path.write_text('{"knn_k": 10,')
    verdict, line = portable_verdict(run)
    assert verdict is None and line.startswith("classifier only: the run's index cannot be read")
    assert "retrieval.json: damaged" in line and line.count("python -m glr retrieval") == 1, line
    shutil.copy(finished_run.retrieval_path, run.retrieval_path)
    (run.index_dir / "vectors.npy").write_bytes(b"not an array")
    verdict, line = portable_verdict(run)
    assert verdict is None and "vectors.npy" in line and line.count("python -m glr retrieval") == 1, line
    run.retrieval_path.unlink()
    assert portable_verdict(run) == (None, "classifier only: the run has no embedding index "
                                           "(python -m glr retrieval RUN builds it)")


def verdict_export(folder, embedding, items: str = "id,landmark_id\nabc,7\ndef,8\n", vectors=None, **settings):
    """predict.py's template with a verdict beside it (two training photos, abc of Tower and def of Pont, on two axes;
    the known score the nearest similarity) and a model giving Tower 0.6 and `embedding`, loaded as a module (SystemExit
    when it refuses its files); `settings` change verdict.json's."""
    from conftest import write_image
    from test_export import template_script

    folder.mkdir(parents=True)
    settings = {"embedding": "single", "threshold": 0.5, "keep_known": 0.9, "known_score": "head+top",
                "known_head_weight": 0.0, "method": "head", "knn_k": 5, "blend_weight": 0.5, "verification": "none",
                **settings}
    (folder / VERDICT_NAME).write_text(json.dumps(settings))
    np.save(folder / VECTORS_NAME, np.array([[1, 0, 0], [0, 1, 0]], np.float16) if vectors is None else vectors)
    (folder / ITEMS_NAME).write_text(items, encoding="utf-8")
    write_image(folder.parent / "a.jpg", seed=1, size=60)
    script = template_script(folder, [{"index": 0, "landmark_id": 7, "name": "Tower"},
                                      {"index": 1, "landmark_id": 8, "name": "Pont"}])
    script.load_model = lambda: (lambda x: (np.array([[0.6, 0.4]], np.float32), embedding))
    return script


def test_predict_py_never_rounds_a_similarity_onto_1_nor_a_score_onto_its_threshold(tmp_path, capsys):
    """predict.py printed "similarity 1.000" for a photo at 0.9996, "known score 1.000 < 1.000" and a class at 0.9996
    as "1.000", where glr predict says each number by glr.evaluation.readout's rules (similarity, apart): it does so
    now, with those functions copied."""
    from glr.evaluation import readout
    from glr.predict import TRAINING_PHOTO_NOTE

    embedding = np.array([[0.9996, np.sqrt(1 - 0.9996 ** 2), 0]], np.float32)
    script = verdict_export(tmp_path / "export", embedding, threshold=0.99961)
    assert script.main([str(tmp_path / "a.jpg")]) == 0
    lines = capsys.readouterr().out.splitlines()
    near = float(np.float32(embedding[0, 0]))
    score, threshold = readout.apart(near, 0.99961)
    assert (score, threshold, readout.similarity(near)) == ("0.99960", "0.99961", "0.9996")
    assert lines[0] == f"{tmp_path / 'a.jpg'}  NOT A KNOWN LANDMARK (known score {score} < {threshold}); nearest " \
        "training photo abc (landmark 7, similarity 0.9996)"
    note = TRAINING_PHOTO_NOTE.format(photo="training photo abc, Tower", similarity="0.9996")
    assert lines[1] == f"  note: {note}"
    assert lines[2:] == ["  1. Tower (landmark 7): 0.600", "  2. Pont (landmark 8): 0.400"]
    script.load_model = lambda: (lambda x: (np.array([[0.9996, 0.0004]], np.float32), embedding))
    assert script.main([str(tmp_path / "a.jpg")]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == ["  1. Tower (landmark 7): 0.9996", "  2. Pont (landmark 8): 0.0004"]
