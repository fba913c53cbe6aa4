"""The trainer: a run folder's configuration in, a trained model out, the run finished.

Phase 1 trains the study's head on cached backbone features. The backbone is frozen, so
its output for a given image and augmented view never changes: the cache holds the views
of every training image and the clean view of every validation image, and each epoch
draws one view per image at random. An epoch then costs milliseconds, not a backbone pass
over every image. By default (`augment_space="features"`) the views are windows of the
backbone's feature maps of the centre crop and its mirror image: two passes per training
photo, which the regional index needs anyway (glr.backbones.features.window_features,
glr.retrieval.regional): the validation photos' windows are made with them.
With `augment_space="images"` they are K augmented crops and flips, one pass each.

Phase 2 (optional, off by default on a CPU) fine-tunes the backbone's last layers end to
end on live augmentation, with BatchNorm in inference mode and a low learning rate.

Both phases train in one loop under a tf.distribute strategy (glr.training.loop): the
default strategy in one process, MultiWorkerMirroredStrategy across the workers that
`TF_CONFIG` names (glr.training.cluster). In a cluster each worker first extracts the
features of its own shard of the photos into the shared cache; only the chief writes the
run folder, the other workers write a private copy of it that is deleted at the end.

Everything the trainer knows goes into the run folder as it goes (status, history, and
checkpoints at most every ~30 s: glr.training.checkpoints), so the app can follow it, a stop
request ends it cleanly after the current batch (or, when batches are quick, the current
quarter second of them) with a checkpoint, and `--resume` continues from the last checkpoint
with the epochs numbered on. The dataset is the one the run's configuration names (the CLI and
the app record it), and a resume trains on the run's own recorded split of it (glr.training.run_data);
the last step, evaluation, index and report, is glr.evaluation.finish (on the chief).
"""

from __future__ import annotations

import os
import traceback

import numpy as np

from glr.backbones.registry import build_backbone
from glr.errors import GlrError
from glr.evaluation import readout
from glr.training import run_data
from glr.training.checkpoints import Checkpoints, drop_half_written, handed_over, reconcile, resume_model
from glr.training.cluster import (Cluster, cluster_from_env, drop_worker_run, lost_worker_message, make_strategy,
                                  off_strategy, worker_run)
from glr.training.config import TrainConfig, setting_notes
from glr.training.launch import training_lock
from glr.training.resuming import restore, snapshot
from glr.training.loop import Diverged, train_epochs, weights_digest, worker_split
from glr.training.model import build_classifier, build_head, compile_model, load_model, save_model, split_classifier
from glr.training.progress import PHASES, Progress, StopRequested
from glr.training.run import Run
from glr.training.settings import resolve
from glr.training.trainer_features import FeatureStage
from glr.training.trainer_signals import install_sigterm_handler, say, stop_on_signals
from glr.training.status import now  # the one clock of the run folder's timestamps


