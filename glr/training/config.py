"""Training configuration: one dataclass, JSON in and out, validated with readable messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

from glr.cli_choices import BACKBONES, DEFAULT_BACKBONE, ENGINES  # not their owners': --help need not import numpy
from glr.data import curation_defaults as datasets  # the defaults alone: --help need not import pandas
from glr.errors import GlrError


AUGMENT_SPACES = ("features", "images")


class ConfigError(GlrError):
    """A configuration value is out of range or of the wrong type."""


# What each setting allows: (the test, the words). TrainConfig.validate and the CLI's flags (glr.cli) both
# check with these, so `--epochs 0` is refused at the command line in the words a config file's 0 gets.
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "top_n": (lambda v: v == 0 or v >= 2, "at least 2 (a classifier tells landmarks apart), or 0 for every class"),
    "min_images": (lambda v: v >= 2, "at least 2 (one image for training, one for validation)"),
    "val_fraction": (lambda v: 0 < v < 1, "above 0 and below 1"),
    "seed": (lambda v: 0 <= v <= datasets.MAX_SEED, f"between 0 and {datasets.MAX_SEED}"),
    "backbone": (lambda v: v in BACKBONES, f"one of {', '.join(BACKBONES)}"),
    "input_size": (lambda v: v is None or 32 <= v <= 1024, "between 32 and 1024"),
    "augment_space": (lambda v: v in AUGMENT_SPACES, f"one of {', '.join(AUGMENT_SPACES)}"),
    "views": (lambda v: 1 <= v <= 64, "between 1 and 64"),
    "hidden": (lambda v: v >= 1, "at least 1"),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "epochs": (lambda v: v >= 1, "at least 1"),
    "batch_size": (lambda v: 1 <= v <= 4096, "between 1 and 4096"),
    "learning_rate": (lambda v: 0 < v < 1, "above 0 and below 1"),
    "label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "patience": (lambda v: v >= 1, "at least 1"),
    "fine_tune": (lambda v: v in (True, False, "auto"), 'true, false or "auto"'),
    "fine_tune_epochs": (lambda v: v >= 0, "at least 0"),
    "fine_tune_learning_rate": (lambda v: 0 < v < 1, "above 0 and below 1"),
    "fine_tune_layers": (lambda v: v >= 1, "at least 1"),
    "feature_engine": (lambda v: v in ENGINES, f"one of {', '.join(ENGINES)}"),
}


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for the setting `name` ("must be at least 1, got 0"), or None if it is allowed.

    A NaN fails every range (each comparison with it is false).
    """
    allowed, words = RULES[name]
    return None if allowed(value) else f"must be {words}, got {value!r}"


# Below these, Adam (whose step moves each weight by about the learning rate) leaves the weights as they started.
LOW_LEARNING_RATE, LOW_FINE_TUNE_LEARNING_RATE = 1e-5, 1e-7


