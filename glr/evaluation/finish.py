"""Finishing a run: evaluate its model, index its training photos, make the app's thumbnails, write its report.

The trainer ends every training with `finish_run`. Each step also stands alone, for a
run that finished long ago: `python -m glr retrieval RUN --rebuild` (and the Results
page's "Build the index") runs `rebuild_index`, which reads the photos back through the
run's split; `python -m glr report RUN` runs `report_run`.

The index holds each training photo's R-MAC vector: the regions of its centre crop's map
averaged with its mirror image's (glr.retrieval.regional; "flip", the whole maps alone, where
the regions would cost a pass of their own), exactly what the predictor computes for a query,
so a training photo finds itself at similarity 1. The head classifies the mean of the two whole
maps. For a frozen backbone the windows and whole maps are the cached features it trained on;
a fine-tuned backbone has new features, so they are computed again with it.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from glr.errors import GlrError
from glr.evaluation import metrics, report
from glr.evaluation.readout import percent
from glr.retrieval import run_index
from glr.training.run import Run, RunError, as_run
from glr.training.run_table import missing_files, not_finished
from glr.training.settings import RunSettings


def _class_indices(table: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Each row's class index, through the labels' landmark_id -> index."""
    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    return table["landmark_id"].astype(int).map(lookup).to_numpy(np.int64)


PREDICT_BATCH = 256  # the head's batch in model.predict