# --------------------------------------------------------------------------- trainer
class Trainer(FeatureStage):
    """Trains one run folder. Use `train_run` rather than this class directly."""

    def __init__(self, run: Run, config: TrainConfig, console: bool = False, strategy=None,
                 cluster: Cluster | None = None):
        import tensorflow as tf

        self.run, self.cfg, self.console = run, config, console
        self.strategy = strategy or tf.distribute.get_strategy()
        self.cluster, self.distributed = cluster, cluster is not None
        self.progress = Progress(run, console)
        self.settings = resolve(config)
        self.spec, self.input_size = self.settings.spec, self.settings.input_size
        self._backbone = self._map_model = None
        self.phase_end = config.epochs  # the last epoch number of the phase being trained

    # -- run folder -----------------------------------------------------------------
    def append_history(self, row: dict) -> None:
        """Add one epoch to the run's history."""
        self.run.append_history(row)
        # step 0: the epoch is counted in `epoch` now, not also in step/steps (the page adds the two).
        self.run.update_status(epoch=int(row["epoch"]), step=0,
                               message=f"epoch {row['epoch']}: val_accuracy {row['val_accuracy']:.3f}")

    def checkpoints(self, phase: int, end: int) -> Checkpoints:
        """The checkpoint policy of a phase that starts now (or resumes from the last checkpoint's state)."""
        return Checkpoints(self.run, phase, end, self.checkpoint_state(), save=self.save, about=self.about())

    def save(self, model, path, note: dict | None = None) -> None:
        """Save a model (with a checkpoint's `note`) into the run folder (atomic); RunError if the folder was deleted,
        which the save would make again."""
        self.run.write_file(lambda target: save_model(model, target, note), path)

    def about(self) -> dict:
        """What the weights of this run fit, recorded with its checkpoints and checked on resume."""
        return {"backbone": self.spec.name, "input_size": self.input_size, "classes": len(self.labels)}

    def checkpoint_state(self) -> dict | None:
        """The last checkpoint's state, or None."""
        return self.run.checkpoint_state()

    # -- data -----------------------------------------------------------------------
    def prepare_data(self, resume: bool) -> None:
        """Load, curate and split (on resume: the run's recorded split, glr.training.run_data); store the labels and the split."""
        self.progress.start("reading the dataset", 1, "step")
        split, catalog, problems = run_data.prepare(self.run, self.cfg, resume)
        config = self.run.config()
        config["dataset"] = run_data.dataset_record(catalog, split, problems, kept=config.get("dataset") if resume else None)
        self.run.write_config(config)
        for problem in problems:
            self.say(f"dataset: {problem}")
        self.run.write_labels(split.labels)
        self.run.write_split(split.table())  # what the run trains on: on resume, its photos still in the dataset
        self.train, self.val, self.labels = split.train, split.val, split.labels
        single = int((self.train["label"].value_counts() == 1).sum())
        self.notes = setting_notes(self.cfg, len(self.train), len(self.val), single, self.settings.fine_tuned)
        for note in self.notes:
            self.say(note)
        self.progress.advance(1)

    def backbone(self):
        """The frozen backbone, built on first use (a fully cached run never builds it for features)."""
        if self._backbone is None:
            self.run.update_status(message=f"building {self.spec.name}")
            with self.strategy.scope():  # its variables are the strategy's, for phase 2
                # Seeded: phase 2 then runs alike whether the features were computed first or read from the cache.
                self._backbone = build_backbone(self.spec.name, weights=self.cfg.weights, input_size=self.input_size,
                                                seed=self.cfg.seed)
            self._backbone.trainable = False
            self.run.update_status(message=self.progress.phase)  # back to the stage it was built for
        return self._backbone

    def say(self, message: str, problem: bool = False) -> None:
        """A message for the run's status and, on the command line, the terminal; a data `problem` is kept for the report."""
        if problem:
            self.run.add_data_problem(message)
            message = f"dataset: {message}"
        self.run.update_status(message=message)
        if self.console:
            say(message)

    # -- phase 1 --------------------------------------------------------------------
    def load(self, path):
        """A saved model (and its optimizer), its variables the strategy's."""
        with self.strategy.scope():
            return load_model(path, compile=True)

    def phase1(self, train_feats: np.ndarray, val_feats: np.ndarray, resume_state: dict | None):
        """Train the head on cached features; returns the best head."""
        import keras

        from glr.training.head_data import eval_dataset, train_dataset

        keras.utils.set_random_seed(self.cfg.seed)
        y_train, y_val = self.train["label"].to_numpy(), self.val["label"].to_numpy()

        if resume_state and resume_state["phase"] == 1:
            head = resume_model(self.run, self.load, self.about(), train_feats.shape[-1:], len(self.labels))
            first = resume_state["epoch"]
        else:
            with self.strategy.scope():
                head = build_head(train_feats.shape[-1], len(self.labels), self.cfg.hidden, self.cfg.dropout, self.cfg.seed)
                compile_model(head, self.cfg.learning_rate, self.cfg.label_smoothing)  # the study's Adam
            first = 0
        self.run.update_status(phase=PHASES[1], epochs_pending=None)  # under way: a refusal can no longer undo --epochs
        if first and self.settings.fine_tuned and handed_over(self.run, resume_state, self.cfg.patience):
            # last.keras is phase 1's best head, which phase 2 had begun from: never phase 1's to train on (config.json
            # given more epochs by hand would have), its last epoch's weights are gone.
            self.say(f"phase 1 ended at epoch {first} and its best head went on to fine-tuning: resuming phase 2")
            return head
        steps = int(np.ceil(len(y_train) / self.cfg.batch_size))
        # Class indices, never one-hot rows (classes x photos), and no copy of the feature tables.
        train_ds = train_dataset(train_feats, y_train, self.cfg.batch_size, self.cfg.seed)
        val_ds = eval_dataset(val_feats, y_val, self.cfg.batch_size)
        if not train_epochs(self, head, 1, train_ds, val_ds, first, self.cfg.epochs, steps):
            raise StopRequested
        if self.run.best_checkpoint.exists():
            head = self.load(self.run.best_checkpoint)
        return head

    # -- phase 2 --------------------------------------------------------------------
    def phase2(self, head, resume_state: dict | None):
        """Fine-tune the backbone's last layers, epochs numbered on (phase 1's model kept if this diverges at once)."""
        import keras

        from glr.data.pipeline import make_dataset

        if resume_state and resume_state["phase"] == 2:
            size = (self.input_size, self.input_size, 3)
            model = resume_model(self.run, self.load, self.about(), size, len(self.labels))
            backbone, head = split_classifier(model)
            first, self.phase_end = resume_state["epoch"], resume_state["end"]
        else:
            backbone = self.backbone()
            with self.strategy.scope():
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
            with self.strategy.scope():
                compile_model(model, self.cfg.fine_tune_learning_rate, self.cfg.label_smoothing)
        part = worker_split(self.strategy, self.cluster)  # in a cluster each worker decodes only its rows of a batch
        common = dict(input_size=self.input_size, preprocess=self.spec.preprocess, batch_size=self.cfg.batch_size,
                      parts=part)
        train_ds = make_dataset(self.train["path"].tolist(), self.train["label"], training=self.cfg.augment,
                                shuffle=True, seed=self.cfg.seed, **common)
        val_ds = make_dataset(self.val["path"].tolist(), self.val["label"], **common)
        self.run.update_status(phase=PHASES[2], epochs_pending=None)
        steps = int(np.ceil(len(self.train) / self.cfg.batch_size))
        if not train_epochs(self, model, 2, train_ds, val_ds, first, self.phase_end, steps, model.get_weights(),
                            parted=part is not None):
            raise StopRequested
        return self.load(self.run.best_checkpoint) if self.run.best_checkpoint.exists() else model

    # -- the whole run --------------------------------------------------------------
    def train(self, resume: bool = False) -> tuple[dict, list[str]]:
        """Run every stage, then finish the run; returns its metrics and the problems met. StopRequested if asked to stop."""
        from glr.evaluation.finish import finish_run, thumbnails_in_background

        if resume and (fixed := reconcile(self.run)):  # a kill between a checkpoint's writes: its files say which
            self.say(fixed)
        resume_state = self.checkpoint_state() if resume else None
        self.run.trim_history(resume_state["epoch"] if resume_state else 0)
        self.prepare_data(resume)
        train_feats, val_feats = self.features()
        thumbnails = None
        if not self.distributed or self.cluster.is_chief:  # beside phase 1, which leaves a core idle
            thumbnails = thumbnails_in_background(self.train["path"].tolist() + self.val["path"].tolist())
        if resume_state is None or resume_state["phase"] == 1:
            head = self.phase1(train_feats, val_feats, resume_state)
            if self.settings.fine_tuned:
                # Phase 2's best is judged on its own. Phase 1's best head becomes last.keras (a rename: atomic), so
                # that a kill before phase 2's first checkpoint resumes phase 2 from it, not from phase 1's last epoch.
                if self.run.best_checkpoint.exists():
                    os.replace(self.run.best_checkpoint, self.run.last_checkpoint)
                classifier = self.phase2(head, None)
            else:
                classifier = build_classifier(self.backbone(), head, self.input_size)
        else:
            classifier = self.phase2(None, resume_state)
        self.save(classifier, self.run.model_path)
        if self.distributed:
            digest = weights_digest(classifier)
            # One write with its newline: unbuffered, print() writes the two apart, and two workers' lines could mix.
            print(f"worker {self.cluster.index}: final weights {digest}\n", end="", flush=True)
            if not self.cluster.is_chief:
                return {}, []  # the chief alone evaluates, indexes and reports
            self.run.update_status(weights_digest=digest)
            classifier = off_strategy(classifier)  # evaluation is no collective
        if thumbnails is not None:
            thumbnails.join()  # the index step then finds them made
        scores, problems = finish_run(self.run, classifier, self.train, self.val, batch_size=self.cfg.batch_size,
                                      val_feats=val_feats, progress=self.progress)
        return scores, [*problems, *self.notes]  # in the finished run's message, where the user looks


