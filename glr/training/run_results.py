"""The results of a run that its training or `retrieval --rebuild` add at the end: the evaluation and the index.

`Run` (glr.training.run) carries these methods, as it carries its status's; they read through
its `_json` and `_csv` (None for a file not written yet, RunError naming a damaged one) and
write through its `write_file` (atomic, and never into a run folder deleted meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glr.atomic import write_csv, write_json
from glr.spreadsheet import write_csv as write_people_csv  # cells a spreadsheet would run as formulas escaped

if TYPE_CHECKING:
    import pandas as pd

# Text columns stay text: an all-digit GLDv2 id must keep its leading zeros.
_PREDICTION_TEXT = {"id": str, "path": str, "top5": str, "true_name": str, "pred_name": str}


class RunResults:
    """The evaluation and similarity-index methods of `Run`, which provides the paths, `_json`, `_csv` and `write_file`."""

    # -- evaluation -----------------------------------------------------------------------
    def metrics(self) -> dict | None:
        """The headline metrics on the validation split, or None before the run was evaluated; RunError naming the
        file when it is not a JSON object of scores."""
        from glr.training.run import RunError  # run.py builds Run on this class: imported when used

        scores = self._json(self.metrics_path)
        if scores is not None and not isinstance(scores, dict):
            raise RunError(f"{self.metrics_path} is damaged: not a JSON object of scores")
        return scores

    def per_class(self) -> "pd.DataFrame | None":
        """Precision, recall, F1 and support per class, or None."""
        return self._csv(self.per_class_path, dtype={"name": str})

    def predictions(self) -> "pd.DataFrame | None":
        """One row per validation image: truth, prediction, confidence, top-5; or None."""
        return self._csv(self.predictions_path, dtype=_PREDICTION_TEXT)

    def write_evaluation(self, predictions: "pd.DataFrame", per_class: "pd.DataFrame", confusion: "pd.DataFrame",
                         metrics: dict) -> None:
        """Store an evaluation. The metrics come last: once they exist, the other files are complete."""
        self.write_file(write_people_csv, self.predictions_path, predictions)
        self.write_file(write_people_csv, self.per_class_path, per_class)
        self.write_file(write_csv, self.confusion_path, confusion.reset_index())  # the true class index becomes the first column
        self.write_file(write_json, self.metrics_path, metrics)

    # -- the similarity index -------------------------------------------------------------
    def retrieval(self) -> dict | None:
        """The retrieval evaluation (head vs kNN vs blend, the unknown threshold), or None without an index."""
        return self._json(self.retrieval_path)

    def write_retrieval(self, index, distractors: "pd.DataFrame", val: "pd.DataFrame", retrieval: dict) -> None:
        """Store an embedding index (`index.save(folder)`) and its evaluation, the evaluation last."""
        self.write_file(index.save, self.index_dir)
        self.write_file(write_people_csv, self.distractors_path, distractors)
        self.write_file(write_csv, self.val_retrieval_path, val)
        self.write_file(write_json, self.retrieval_path, retrieval)  # once it exists, the index is complete