def head_block_rows(classes: int) -> int:
    """The photos in one of `head_blocks`' blocks: whole predict batches of about CHUNK_CELLS values."""
    from glr.evaluation.ranked import CHUNK_CELLS

    return max(PREDICT_BATCH, CHUNK_CELLS // max(1, classes) // PREDICT_BATCH * PREDICT_BATCH)


def head_blocks(head, feats: np.ndarray, classes: int) -> Iterator[np.ndarray]:
    """The head's probabilities of `feats`, a block of rows at a time: at most max(256, CHUNK_CELLS / classes)
    photos x `classes`, whatever the photo count (100,000 photos x 81,313 classes were 32 GB whole).

    A block is a whole number of predict batches, so every value is the one a single `predict` of all gives.
    """
    rows = head_block_rows(classes)
    for start in range(0, len(feats), rows):
        yield head.predict(feats[start:start + rows], verbose=0, batch_size=PREDICT_BATCH)


def head_top1(head, feats: np.ndarray, true: np.ndarray, classes: int) -> float:
    """The head's top-1 accuracy on `feats` (rows of `true`), its probabilities made and dropped block by block."""
    hits, start = 0, 0
    for block in head_blocks(head, feats, classes):
        hits += int(np.sum(block.argmax(1) == true[start:start + len(block)]))
        start += len(block)
    return hits / len(true)


def evaluate_run(run: Run, classifier, val: pd.DataFrame, labels: pd.DataFrame, settings: RunSettings,
                 batch_size: int, val_feats: np.ndarray | None = None,
                 embedding: str | None = None) -> tuple[dict, "Embedded", float | None]:
    """Score the validation photos and write the run's evaluation.

    The head classifies each photo's features as the predictor will: for the index kinds
    "flip" and "rmac" (glr.retrieval.flip, glr.retrieval.regional) the mean of its centre view's
    and its mirror view's, from the feature cache or one more pass; after fine-tuning they are
    computed with the new backbone. `val_feats` (the frozen backbone's single views) serve a
    "single" run as they are. The head's probabilities are made and ranked a block of photos at a time
    (`head_blocks`, glr.evaluation.ranked), never held whole. Returns (metrics, the photos as embedded for the
    index of kind `embedding` (glr.retrieval.regional.Embedded), the single view's top-1 when flip-averaged, else None).
    """
    from glr.retrieval.regional import Embedded, embed_for_index
    from glr.training.model import split_classifier

    kind = _embedding(embedding)
    backbone, head = split_classifier(classifier)
    true = _class_indices(val, labels)
    if val_feats is not None and not settings.fine_tuned and kind == "single":
        embedded = Embedded(val_feats, val_feats, val_feats, np.ones(len(val_feats), bool))
    else:
        embedded = embed_for_index(kind, lambda: backbone, val["path"].tolist(), settings.final_feature_cache(),
                                   input_size=settings.input_size, preprocess=settings.spec.preprocess,
                                   batch_size=batch_size)
    single_top1 = None
    if kind != "single" and len(true):  # what flip averaging changed, recorded with the index
        single_top1 = head_top1(head, embedded.centre, true, len(labels))
    scores = metrics.write_evaluation(run, val["id"].tolist(), val["path"].tolist(), true,
                                      head_blocks(head, embedded.head, len(labels)), labels)
    return scores, embedded, single_top1


def _embedding(embedding: str | None) -> str:
    from glr.retrieval.flip import EMBEDDING, EMBEDDINGS

    embedding = embedding or EMBEDDING
    if embedding not in EMBEDDINGS:
        raise GlrError(f"unknown embedding {embedding!r}: use {' or '.join(EMBEDDINGS)}")
    return embedding


def run_index_kind(classifier, train_photos: int, settings: RunSettings) -> str:
    """The kind of index this run gets by default (glr.retrieval.regional.index_kind)."""
    from glr.retrieval.regional import index_kind
    from glr.training.model import split_classifier

    # Without a cache (random weights) every photo is embedded again, windows and whole maps from one pass.
    cached = settings.map_windows or settings.feature_cache() is None
    return index_kind(split_classifier(classifier)[0], train_photos, settings.fine_tuned, cached)


def index_run(run: Run, classifier, train: pd.DataFrame, val: pd.DataFrame, labels: pd.DataFrame,
              settings: RunSettings, batch_size: int, val_probs: np.ndarray | None = None,
              val_embedded=None, say: Callable[[str], None] | None = None, verify: bool = False,
              embedding: str | None = None, single_view_top1: float | None = None) -> dict:
    """Index the training photos and evaluate head, kNN, blend and the unknown verdict; returns the evaluation.

    `train` and `val` have id, landmark_id and path; photos that fail to decode are left out.
    Features and head probabilities not given are computed (from the feature cache while it
    still describes the run's backbone). `verify` also keeps the training photos' local features
    and calibrates the unknown verdict with spatial verification (glr.retrieval.verify).
    `embedding` ("single", "flip" or "rmac"; by default `run_index_kind`) is how every photo is
    embedded; `val_embedded` and `val_probs`, when given, must be embedded so (evaluate_run's are; the
    probabilities are made from `val_embedded` when not given),
    and `single_view_top1` is the head's top-1 on the single views, recorded beside the flip-averaged one.
    """
    from glr.demo.distractors import distractor_set
    from glr.retrieval.regional import embed_for_index
    from glr.training.model import split_classifier

    kind = _embedding(embedding or run_index_kind(classifier, len(train), settings))
    say = say or (lambda message: None)
    backbone, head = split_classifier(classifier)
    cache = settings.final_feature_cache()
    common = dict(input_size=settings.input_size, preprocess=settings.spec.preprocess, batch_size=batch_size)

    def embed(table, what: str | None = None):  # (the photos that decoded, their embeddings, the decoded mask)
        embedded = embed_for_index(kind, lambda: backbone, table["path"].tolist(), cache, **common)
        if what and not embedded.ok.any():  # else an IndexError deep in the evaluation, or "no validation images"
            raise GlrError(f"{run.path}: none of the run's {len(table):,} {what} photos can be read now (each replaced by a file "
                           "that is not a photo, or damaged, since training?): there is nothing to index or evaluate")
        return table[embedded.ok].reset_index(drop=True), embedded.decoded(), embedded.ok

    def predict(feats):  # read once by the retrieval evaluation, one block of photos at a time
        return head_blocks(head, feats, len(labels))

    views = {"single": "", "flip": " and their mirror images", "rmac": " and their mirror images, by regions"}[kind]
    say(f"embedding the training and validation photos{views}")
    train, train_embedded, _ = embed(train, "training")
    if val_embedded is None:
        val, val_embedded, ok = embed(val, "validation")
        val_probs = val_probs[ok] if val_probs is not None else predict(val_embedded.head)
        if kind != "single" and len(val):
            single_view_top1 = head_top1(head, val_embedded.centre, _class_indices(val, labels), len(labels))
    elif val_probs is None:  # evaluate_run keeps no probabilities: they are made again, a block at a time
        val_probs = predict(val_embedded.head)
    val_true = _class_indices(val, labels)
    say("embedding the distractors")
    distractors, d_embedded, _ = embed(distractor_set())
    say("evaluating head, kNN and blend")
    # What flip averaging does to the head's top-1 on these photos, beside the flip-averaged one ("methods").
    extra = {"head_top1_single_view": single_view_top1} if kind != "single" and single_view_top1 is not None else {}
    result = run_index.write_run_retrieval(run, labels, train, train_embedded.search, val_true, val_embedded.search,
                                           val_probs, distractors, d_embedded.search, predict(d_embedded.head),
                                           val_paths=val["path"].tolist() if verify else None,
                                           embedding=kind, extra=extra,
                                           train_head_feats=train_embedded.head if kind == "rmac" else None)
    say("making the thumbnails the app shows of the indexed photos")
    make_thumbnails(train["path"].tolist() + val["path"].tolist())
    return result


def thumbnails_in_background(paths: list[str]) -> threading.Thread:
    """Start making these photos' thumbnails in one background thread; join it before `index_run` needs them.

    The trainer starts it when the features are ready: phase 1 keeps about one core of two
    busy, so the thumbnails (2.7 s of a cold demo train when made at the end) take the other.
    """
    thread = threading.Thread(target=make_thumbnails, args=(list(paths), 1), name="glr-thumbnails", daemon=True)
    thread.start()
    return thread


def make_thumbnails(paths: list[str], workers: int = 2) -> int:
    """The Predict page's thumbnails of these photos, made once now rather than on a user's request; how many.

    An extra: a failure is printed and the page makes what is missing when it shows it.
    """
    from glr import thumbnails

    try:
        return thumbnails.make_thumbnails(paths, workers=workers)
    except Exception as exc:  # noqa: BLE001 - the index and the model are already safe on disk
        print(f"thumbnails not made: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 0


def report_run(run: Run | str | os.PathLike) -> Path:
    """Write the run's report (curves, collage, summary); returns its folder."""
    return report.write_report(as_run(run))


def finish_run(run: Run, classifier, train: pd.DataFrame, val: pd.DataFrame, *, batch_size: int,
               val_feats: np.ndarray | None = None, progress=None) -> tuple[dict, list[str]]:
    """The end of a training: evaluate, index, report. Returns the metrics and the problems met.

    The model and its metrics are what a run is for, so only the evaluation may fail the
    run: a failed index is reported in the status (the run still predicts with its head),
    a failed report in the returned problems. `progress` is the trainer's (start/advance/close).
    """
    settings, labels = run.settings(), run.labels()
    progress.start("evaluating", 1, "step")
    kind = run_index_kind(classifier, len(train), settings)
    scores, embedded, single_top1 = evaluate_run(run, classifier, val, labels, settings, batch_size, val_feats, kind)
    # A stop asked now is not heeded: the model is saved, and launch.stop told the user the run ends finished by itself.
    progress.advance(1, heed_stop=False)
    progress.start("indexing", 1, "step", message="building the similarity index")
    too_big = retrieval_too_big(len(val), len(labels), train_photos=len(train), dim=settings.spec.feature_dim)
    if too_big:  # killed for memory, the run would never be marked finished
        print(too_big, file=sys.stderr)
        run.update_status(message=too_big)
    else:
        try:
            # The validation photos' embeddings (flip-averaged, and with the new backbone after fine-tuning) serve again.
            result = index_run(run, classifier, train, val, labels, settings, batch_size,
                               val_embedded=embedded, embedding=kind, single_view_top1=single_top1)
            unknown = result["unknown"]
            run.update_status(message=f"index of {result['index']['items']} photos; "
                                      f"{percent(unknown['distractors_flagged'])} of distractors flagged unknown")
        except Exception as exc:  # noqa: BLE001 - retrieval is an extra; the classifier is already safe on disk
            print(f"retrieval index failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            run.update_status(message=f"the similarity index could not be built: {exc}")
    progress.advance(1, heed_stop=False)
    progress.close()
    # A training stopped at a loss that was no number (glr.training.loop) says so with its outcome.
    problems = [said] if (said := (run.recorded_status() or {}).get("diverged")) else []
    try:
        report_run(run)
    except Exception as exc:  # noqa: BLE001 - the model and metrics are already safe on disk
        problems.append(f"the report could not be written: {exc}")
    return scores, problems


# What the streamed retrieval evaluation holds (glr.retrieval.recognition.method_tops): a few blocks of photo x class
# float32 scores at a time (Keras' output and its batches, the block's blend, their temporaries), and per photo its
# k neighbours (similarities, rows, classes, votes) and each method's best class and score. Measured by
# benchmarks/bench_evaluation.py --retrieval: 500 MB at 81,313 classes, flat from 2,000 to 20,000 photos.
RETRIEVAL_BLOCKS = 6
RETRIEVAL_PHOTO_BYTES = 512
# What building the index holds per training photo, in float32 vectors of the backbone's features: the three kinds of
# embedding (glr.retrieval.regional.Embedded: head, search, centre), the copies of the photos that decoded, and the
# index's own. Counted from the arrays `index_run` holds, not measured: 1.58M photos of GLDv2-clean x 1,280 floats
# are about 57 GB, which would have the trainer killed on a 24 GB machine.
INDEX_PHOTO_VECTORS = 7


def retrieval_too_big(photos: int, classes: int, available: int | None = None, train_photos: int = 0,
                      dim: int = 0) -> str:
    """Why the index of `train_photos` training photos (`dim` features each) and its evaluation of `photos`
    validation photos cannot be made in `available` bytes (by default the memory free now), or "" when they can.

    It is streamed (glr.retrieval.recognition.method_tops): RETRIEVAL_BLOCKS blocks of `head_block_rows` photos x
    `classes` float32 scores (0.5 GB at 81,313 classes) and RETRIEVAL_PHOTO_BYTES per photo, where the dense
    photo x class matrices it held before were 130 GB at 100,000 photos x 81,313 classes. Only a machine nearly
    out of memory now skips it, rather than have the trainer killed before it marks the run finished.
    """
    need = (RETRIEVAL_BLOCKS * 4 * head_block_rows(classes) * classes + RETRIEVAL_PHOTO_BYTES * photos
            + INDEX_PHOTO_VECTORS * 4 * dim * train_photos)
    available = _available_memory() if available is None else available
    if available is None or need <= available:
        return ""
    embeddings = f"{train_photos:,} training photos' embeddings, " if train_photos and dim else ""
    return (f"the similarity index was not built: building and evaluating it holds about {need / 1e9:,.2f} GB "
            f"({embeddings}{photos:,} validation photos, {classes:,} classes) and {available / 1e9:,.2f} GB of memory "
            "is free; the run predicts with its head")


def _available_memory() -> int | None:
    """The memory the system can give now (MemAvailable), in bytes; None where /proc/meminfo cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for row in f:
                if row.startswith("MemAvailable:"):
                    return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def rebuild_index(run: Run | str | os.PathLike, progress: Callable[[str], None] | None = None, verify: bool = False,
                  embedding: str | None = None, single_view_top1: float | None = None) -> dict:
    """Build (or rebuild) the index and retrieval evaluation of a finished run from its model and dataset.

    The new index is embedded as `embedding` says (default: `run_index_kind`, "rmac" where it can be),
    so an older run is upgraded; the predictor follows what the index records.
    """
    from glr.data import datasets
    from glr.data.pipeline import DEFAULT_BATCH_SIZE
    from glr.training.model import load_run_model

    say = progress or (lambda message: None)
    run = as_run(run)
    try:
        settings, root = run.settings(), run.dataset_root()
        labels, split = run.labels(), run.split()
    except RunError as exc:
        raise GlrError(f"{run.path}: {exc}") from None
    missing = missing_files((run.labels_path, run.split_path, run.model_path))
    if labels is None or split is None or missing:  # model.keras: a running or failed run has none yet
        raise GlrError(not_finished(run, missing))
    say("loading the model")
    classifier = load_run_model(run)
    say("reading the dataset")
    try:
        paths = datasets.load_catalog(root).paths_by_id()
    except GlrError as exc:  # moved, renamed or deleted since training: the index is built from the same photos
        raise GlrError(f"{run.path}: the index is built from the run's dataset, which cannot be read now ({exc}); "
                       "put it back where it was trained from") from None
    listed = split["split"].value_counts()
    split = split.assign(path=split["id"].map(paths)).dropna(subset=["path"])
    for part, what in (("train", "training"), ("val", "validation")):
        if not (split["split"] == part).any():  # embedding no photo at all ended in an IndexError
            raise GlrError(f"{run.path}: none of the run's {int(listed.get(part, 0)):,} {what} photos is in its dataset "
                           f"({root}) now: deleted, moved or renamed since training? The index is built from them: "
                           "put them back")
    return index_run(run, classifier, split[split["split"] == "train"], split[split["split"] == "val"], labels,
                     settings, DEFAULT_BATCH_SIZE, say=say, verify=verify, embedding=embedding)
