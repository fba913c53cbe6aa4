"""A run's derived settings, worked out in one place from its configuration.

Several stages need more than the configuration says: the input size (the backbone's
native one when the configuration leaves it empty), the feature cache's key, and whether
fine-tuning changed the backbone (then cached features no longer describe it). The
trainer, the predictor and the similarity index all ask `resolve` rather than working
these out again, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from glr.backbones.registry import BackboneSpec, get_backbone
from glr.cache_subdirs import FEATURES_SUBDIR  # under glr.paths.cache_dir(); named where `glr cache` reads it
from glr.paths import cache_dir

if TYPE_CHECKING:
    from glr.backbones.feature_cache import FeatureCache

AUTO = "auto"
# `fine_tune="auto"` turns phase 2 on when its estimate is at most this: "a few minutes".
AUTO_BUDGET_SECONDS = 300.0
# Phase 2's throughput on this machine (2 cores, no GPU), training photos per second with the
# default fine_tune_layers and batch size. Lite0's is measured: wonders7's 338 training photos took
# about 70 s for 8 epochs (README, "Measured results": 1 min 37 s with phase 2, features cached),
# so ~40/s (the demo's smaller photos went twice as fast). The others scale NOTES.md's full
# fine-tuning speeds by the same factor (Lite0 ~ 4x EfficientNetB0's 10/s); the estimate errs long.
# These are at each backbone's native input size; another size scales the cost by its pixels (measured on
# wonders7, 4 December: Lite0's phase 2 at 320 px took 1.8x its time at 224, for 2.0x the pixels; Lite2's at
# 320 px 1.3-1.4x its time at 260, for 1.5x), which errs long too.
FINE_TUNE_SPEED = {"efficientnet_lite0": 40.0, "efficientnet_lite2": 20.0, "mobilenet_v3_small": 196.0,
                   "mobilenet_v3_large": 60.0, "resnet50": 19.0, "resnet101": 10.0, "resnet152": 4.8}
FINE_TUNE_OVERHEAD = 30.0
# Under "auto", phase 2 runs from fine_tune_epochs up to this many epochs while its estimate stays within the
# budget: small datasets take few optimizer steps per epoch (wonders7's 338 photos: 11 steps, the demo's 1,600:
# 50), and 16 epochs were at least as good as 8 on every split seed measured (wonders7, the demo with phase 2,
# a 20-class demo subset of wonders7's size: benchmarks/README.md, "Longer phase 2 on small datasets").
AUTO_MAX_FINE_TUNE_EPOCHS = 16


@dataclass(frozen=True)
class FineTuneChoice:
    """What `fine_tune="auto"` decided for a dataset, and why (shown by the CLI and the Train page)."""

    on: bool
    reason: str
    estimate_seconds: float
    train_images: int
    epochs: int = 0  # the phase-2 epochs chosen (0 when off)


def estimate_fine_tune_seconds(backbone: str, train_images: int, epochs: int, input_size: int | None = None) -> float:
    """Phase 2's estimated wall time on this machine: epochs over the training images, plus its start-up.

    `input_size`: the side the photos are trained at (None: the backbone's native one).
    """
    speed = FINE_TUNE_SPEED.get(backbone, min(FINE_TUNE_SPEED.values()))
    pixels = (input_size / get_backbone(backbone).input_size) ** 2 if input_size else 1.0
    return FINE_TUNE_OVERHEAD + epochs * train_images * pixels / speed if epochs else 0.0


def choose_fine_tune(backbone: str, train_images: int, epochs: int, budget: float = AUTO_BUDGET_SECONDS,
                     lengthen: bool = True, input_size: int | None = None) -> FineTuneChoice:
    """Fine-tune when `epochs` fit the budget: small datasets gain 2-5 points.

    `lengthen` (when the user did not give the epochs): run up to AUTO_MAX_FINE_TUNE_EPOCHS that still fit.
    `input_size`: the side the photos are trained at (None: the backbone's native one).
    """
    def estimate(n_epochs: int) -> float:
        return estimate_fine_tune_seconds(backbone, train_images, n_epochs, input_size)

    if not epochs:
        return FineTuneChoice(False, "off: fine_tune_epochs is 0", 0.0, train_images)
    native = input_size in (None, get_backbone(backbone).input_size)
    photos = f"{train_images} training photos" + ("" if native else f" at {input_size} px")
    seconds = estimate(epochs)
    if seconds > budget:
        return FineTuneChoice(False, f"off: {photos} would take about {seconds / 60:.1f} min to fine-tune "
                                     f"here (more than {budget / 60:.0f} min); --fine-tune forces it", seconds, train_images)
    while lengthen and epochs < AUTO_MAX_FINE_TUNE_EPOCHS and estimate(epochs + 1) <= budget:
        epochs += 1
    seconds = estimate(epochs)
    rule = f", for up to {AUTO_MAX_FINE_TUNE_EPOCHS} epochs," if lengthen else ""
    cost = f"{round(seconds)} s" if seconds < 90 else f"{round(seconds / 60)} min"  # "about 1 min" of a 35 s phase
    return FineTuneChoice(True, f"on: {photos}, so fine-tuning {epochs} epoch{'s' if epochs != 1 else ''} costs about "
                                f"{cost} here (auto fine-tunes{rule} within {budget / 60:.0f} "
                                "min); --no-fine-tune skips it", seconds, train_images, epochs)


def page_fine_tune_epochs(choice: FineTuneChoice | None, epochs: int | None, default: int) -> int:
    """The phase-2 epochs a start from the Train page runs: the user's number, else auto's choice, else `default`.

    The page's box is left empty (None) until the user types a number, as `--fine-tune-epochs` is on the
    command line; empty, it runs what auto chose for the dataset (longer on small ones).
    """
    if epochs is not None:
        return int(epochs)
    return choice.epochs if choice is not None and choice.on else default


def page_fine_tune_placeholder(choice: FineTuneChoice | None, default: int) -> str:
    """What the Train page's empty epochs box says it will run."""
    return f"auto: {choice.epochs}" if choice is not None and choice.on else f"default: {default}"


def curated_split(config: Any):
    """The dataset's curated split as training will make it (its CSV or folders read, never an image).

    Raises the DatasetError training would meet, such as a dataset left with one class.
    """
    from glr.data import datasets
    from glr.paths import demo_dir

    return datasets.curate(datasets.load_catalog(_value(config, "data") or demo_dir()), top_n=_value(config, "top_n"),
                           min_images=_value(config, "min_images"), val_fraction=_value(config, "val_fraction"),
                           seed=_value(config, "seed"), min_classes=datasets.TRAIN_MIN_CLASSES)


def fine_tune_choice(config: Any, lengthen: bool = True, train_images: int | None = None) -> FineTuneChoice:
    """The auto decision for a configuration: its dataset is read (never an image) to count the training photos,
    unless `train_images` gives their number (the open-set benchmark's known classes')."""
    if train_images is None:
        train_images = len(curated_split(config).train)
    return choose_fine_tune(get_backbone(_value(config, "backbone")).name, train_images,
                            int(_value(config, "fine_tune_epochs") or 0), lengthen=lengthen,
                            input_size=_value(config, "input_size"))


def settle_fine_tune(config, lengthen: bool = True, train_images: int | None = None):
    """(the TrainConfig with `fine_tune` and its epochs decided, the FineTuneChoice or None when it was forced).

    `lengthen`: False when the user gave the epochs, which auto then runs as given. Without
    `train_images` the dataset is curated first, either way, so a dataset training would refuse
    fails here, before a run folder exists.
    """
    from dataclasses import replace

    if config.fine_tune != AUTO:
        if train_images is None:
            curated_split(config)
        return config, None
    choice = fine_tune_choice(config, lengthen, train_images)
    return replace(config, fine_tune=choice.on, fine_tune_epochs=choice.epochs or config.fine_tune_epochs), choice


@dataclass(frozen=True)
class RunSettings:
    """What a run's configuration implies: its backbone, input size, weights and whether it was fine-tuned."""

    spec: BackboneSpec
    input_size: int
    weights: str | None
    fine_tuned: bool
    # The engine that computes (and keys) the features: "auto" resolved, so every feature of a
    # run is made alike. A run made before int8 existed has none in its configuration: "fp32".
    feature_engine: str = "fp32"
    # Whether phase 1 trained on map windows (augmented in feature space), so the cache holds every
    # photo's windows for the regional index (glr.retrieval.regional); older configurations did.
    map_windows: bool = True

    @property
    def cache_key(self) -> str | None:
        """`{backbone}-{size}-{imagenet|weights digest}`; None for random weights, which differ on every build."""
        if self.weights is None:
            return None
        from glr.backbones.features import content_digest

        tag = "imagenet" if self.weights == "imagenet" else content_digest(self.weights)[:12]
        return f"{self.spec.name}-{self.input_size}-{tag}"

    def feature_cache(self) -> "FeatureCache | None":
        """The cache of the pretrained backbone's features (None for random weights)."""
        from glr.backbones.feature_cache import FeatureCache

        key = self.cache_key
        # The cache adds the precision to the key (`<key>-int8`): int8 and fp32 vectors never meet.
        return FeatureCache(cache_dir() / FEATURES_SUBDIR, key, self.feature_engine) if key else None

    def final_feature_cache(self) -> "FeatureCache | None":
        """The cache that still describes the run's final backbone: None once fine-tuning changed it."""
        return None if self.fine_tuned else self.feature_cache()


def _value(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)


def resolve(config: Any) -> RunSettings:
    """The settings of a run from its TrainConfig (or the `train` section of a run's config, as a dict)."""
    from glr.backbones.features import resolve_engine

    spec = get_backbone(_value(config, "backbone"))
    engine = _value(config, "feature_engine")
    fine_tune = _value(config, "fine_tune")
    if fine_tune == AUTO:  # a configuration made outside the CLI and the app, which decide it up front
        fine_tune = fine_tune_choice(config).on
    return RunSettings(
        spec=spec,
        input_size=spec.size(_value(config, "input_size")),
        weights=_value(config, "weights"),
        fine_tuned=bool(fine_tune and _value(config, "fine_tune_epochs")),
        feature_engine=resolve_engine(engine) if engine else "fp32",
        map_windows=_value(config, "augment") is not False and _value(config, "augment_space") in (None, "features"),
    )
