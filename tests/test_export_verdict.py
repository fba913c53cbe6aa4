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
