"""Training configuration: one dataclass, JSON in and out, validated with readable messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from glr.backbones.features import ENGINES
from glr.data import datasets
from glr.backbones.registry import DEFAULT_BACKBONE, list_backbones
from glr.errors import GlrError


AUGMENT_SPACES = ("features", "images")


class ConfigError(GlrError):
    """A configuration value is out of range or of the wrong type."""


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
        checks = [
            (self.top_n == 0 or self.top_n >= 2, "top_n must be at least 2 (a classifier tells landmarks apart), or 0 for every class"),
            (self.min_images >= 2, "min_images must be at least 2 (one image for training, one for validation)"),
            (0 < self.val_fraction < 1, "val_fraction must be between 0 and 1"),
            (0 <= self.seed <= datasets.MAX_SEED, f"seed must be between 0 and {datasets.MAX_SEED}"),
            (self.backbone in list_backbones(), f"backbone must be one of {', '.join(list_backbones())}"),
            (self.input_size is None or 32 <= self.input_size <= 1024, "input_size must be between 32 and 1024"),
            (self.augment_space in AUGMENT_SPACES, f"augment_space must be one of {', '.join(AUGMENT_SPACES)}"),
            (1 <= self.views <= 64, "views must be between 1 and 64"),
            (self.hidden >= 1, "hidden must be at least 1"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (1 <= self.batch_size <= 4096, "batch_size must be between 1 and 4096"),
            (0 < self.learning_rate < 1, "learning_rate must be between 0 and 1"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.fine_tune in (True, False, "auto"), "fine_tune must be true, false or \"auto\""),
            (self.fine_tune_epochs >= 0, "fine_tune_epochs must be at least 0"),
            (0 < self.fine_tune_learning_rate < 1, "fine_tune_learning_rate must be between 0 and 1"),
            (self.fine_tune_layers >= 1, "fine_tune_layers must be at least 1"),
            (self.feature_engine in ENGINES, f"feature_engine must be one of {', '.join(ENGINES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"invalid configuration: {message}")
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
                converted[name] = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"invalid configuration: {name} must be a {type(default).__name__}, got {value!r}") from None
        return cls(**converted).validate()
