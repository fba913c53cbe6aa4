"""The open-world half of an export: the run's index and its "not a known landmark" verdict, for predict.py.

An exported classifier alone names one of the run's landmarks for any photo, an astronaut
included. With the run's index beside it, the standalone predict.py does what glr's Predictor
does without glr: it embeds the photo as the index did (the model's second output), finds
the nearest training photos by cosine similarity (numpy, exact), ranks the classes by the
run's method (head, kNN or blend), and calls the photo unknown when its known score falls
below the run's calibrated threshold. The export holds:

- `index_vectors.npy`: the training photos' unit embeddings, float16 (N, D), as the run's index;
- `index_items.csv`: their ids and landmark ids, row for row (no paths: they are this machine's);
- `verdict.json`: the threshold, the known score's formula and head weight, the method and its k.

Spatial verification is not exported (it needs OpenCV and the training photos' local
features): a verified run exports the threshold it calibrated without verification, as its
Predictor uses when verification is unavailable. An index of more than `MAX_EXPORTED_PHOTOS`
photos (about 250 MB at Lite0's 1280 dimensions) is not exported: the export is then the
classifier alone and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from glr.atomic import write_csv
from glr.errors import GlrError
from glr.training.run import Run

if TYPE_CHECKING:
    import pandas as pd

VERDICT_NAME, VECTORS_NAME, ITEMS_NAME = "verdict.json", "index_vectors.npy", "index_items.csv"
MAX_EXPORTED_PHOTOS = 100_000


@dataclass
class PortableVerdict:
    """What an export needs to give the run's verdict: how to embed a photo, the index and the settings."""

    embedding: str  # "single", "flip" or "rmac": what the exported model's second output is
    vectors: np.ndarray  # (N, D) float16 unit rows
    items: "pd.DataFrame"  # id, landmark_id per row
    settings: dict

    def write(self, folder: Path) -> None:
        """The three files of the verdict inside an export folder."""
        np.save(folder / VECTORS_NAME, np.ascontiguousarray(self.vectors, np.float16), allow_pickle=False)
        write_csv(folder / ITEMS_NAME, self.items)  # a machine file (glr.spreadsheet): ids exactly, as predict.py reads them
        (folder / VERDICT_NAME).write_text(json.dumps(self.settings, indent=1), encoding="utf-8")


def portable_verdict(run: Run) -> tuple[PortableVerdict | None, str]:
    """(the run's verdict ready to export, or None; a line saying what the export holds or why it has no verdict).

    The settings are the run's Recognizer's, so predict.py judges a photo as glr's Predictor does.
    """
    from glr.retrieval.recognition import BLEND_WEIGHT, KNN_K
    from glr.retrieval.run_index import Recognizer, load_retrieval

    # A retrieval.json there but damaged is no missing index: Recognizer says which file and how to rebuild it.
    if load_retrieval(run) is None and not run.retrieval_path.exists():
        return None, "classifier only: the run has no embedding index (python -m glr retrieval RUN builds it)"
    try:
        recognizer = Recognizer(run, run.labels())
    except (GlrError, KeyError, TypeError, ValueError) as exc:
        again = "" if "python -m glr retrieval" in str(exc) else "; rebuild it with python -m glr retrieval RUN --rebuild"
        return None, f"classifier only: the run's index cannot be read ({exc}){again}"
    index, verified = recognizer.index, bool(recognizer.retrieval.get("verification"))
    if len(index) > MAX_EXPORTED_PHOTOS:
        return None, (f"classifier only: the index holds {len(index):,} photos, more than the {MAX_EXPORTED_PHOTOS:,} "
                      "an export carries; the verdict needs glr's Predictor")
    threshold = float(recognizer.plain.threshold)  # the one set without verification, which is not exported
    settings = {
        "embedding": recognizer.embedding, "threshold": threshold, "keep_known": recognizer.plain.keep_known,
        "known_score": recognizer.known_formula, "known_head_weight": recognizer.head_weight,
        "method": recognizer.method, "knn_k": KNN_K,
        "blend_weight": float(recognizer.retrieval.get("blend_weight", BLEND_WEIGHT)),
        "verification": "not exported: the threshold is the one calibrated without it" if verified else "none",
    }
    items = index.items[["id", "landmark_id"]].astype({"id": str, "landmark_id": int})
    line = (f"with the verdict: an index of {len(index):,} training photos and the unknown threshold "
            f"{threshold:.3f} (predict.py says 'not a known landmark' as glr does)")
    return PortableVerdict(recognizer.embedding, index.vectors, items, settings), line


# The verdict's half of the exported predict.py (glr.export_script), pasted in as it is: numpy only, and what
# predict.py defines before it (HERE, LABELS, VERDICT).
SOURCE = r'''class Verdict:
    """The run's index and unknown threshold: class scores by its method, the known score, the nearest photo."""

    def __init__(self):
        """The index beside predict.py; ValueError saying which file does not fit (load_all names it and what to do),
        where a cut or hand-edited file was an IndexError or a KeyError at the first photo."""
        self.vectors = np.load(HERE / "index_vectors.npy").astype(np.float32)
        with open(HERE / "index_items.csv", newline="", encoding="utf-8-sig") as f:  # a spreadsheet's BOM read past
            self.items = list(csv.DictReader(f))
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.items) or not self.items:
            rows = len(self.vectors) if self.vectors.ndim == 2 else "no"
            raise ValueError(f"index_vectors.npy holds {rows} photos' vectors but index_items.csv lists {len(self.items)}")
        if not {"id", "landmark_id"} <= set(self.items[0]):
            raise ValueError("index_items.csv has not the columns id and landmark_id")
        index_of = {int(label["landmark_id"]): int(label["index"]) for label in LABELS}
        unknown = {int(item["landmark_id"]) for item in self.items} - set(index_of)
        if unknown:
            raise ValueError(f"index_items.csv names landmark {min(unknown)}, which labels.json does not list")
        self.classes = np.array([index_of[int(item["landmark_id"])] for item in self.items], np.int64)

    def __call__(self, probs, embedding):
        """(class scores, known score, unknown?, the nearest training photo's row and similarity)."""
        if embedding.shape[-1] != self.vectors.shape[1]:  # exit, naming the files, as check_classes does
            sys.exit(f"predict.py: the model's embedding has {embedding.shape[-1]} dimensions but index_vectors.npy "
                     f"holds {self.vectors.shape[1]}: the two files come from different exports; {AGAIN}")
        query = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
        sims = self.vectors @ query.astype(np.float32)
        k = min(VERDICT["knn_k"], len(sims))
        order = np.lexsort((np.arange(len(sims)), -sims))[:k]  # best first; ties keep the lower row
        near, near_classes = sims[order], self.classes[order]
        votes = np.zeros(len(probs), np.float32)
        np.add.at(votes, near_classes, np.clip(near, 0, None))
        votes /= k
        weight = VERDICT["blend_weight"]
        scores = {"head": probs, "knn": votes, "blend": weight * probs + (1 - weight) * votes}[VERDICT["method"]]
        w = VERDICT["known_head_weight"]
        known = w * probs.max() + (1 - w) * near[0]
        if VERDICT["known_score"] == "head+top+margin":  # the gap to the nearest photo of another class
            other = near_classes != near_classes[0]
            margin = max(near[0] - (near[np.argmax(other)] if other.any() else near[-1]), 0.0)
            known = (2 * known + margin) / 3
        return scores, float(known), known < VERDICT["threshold"], self.items[order[0]], float(near[0])
'''
