"""The trainer: a curated split in, a finished run folder out.

Phase 1 trains the study's head on cached backbone features. The backbone is frozen, so
its output for a given image and augmented view never changes: the cache holds the views
of every training image and the clean view of every validation image, and each epoch
draws one view per image at random. An epoch then costs milliseconds, not a backbone pass
over every image. By default the views are windows of the backbone's feature map of the
whole photo, one backbone pass per training photo (glr.backbones.features.window_features); with
`augment_space="images"` they are K augmented crops and flips, one pass each.

Phase 2 (optional, off by default on a CPU) fine-tunes the backbone's last layers end to
end on live augmentation, with BatchNorm in inference mode and a low learning rate.

Everything the trainer knows goes into the run folder as it goes (status, history,
checkpoints), so the app can follow it, a stop request ends it cleanly after the current
batch, and `--resume` continues from the last checkpoint with the epochs numbered on.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import glr
from glr.data import datasets
from glr.training import runs
from glr.atomic import read_json, write_csv, write_json
from glr.backbones.registry import build_backbone, get_backbone
from glr.training.config import TrainConfig
from glr.errors import GlrError
from glr.backbones.features import FeatureCache, cached_features, content_digest
from glr.training.model import build_classifier, build_head, load_model, save_model, split_classifier
from glr.paths import cache_dir

HISTORY_COLUMNS = ["phase", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_top5", "lr", "seconds"]
LAST, BEST, STATE = "last.keras", "best.keras", "state.json"


class StopRequested(Exception):
    """The user asked the run to stop; raised between phases, caught by `train_run`."""


def now() -> str:
    """An ISO timestamp in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    """Versions that decide whether a run can be reproduced (read from package metadata, so
    the app's Start button does not have to import TensorFlow)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"glr": glr.__version__, "python": platform.python_version()}
    for package in ("tensorflow", "keras", "numpy", "pandas", "scikit-learn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def split_fingerprint(split: datasets.Split) -> str:
    """A short hash of the curated split (ids, classes, sides): changes if the data changes."""
    table = split.table().sort_values("id")
    return hashlib.sha1(table.to_csv(index=False).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- progress
@dataclass
class Progress:
    """Reports progress to status.json (for the app) and, optionally, a terminal bar."""

    run: "runs.Run"
    console: bool = False

    def __post_init__(self):
        self._bar = None

    def start(self, phase: str, total: int, unit: str, **status) -> None:
        """Begin a stage of `total` units (images, batches)."""
        self.close()
        self.step, self.total = 0, total
        desc = status.pop("desc", phase)
        self.run.update_status(phase=phase, step=0, steps=total, message=status.pop("message", phase), **status)
        if self.console and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    def advance(self, n: int = 1, **status) -> None:
        """Add n units; status.json is refreshed at most once a second."""
        self.step += n
        if self._bar:
            self._bar.update(n)
        self.run.report_progress(force=self.step >= self.total, step=self.step, steps=self.total, **status)
        if self.run.stop_requested():
            raise StopRequested

    def close(self) -> None:
        """End the terminal bar, if any."""
        if self._bar:
            self._bar.close()
            self._bar = None


# --------------------------------------------------------------------------- callbacks
def _callbacks():
    """Keras callback classes, defined when Keras is imported (it is heavy)."""
    import keras

    class RunCallback(keras.callbacks.Callback):
        """Writes history.csv, status and checkpoints each epoch; stops after a batch on request."""

        def __init__(self, trainer: "Trainer", phase: int, epochs: int, steps: int):
            super().__init__()
            self.trainer, self.phase, self.epochs, self.steps = trainer, phase, epochs, steps
            self.stopped = False

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.monotonic()
            self.trainer.progress.start(f"phase {self.phase}: epoch {epoch + 1}/{self.epochs}", self.steps, "batch",
                                        epoch=epoch, epochs=self.epochs, desc=f"epoch {epoch + 1}")

        def on_train_batch_end(self, batch, logs=None):
            try:
                self.trainer.progress.advance(1)
            except StopRequested:
                self.stopped = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.trainer.progress.close()
            if self.stopped:
                # A partial epoch: keep its weights as the last checkpoint, but do not count it;
                # resume redoes this epoch, so history has no gap and no duplicate.
                self.trainer.save_checkpoint(self.model, self.phase, epoch, partial=True)
                return
            logs = logs or {}
            row = {"phase": self.phase, "epoch": epoch + 1, "loss": logs.get("loss"),
                   "accuracy": logs.get("accuracy"), "val_loss": logs.get("val_loss"),
                   "val_accuracy": logs.get("val_accuracy"), "val_top5": logs.get("val_top5"),
                   "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                   "seconds": round(time.monotonic() - self.t0, 3)}
            # History first, checkpoint second: a kill between the two leaves a history row
            # past the checkpoint, which resume trims, never a checkpoint with no row.
            self.trainer.append_history(row)
            self.trainer.save_checkpoint(self.model, self.phase, epoch + 1, val_loss=logs.get("val_loss"))
            if self.trainer.console:
                print(f"epoch {epoch + 1:>3}  loss {row['loss']:.4f}  acc {row['accuracy']:.3f}  "
                      f"val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.3f}  top5 {row['val_top5']:.3f}")

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        """EarlyStopping whose patience counter survives a stop and resume."""

        def __init__(self, best: float | None, wait: int, **kwargs):
            super().__init__(**kwargs)
            self._resume_best, self._resume_wait = best, wait

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if self._resume_best is not None:
                self.best, self.wait = self._resume_best, self._resume_wait

    return RunCallback, ResumableEarlyStopping


# --------------------------------------------------------------------------- trainer
class Trainer:
    """Trains one run folder. Use `train_run` rather than this class directly."""

    def __init__(self, run: "runs.Run", config: TrainConfig, console: bool = False):
        self.run, self.cfg, self.console = run, config, console
        self.progress = Progress(run, console)
        self.spec = get_backbone(config.backbone)
        self.input_size = int(config.input_size or self.spec.input_size)
        self._backbone = None
        self._map_model = None
        self.ckpt_dir = run.path / "checkpoints"
        self.phase_end = config.epochs  # the last epoch number of the phase being trained

    # -- run folder -----------------------------------------------------------------
    def append_history(self, row: dict) -> None:
        """Add one epoch to history.csv (atomic rewrite of the small file)."""
        history = self.run.history()
        history = pd.concat([history, pd.DataFrame([row])], ignore_index=True)[HISTORY_COLUMNS]
        write_csv(self.run.path / "history.csv", history)
        self.run.update_status(epoch=int(row["epoch"]), message=f"epoch {row['epoch']}: val_accuracy {row['val_accuracy']:.3f}")

    def save_checkpoint(self, model, phase: int, epoch: int, val_loss: float | None = None, partial: bool = False) -> None:
        """Save `last` (and `best` when val_loss improved) with the state needed to resume."""
        state = self.checkpoint_state() or {}
        best = state.get("best_val_loss") if state.get("phase") == phase else None
        wait = state.get("wait", 0) if state.get("phase") == phase else 0
        improved = val_loss is not None and (best is None or val_loss < best)
        if improved:
            save_model(model, self.ckpt_dir / BEST)
            best, wait = val_loss, 0
        elif not partial:
            wait += 1
        save_model(model, self.ckpt_dir / LAST)
        write_json(self.ckpt_dir / STATE, {"phase": phase, "epoch": epoch, "end": self.phase_end, "partial": partial,
                                           "best_val_loss": best, "wait": wait, "saved": now()})

    def checkpoint_state(self) -> dict | None:
        """The last checkpoint's state, or None."""
        path = self.ckpt_dir / STATE
        return read_json(path) if path.exists() else None

    def trim_history(self, epochs_done: int) -> None:
        """Drop history rows past the last checkpoint (written before a crash)."""
        history = self.run.history()
        if len(history) and history["epoch"].max() > epochs_done:
            write_csv(self.run.path / "history.csv", history[history["epoch"] <= epochs_done])

    # -- data -----------------------------------------------------------------------
    def prepare_data(self, resume: bool) -> None:
        """Load, curate and split; write labels.json and split.csv; refuse a changed dataset on resume."""
        from glr.demo import dataset as demo

        self.progress.start("reading the dataset", 1, "step")
        root = self.cfg.data or str(demo.ensure_demo())
        catalog = datasets.load_catalog(root)
        split = datasets.curate(catalog, top_n=self.cfg.top_n, min_images=self.cfg.min_images,
                                val_fraction=self.cfg.val_fraction, seed=self.cfg.seed)
        fingerprint = split_fingerprint(split)
        config = self.run.config()
        if resume and config.get("dataset", {}).get("fingerprint") not in (None, fingerprint):
            raise GlrError(f"the dataset at {root} changed since this run started "
                           "(different images or classes); start a new run instead of resuming")
        config["dataset"] = {"root": str(catalog.root), "layout": catalog.layout, "images": len(split.train) + len(split.val),
                             "classes": split.num_classes, "train": len(split.train), "val": len(split.val),
                             "fingerprint": fingerprint, "problems": catalog.problems + split.messages}
        write_json(self.run.path / "config.json", config)
        write_json(self.run.path / "labels.json", split.labels[["index", "landmark_id", "name", "images"]].to_dict("records"))
        write_csv(self.run.path / "split.csv", split.table())
        self.train, self.val, self.labels = split.train, split.val, split.labels
        self.progress.advance(1)

    def backbone(self):
        """The frozen backbone, built on first use (a fully cached run never builds it for features)."""
        if self._backbone is None:
            self.run.update_status(message=f"building {self.spec.name}")
            self._backbone = build_backbone(self.spec.name, weights=self.cfg.weights, input_size=self.input_size)
            self._backbone.trainable = False
        return self._backbone

    def cache(self) -> FeatureCache | None:
        """The feature cache for this backbone, weights and size (None for random weights)."""
        weights = self.cfg.weights
        if weights is None:
            return None  # random weights differ per build, so their features cannot be reused
        tag = "imagenet" if weights == "imagenet" else content_digest(weights)[:12]
        return FeatureCache(cache_dir() / "features", f"{self.spec.name}-{self.input_size}-{tag}")

    def map_model(self):
        """The backbone's spatial feature map for whole photos at the load size (built on first use)."""
        if self._map_model is None:
            from glr.backbones.features import spatial_model
            from glr.data.pipeline import load_size

            self.run.update_status(message=f"building {self.spec.name} at {load_size(self.input_size)} px")
            # The same weights as the backbone's (copying them is quicker than loading them again,
            # and for random init it is the only way to get the same ones).
            big = build_backbone(self.spec.name, weights=None, input_size=load_size(self.input_size))
            big.set_weights(self.backbone().get_weights())
            self._map_model = spatial_model(big)
            if self._map_model is None:
                raise GlrError(f"{self.spec.name} does not end in global average pooling, so its crops cannot "
                               "be taken in feature space; train with --augment-space images")
        return self._map_model

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """(train features (N, K, D), val features (M, D)); images that fail to decode are dropped."""
        from glr.backbones.features import cached_window_features
        from glr.data.pipeline import load_size

        cache = self.cache()
        windows = self.cfg.augment and self.cfg.augment_space == "features"
        views = [] if windows else list(range(0, self.cfg.views + 1)) if self.cfg.augment else [0]
        digests = {name: [content_digest(p) for p in df["path"]] for name, df in (("train", self.train), ("val", self.val))}
        total = len(self.val) + len(self.train) * (1 if windows else len(views))
        self.progress.start("extracting features", total, "img", desc="features")
        computed = 0
        common = dict(input_size=self.input_size, preprocess=self.spec.preprocess,
                      batch_size=self.cfg.batch_size, progress=self.progress.advance)
        val, val_ok, n = cached_features(self.backbone, self.val["path"].tolist(), digests["val"], 0, cache, **common)
        computed += n
        train_views, train_ok = [], np.ones(len(self.train), bool)
        if windows:
            # One pass per photo; its views are windows of the feature map (view 0: the whole map).
            train_feats, train_ok, n = cached_window_features(
                self.map_model, self.train["path"].tolist(), digests["train"], cache,
                load_size=load_size(self.input_size), **common)
            computed += n
        for view in views:
            feats, ok, n = cached_features(self.backbone, self.train["path"].tolist(), digests["train"], view, cache, **common)
            train_views.append(feats)
            train_ok &= ok
            computed += n
        self.progress.close()
        self.run.update_status(features_computed=computed)
        bad = int((~train_ok).sum() + (~val_ok).sum())
        if bad:
            names = pd.concat([self.train.loc[~train_ok, "path"], self.val.loc[~val_ok, "path"]]).head(3).tolist()
            self.run.update_status(message=f"{bad} images could not be decoded and were left out (e.g. {names})")
        self.train, self.val = self.train[train_ok].reset_index(drop=True), self.val[val_ok].reset_index(drop=True)
        if not windows:
            train_feats = np.stack(train_views, axis=1)
        return train_feats[train_ok], val[val_ok]

    # -- phase 1 --------------------------------------------------------------------
    def head_dataset(self, feats: np.ndarray, labels: np.ndarray):
        """Each epoch: every training image once, as one of its K cached views at random."""
        import tensorflow as tf

        n, k = feats.shape[:2]
        table = tf.constant(feats)
        ds = tf.data.Dataset.from_tensor_slices((np.arange(n, dtype=np.int32), labels.astype(np.int32)))
        ds = ds.shuffle(n, seed=self.cfg.seed, reshuffle_each_iteration=True)
        pick = lambda i, y: (table[i, tf.random.uniform((), 0, k, dtype=tf.int32, seed=self.cfg.seed)], y)  # noqa: E731
        # A sequential map: the random view draws then come in the same order every run,
        # which keeps training repeatable for a given seed (the gather costs microseconds).
        ds = ds.map(pick).batch(self.cfg.batch_size)
        return self.one_hot(ds).prefetch(tf.data.AUTOTUNE)

    def compile(self, model, learning_rate: float) -> None:
        """Adam and cross-entropy (with label smoothing, so on one-hot targets), as in the study."""
        import keras

        loss = keras.losses.CategoricalCrossentropy(label_smoothing=self.cfg.label_smoothing)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                      metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])

    def one_hot(self, ds):
        """Map (x, class index) batches to (x, one-hot) for the categorical loss."""
        import tensorflow as tf

        n = len(self.labels)
        return ds.map(lambda x, y: (x, tf.one_hot(y, n)), num_parallel_calls=tf.data.AUTOTUNE)

    def fit(self, model, phase: int, train_ds, val_data, first_epoch: int, epochs: int, steps: int) -> bool:
        """Run Keras fit with the run callbacks; returns False if a stop was requested."""
        RunCallback, ResumableEarlyStopping = _callbacks()
        state = self.checkpoint_state() or {}
        same_phase = state.get("phase") == phase
        callback = RunCallback(self, phase, epochs, steps)
        stopper = ResumableEarlyStopping(
            state.get("best_val_loss") if same_phase else None, state.get("wait", 0) if same_phase else 0,
            monitor="val_loss", patience=self.cfg.patience)
        if first_epoch < epochs:
            model.fit(train_ds, validation_data=val_data, epochs=epochs, initial_epoch=first_epoch,
                      callbacks=[callback, stopper], verbose=0, shuffle=False)
        return not callback.stopped

    def phase1(self, train_feats: np.ndarray, val_feats: np.ndarray, resume_state: dict | None):
        """Train the head on cached features; returns the best head."""
        import keras

        keras.utils.set_random_seed(self.cfg.seed)
        y_train, y_val = self.train["label"].to_numpy(), self.val["label"].to_numpy()
        if resume_state and resume_state["phase"] == 1:
            head = load_model(self.ckpt_dir / LAST, compile=True)
            first = resume_state["epoch"]
        else:
            head = build_head(train_feats.shape[-1], len(self.labels), self.cfg.hidden, self.cfg.dropout, self.cfg.seed)
            self.compile(head, self.cfg.learning_rate)
            first = 0
        self.run.update_status(phase="phase 1: training the head")
        steps = int(np.ceil(len(y_train) / self.cfg.batch_size))
        val_data = (val_feats, np.eye(len(self.labels), dtype=np.float32)[y_val])
        done = self.fit(head, 1, self.head_dataset(train_feats, y_train), val_data, first, self.cfg.epochs, steps)
        if not done:
            raise StopRequested
        if (self.ckpt_dir / BEST).exists():
            head = load_model(self.ckpt_dir / BEST)
        return head

    # -- phase 2 --------------------------------------------------------------------
    def phase2(self, head, resume_state: dict | None):
        """Fine-tune the backbone's last layers end to end, epochs numbered after phase 1."""
        import keras

        from glr.data.pipeline import make_dataset

        if resume_state and resume_state["phase"] == 2:
            model = load_model(self.ckpt_dir / LAST, compile=True)
            backbone, head = split_classifier(model)
            first, self.phase_end = resume_state["epoch"], resume_state["end"]
        else:
            backbone = self.backbone()
            model = build_classifier(backbone, head, self.input_size)
            first = int(self.run.history()["epoch"].max())
            self.phase_end = first + self.cfg.fine_tune_epochs
        backbone.trainable = True
        # Unfreeze only the last layers; BatchNorm stays frozen (and in inference mode).
        for layer in backbone.layers[: -self.cfg.fine_tune_layers]:
            layer.trainable = False
        for layer in backbone.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        if not (resume_state and resume_state["phase"] == 2):
            self.compile(model, self.cfg.fine_tune_learning_rate)
        common = dict(input_size=self.input_size, preprocess=self.spec.preprocess, batch_size=self.cfg.batch_size)
        train_ds = self.one_hot(make_dataset(self.train["path"].tolist(), self.train["label"], training=self.cfg.augment,
                                             shuffle=True, seed=self.cfg.seed, **common))
        val_ds = self.one_hot(make_dataset(self.val["path"].tolist(), self.val["label"], **common))
        self.run.update_status(phase="phase 2: fine-tuning")
        steps = int(np.ceil(len(self.train) / self.cfg.batch_size))
        if not self.fit(model, 2, train_ds, val_ds, first, self.phase_end, steps):
            raise StopRequested
        return load_model(self.ckpt_dir / BEST) if (self.ckpt_dir / BEST).exists() else model

    # -- the whole run --------------------------------------------------------------
    def train(self, resume: bool = False) -> dict:
        """Run every stage; returns the metrics. Raises StopRequested if asked to stop."""
        from glr.evaluation import metrics

        resume_state = self.checkpoint_state() if resume else None
        self.trim_history(resume_state["epoch"] if resume_state else 0)
        self.prepare_data(resume)
        train_feats, val_feats = self.features()
        if resume_state is None or resume_state["phase"] == 1:
            head = self.phase1(train_feats, val_feats, resume_state)
            if self.cfg.fine_tune and self.cfg.fine_tune_epochs:
                (self.ckpt_dir / BEST).unlink(missing_ok=True)  # phase 2's best is judged on its own
                classifier = self.phase2(head, None)
            else:
                classifier = build_classifier(self.backbone(), head, self.input_size)
        else:
            classifier = self.phase2(None, resume_state)

        self.progress.start("evaluating", 1, "step")
        save_model(classifier, self.run.path / "model.keras")
        if self.cfg.fine_tune and self.cfg.fine_tune_epochs:
            from glr.backbones.features import compiled_forward
            from glr.data.pipeline import make_dataset

            forward = compiled_forward(classifier)
            ds = make_dataset(self.val["path"].tolist(), input_size=self.input_size, preprocess=self.spec.preprocess,
                              batch_size=self.cfg.batch_size)
            probs = np.concatenate([forward(batch).numpy() for batch in ds])
        else:
            _, head = split_classifier(classifier)
            probs = head.predict(val_feats, verbose=0, batch_size=256)
        result = metrics.write_evaluation(self.run.path, self.val["id"].tolist(), self.val["path"].tolist(),
                                          self.val["label"].to_numpy(), probs, self.labels)
        self.progress.advance(1)
        self.retrieval(classifier, val_feats, probs)
        self.progress.close()
        return result

    def retrieval(self, classifier, val_feats: np.ndarray, val_probs: np.ndarray) -> None:
        """Index the training photos and evaluate kNN, blend and the unknown verdict (glr.retrieval.run_index).

        The index holds each training photo's clean centre view, exactly what the predictor
        computes for a query, so a training photo finds itself at similarity 1. A failure
        here is reported in the status message; the model and metrics already written stay
        valid, so the run still finishes.
        """
        from glr.retrieval import run_index
        from glr.backbones.features import extract_features

        self.progress.start("indexing", 1, "step", message="building the similarity index")
        try:
            backbone, head = split_classifier(classifier)
            common = dict(input_size=self.input_size, preprocess=self.spec.preprocess, batch_size=self.cfg.batch_size)
            cache = self.cache()
            paths = self.train["path"].tolist()
            if self.cfg.fine_tune and self.cfg.fine_tune_epochs:
                # The fine-tuned backbone has new features: embed the photos again with it.
                cache = None
                train_feats, _ = extract_features(backbone, paths, **common)
                val_feats, _ = extract_features(backbone, self.val["path"].tolist(), **common)
            else:  # view 0 of every training photo: from the feature cache unless it trained on other views
                train_feats, _, _ = cached_features(lambda: backbone, paths, [content_digest(p) for p in paths], 0,
                                                    cache, **common)
            distractors, d_feats = run_index.distractor_features(lambda: backbone, cache, **common)
            d_probs = head.predict(d_feats, verbose=0, batch_size=256)
            result = run_index.write_run_retrieval(self.run.path, self.labels, self.train, train_feats,
                                                   self.val["label"].to_numpy(), val_feats, val_probs,
                                                   distractors, d_feats, d_probs)
            unknown = result["unknown"]
            self.run.update_status(message=f"index of {result['index']['items']} photos; "
                                           f"{unknown['distractors_flagged']:.0%} of distractors flagged unknown")
        except Exception as exc:  # noqa: BLE001 - retrieval is an extra; the classifier is already safe on disk
            print(f"retrieval index failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            self.run.update_status(message=f"the similarity index could not be built: {exc}")
        self.progress.advance(1)


def train_run(run: "runs.Run", resume: bool = False, console: bool = False) -> dict:
    """Train `run` under the results folder's lock, recording the outcome in status.json.

    Ends as finished, stopped (on request) or failed (with the traceback). A `GlrError` is
    re-raised for the CLI to print; any other exception too, after it is recorded.
    """
    with runs.training_lock(run.results_dir, run.id):
        runs.install_sigterm_handler(run)
        run.clear_stop_request()
        run.update_status(state="running", pid=os.getpid(), started=now(), finished=None,
                          traceback=None, message="starting")
        try:
            config = TrainConfig.from_dict(run.config()["train"])
            trainer = Trainer(run, config, console=console)
            result = trainer.train(resume=resume)
        except StopRequested:
            trainer.progress.close()
            run.update_status(state="stopped", finished=now(), message="stopped on request; --resume continues")
            return {}
        except GlrError as exc:
            run.update_status(state="failed", finished=now(), message=str(exc), traceback=None)
            raise
        except BaseException as exc:
            run.update_status(state="failed", finished=now(), message=f"{exc.__class__.__name__}: {exc}",
                              traceback=traceback.format_exc())
            raise
        message = f"top-1 {result['top1']:.3f}, top-5 {result['top5']:.3f}, GAP {result['gap']:.3f}"
        try:
            from glr.evaluation import report

            report.write_report(run.path)
        except Exception as exc:  # noqa: BLE001 - the model and metrics are already safe on disk
            message += f"; the report could not be written: {exc}"
        run.update_status(state="finished", finished=now(), phase="done", step=None, steps=None, message=message)
        return result


def run_config(config: TrainConfig) -> dict:
    """The config.json of a new run: the validated training config, the library versions, the time."""
    return {"train": config.validate().to_dict(), "versions": library_versions(), "created": now()}


def new_run(results_dir: str | Path, config: TrainConfig) -> "runs.Run":
    """Create a run folder whose config.json holds the validated config and library versions."""
    return runs.Run.create(results_dir, run_config(config))
