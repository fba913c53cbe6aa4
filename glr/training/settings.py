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
from glr.paths import cache_dir

if TYPE_CHECKING:
    from glr.backbones.features import FeatureCache

FEATURES_SUBDIR = "features"  # under the user cache folder (glr.paths.cache_dir)


@dataclass(frozen=True)
class RunSettings:
    """What a run's configuration implies: its backbone, input size, weights and whether it was fine-tuned."""

    spec: BackboneSpec
    input_size: int
    weights: str | None
    fine_tuned: bool

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
        from glr.backbones.features import FeatureCache

        key = self.cache_key
        return FeatureCache(cache_dir() / FEATURES_SUBDIR, key) if key else None

    def final_feature_cache(self) -> "FeatureCache | None":
        """The cache that still describes the run's final backbone: None once fine-tuning changed it."""
        return None if self.fine_tuned else self.feature_cache()


def _value(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)


def resolve(config: Any) -> RunSettings:
    """The settings of a run from its TrainConfig (or the `train` section of a run's config, as a dict)."""
    spec = get_backbone(_value(config, "backbone"))
    return RunSettings(
        spec=spec,
        input_size=spec.size(_value(config, "input_size")),
        weights=_value(config, "weights"),
        fine_tuned=bool(_value(config, "fine_tune") and _value(config, "fine_tune_epochs")),
    )