def train_worker(run: Run, cluster: Cluster, resume: bool = False) -> None:
    """A non-chief worker: train in step with the chief, writing only a temporary copy of the run folder."""
    copy = worker_run(run, cluster)
    try:
        install_sigterm_handler(copy)
        strategy = make_strategy(cluster)
        Trainer(copy, run.train_config(), strategy=strategy, cluster=cluster).train(resume=resume)
    except (StopRequested, Diverged):  # the chief says the run's outcome
        pass
    finally:
        drop_worker_run(copy)


def train_run(run: Run, resume: bool = False, console: bool = False, trainer_class: type | None = None) -> dict | None:
    """Train `run` under the results folder's lock, recording the outcome in its status.

    `trainer_class`: a Trainer subclass to train with (the open-set benchmark's leaves classes out).

    Ends as finished, stopped (on request) or failed (with the traceback). A `GlrError` is
    re-raised for the CLI to print; any other exception too, after it is recorded. Under a
    `TF_CONFIG` cluster the chief does this; the other workers run `train_worker` (None).
    """
    cluster = cluster_from_env()
    if cluster is not None and not cluster.is_chief:
        return train_worker(run, cluster, resume)
    with training_lock(run.results_dir, run.id), stop_on_signals(run):
        run.clear_stop_request()
        if dropped := drop_half_written(run):  # safe under the lock: no save of this run is under way
            say(dropped)
        before = snapshot(run) if resume else None  # put back if the resume is refused before its epochs
        run.update_status(state="running", pid=os.getpid(), started=now(), finished=None, traceback=None,
                          workers=cluster.size if cluster else 1, refused=None, resumed_from=None, phase=None,
                          message=f"waiting for {cluster.size} workers" if cluster else "starting")
        trainer = None
        try:
            strategy = make_strategy(cluster)
            trainer = (trainer_class or Trainer)(run, run.train_config(), console=console, strategy=strategy,
                                                 cluster=cluster)
            result, problems = trainer.train(resume=resume)
        except StopRequested:
            trainer.progress.close()
            run.update_status(state="stopped", finished=now(),
                              message=run.stop_reason() or "stopped on request; --resume continues")
            return {}
        except GlrError as exc:
            if before and (run.recorded_status() or {}).get("phase") not in PHASES.values():
                restore(run, before, str(exc))  # refused before any epoch: the run stays as it was
            else:
                run.update_status(state="failed", finished=now(), message=str(exc), traceback=None)
            raise
        except BaseException as exc:
            lost = cluster is not None and type(exc).__module__.startswith("tensorflow")
            run.update_status(state="failed", finished=now(), traceback=traceback.format_exc(),
                              message=lost_worker_message(exc) if lost else f"{exc.__class__.__name__}: {exc}")
            if lost:
                raise GlrError(lost_worker_message(exc)) from None
            raise
        message = "; ".join([readout.end_line(result), *problems])
        run.update_status(state="finished", finished=now(), phase="done", step=None, steps=None, message=message)
        return result