def setting_notes(config: "TrainConfig", train: int, val: int, single: int, fine_tuned: bool) -> list[str]:
    """Settings that are allowed but likely a mistake, in words, for a split of `train` and `val` photos
    (`single`: classes left with one training photo); said when the training starts, and with its outcome."""
    notes = []
    # phase 2's epochs are steps too: "1 in all" was said of a run that then fine-tuned for 10 epochs
    steps = (config.epochs + (config.fine_tune_epochs if fine_tuned else 0)) * -(-train // config.batch_size)
    for rate, low, usual, what, on in ((config.learning_rate, LOW_LEARNING_RATE, 1e-3, "learning rate", True),
                                       (config.fine_tune_learning_rate, LOW_FINE_TUNE_LEARNING_RATE, 1e-4,
                                        "fine-tuning learning rate", fine_tuned)):
        if on and rate < low:
            notes.append(f"the {what} {rate:g} is so low that the weights will hardly move (Adam moves each by about "
                         f"the learning rate a step); the usual is {usual:g}")
    if val > train:
        notes.append(f"the validation fraction {config.val_fraction:g} holds out more photos than are trained on: "
                     f"{train} training photos for {val} validation ones"
                     + (f", and {single} {'class learns' if single == 1 else 'classes learn'} from a single photo" if single else ""))
    if config.batch_size > train:
        notes.append(f"the batch size {config.batch_size} is more than the {train} training photos, so each epoch "
                     f"is a single step ({steps} in all)")
    return notes


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults follow the study where it says."""

    data: str | None = None  # dataset folder or train.csv; None: the embedded demo
    top_n: int = datasets.DEFAULT_TOP_N
    min_images: int = datasets.DEFAULT_MIN_IMAGES
    val_fraction: float = datasets.DEFAULT_VAL_FRACTION
    seed: int = datasets.DEFAULT_SEED
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "imagenet"  # "imagenet", a local weights file, or None (random)
    input_size: int | None = None  # None: the backbone's native size
    augment: bool = True  # the study's random crop and horizontal flip
    # Where the crops are taken: "features" = windows of the backbone's feature maps of the centre crop
    # and of its mirror image (the two views flip averaging embeds anyway): 28 views for two passes per
    # photo, as accurate as image views on the demo and wonders7 (benchmarks/README.md, "Crops as
    # windows of the centre crop's map"); "images" = `views` augmented crops, one backbone pass each.
    augment_space: str = "features"
    # Augmented views per training image in the feature cache (K), with augment_space "images": the centre
    # crop's mirror image (flip averaging needs it anyway), then K - 1 random crops and flips.
    views: int = 4
    hidden: int = 512  # the head: Dense(hidden, relu) -> Dropout -> Dense(classes, softmax)
    dropout: float = 0.5
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1  # cross-entropy against 0.9/0.1-smoothed targets: less over-confident
    patience: int = 8  # early stopping on val_loss
    # Phase 2, end to end; slow on a CPU. "auto": on when its estimated cost on this machine is a few
    # minutes (glr.training.settings.choose_fine_tune); the command line and the Train page default to it.
    fine_tune: bool | str = False
    fine_tune_epochs: int = 8  # left unset, "auto" runs up to settings.AUTO_MAX_FINE_TUNE_EPOCHS within its budget
    fine_tune_learning_rate: float = 1e-4  # a tenth of phase 1's: the backbone is already good
    fine_tune_layers: int = 60  # how many of the backbone's last layers to unfreeze (Lite0: the last 3 stages)
    # What computes the frozen backbone's features (glr.backbones.features.ENGINES): "auto" is fp32
    # ONNX Runtime (TensorFlow when it cannot be exported); "int8" quantizes the random views of
    # augment_space "images" (the map windows, like views 0 and the mirror, stay fp32), about 2.3x
    # faster and 0.3-0.8 points less accurate as measured, so it is an option (features.AUTO_INT8).
    feature_engine: str = "auto"

    def validate(self) -> "TrainConfig":
        """Raise ConfigError naming the first value that is out of range; return self."""
        for name in RULES:
            if problem := setting_problem(name, getattr(self, name)):
                raise ConfigError(f"invalid configuration: {name} {problem}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Build and validate from a dict; unknown keys and wrong types are errors."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"invalid configuration: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        defaults = cls()
        converted = {}
        for name, value in values.items():
            default = getattr(defaults, name)
            if name == "input_size" and value is not None:
                default = 0  # an optional int
            if name == "fine_tune" and value == "auto":
                default = None  # a bool or "auto"
            if value is None or default is None or isinstance(default, str):
                converted[name] = value
                continue
            try:
                kind = type(default)
                if kind is bool and not isinstance(value, bool):
                    raise ValueError
                if kind is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
                    raise ValueError  # int(2.5) is 2, int(True) 1: a count edited by hand is not cut down in silence
                converted[name] = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"invalid configuration: {name} must be a {type(default).__name__}, got {value!r}") from None
        return cls(**converted).validate()
