"""The trainer's feature stage: every training and validation photo's backbone features, from the cache where it can.

A mixin of glr.training.trainer.Trainer (which gives it `run`, `cfg`, `settings`, `backbone()`, `progress`, `say`,
the split and, in a cluster, `cluster` and `strategy`). Phase 1 trains on what `features` returns. What the feature
cache had to say while it ran (vectors not kept on a read-only cache, damaged ones made again:
glr.backbones.cache_notes) goes into the run's status, which the app and `glr runs` show, and into its final message.
"""

from __future__ import annotations

import time

import numpy as np

from glr.backbones import cache_notes
from glr.backbones.feature_cache import MIRROR_VIEW, cached_view_table, cached_views
from glr.backbones.features import content_digest
from glr.data.near_copies import default_store
from glr.data.usable import usable_photos
from glr.errors import GlrError
from glr.retrieval.flip import EMBEDDING
from glr.training.head_data import WindowChoice, keep_rows, table_plan
from glr.training.loop import barrier


class FeatureStage:
    """The feature stage of a Trainer."""

    _map_model = None
    notes: list[str] = []  # said once and again with the outcome: the settings' (Trainer.prepare_data), the cache's

    def map_model(self):
        """The frozen backbone without its global pooling: the feature map whose windows are the crops."""
        if self._map_model is None:
            from glr.backbones.features import spatial_model

            self._map_model = spatial_model(self.backbone())
            if self._map_model is None:
                raise GlrError(f"{self.spec.name} does not end in global average pooling, so its crops cannot "
                               "be taken in feature space; train with --augment-space images")
        return self._map_model

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """(train features (N, K, D), val features (M, D)); images that fail to decode are dropped."""
        from glr.backbones.feature_cache import cached_window_features

        started = time.monotonic()
        cache = self.settings.feature_cache()
        windows = self.cfg.augment and self.cfg.augment_space == "features"
        views, dtype = self.table_plan(windows)
        digests = {name: [content_digest(p) for p in df["path"]] for name, df in (("train", self.train), ("val", self.val))}
        total = len(self.val) * len(self.val_views()) + len(self.train) * (2 if windows else len(views))
        common = dict(input_size=self.input_size, preprocess=self.spec.preprocess,
                      batch_size=self.cfg.batch_size, progress=self.progress.advance)
        computed = self.share_features(digests, views, windows, cache, common)
        self.progress.start("extracting features", total, "img", desc="features")
        val_common = common
        if windows and not views and EMBEDDING == "rmac":  # the index's regions (glr.retrieval.regional), in one pass
            computed += cached_window_features(self.map_model, self.val["path"].tolist(), digests["val"], cache,
                                               keep=lambda w: w[:1], **common)[2]
            val_common = {**common, "progress": None}  # their whole maps are cached now: counted once
        (val, *_), val_ok, n = cached_views(self.backbone, self.val["path"].tolist(), digests["val"],
                                            self.val_views(), cache, **val_common)
        computed += n
        if windows and not views:
            # Two passes per photo (the centre crop and its mirror); its views are windows of their feature maps.
            choice = WindowChoice(len(self.train))
            train_feats, train_ok, n = cached_window_features(
                self.map_model, self.train["path"].tolist(), digests["train"], cache, keep=choice, **common)
            computed += n
            self.run.update_status(windows_kept=choice.kept, windows_total=choice.total)
            if message := choice.message():
                self.say(message)
        else:
            train_feats, train_ok, n = cached_view_table(self.backbone, self.train["path"].tolist(), digests["train"],
                                                         views, cache, dtype=dtype, **common)
            computed += n
        self.progress.close()
        self.run.update_status(features_computed=computed, features_seconds=round(time.monotonic() - started, 1))
        said = cache_notes.notes(cache.root if cache else None)
        for note in said:
            self.say(note)  # the log alone said it, which neither the app nor `glr runs` shows
        self.notes = [*self.notes, *said]
        train_ok, val_ok, problems = usable_photos(self.train, self.val, digests, train_ok, val_ok, self.labels,
                                                   self.cfg.data, default_store())
        for problem in problems:
            self.say(problem, problem=True)
        self.train, self.val = self.train[train_ok].reset_index(drop=True), self.val[val_ok].reset_index(drop=True)
        return keep_rows(train_feats, train_ok), keep_rows(val, val_ok)

    def table_plan(self, windows: bool) -> tuple[list[int | str], type]:
        """(views to ask the cache for (none: the map windows), their dtype), within phase 1's memory budget (said and recorded).

        Over it, the windows become the two whole maps (the cache's view 0 and mirror: 2 vectors per
        photo made and stored, not 30), the image views float16 and fewer (glr.training.head_data.table_plan).
        """
        views, dtype, fields, message = table_plan(
            len(self.train), self.spec.feature_dim, [0, MIRROR_VIEW] if windows else self.training_views(), windows)
        if fields:
            self.run.update_status(**fields)
        if message:
            self.say(message)
        return views, dtype

    def training_views(self) -> list[int | str]:
        """The views of each training photo that the head trains on, view 0 (the clean centre crop) first.

        The head classifies the mean of a photo's and its mirror image's features (glr.retrieval.flip),
        so the first augmented view is the centre crop's mirror image: the evaluation and the index
        need it anyway, so training on it costs no backbone pass of its own, and each photo is
        decoded once for all of its views. The other `views - 1` are seeded random crops and flips.
        """
        return [0, MIRROR_VIEW, *range(1, self.cfg.views)] if self.cfg.augment else [0]

    def val_views(self) -> list[int | str]:
        """The views computed for each validation photo: the centre crop and its mirror image (glr.retrieval.flip)."""
        return [0, MIRROR_VIEW]

    def share_features(self, digests: dict, views: list[int], windows: bool, cache, common: dict) -> int:
        """In a cluster: fill the shared cache with this worker's shard of the photos, then wait for every shard.

        The split is stable (by the photo's content digest), so a resumed or restarted
        worker takes the same photos. Returns the number of features this worker computed.
        """
        from glr.backbones.feature_cache import cached_window_features

        if not self.distributed or cache is None:
            return 0
        # Built by all together: it broadcasts the chief's weights, and a worker skipping it (its photos cached;
        # one that does not decode never is) left the collectives unmatched: the run failed at once.
        self.backbone()
        size, index = self.cluster.size, self.cluster.index
        mine = {name: [i for i, d in enumerate(digests[name]) if int(d[:8], 16) % size == index] for name in digests}
        paths = {name: df["path"].to_numpy()[mine[name]].tolist() for name, df in (("train", self.train), ("val", self.val))}
        own = {name: [digests[name][i] for i in mine[name]] for name in digests}
        total = len(own["val"]) * len(self.val_views()) + len(own["train"]) * (2 if windows else len(views))
        self.progress.start(f"extracting features (shard {index + 1} of {size})", total, "img", desc="features")
        computed = cached_views(self.backbone, paths["val"], own["val"], self.val_views(), cache, **common)[2]
        if windows and not views:
            computed += cached_window_features(self.map_model, paths["train"], own["train"], cache,
                                               keep=WindowChoice(len(own["train"])), **common)[2]
        else:
            computed += cached_view_table(self.backbone, paths["train"], own["train"], views, cache, dtype=np.float16,
                                          **common)[2]
        self.progress.close()
        self.run.update_status(message="waiting for the other workers' features")
        barrier(self.strategy)  # every shard is in the cache once every worker has got here
        return computed

