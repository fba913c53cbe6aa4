"""glr.training.settings: a run's derived settings, the same from a TrainConfig and from its stored dict."""

from glr.backbones.features import content_digest
from glr.paths import cache_dir
from glr.training.config import TrainConfig
from glr.training.settings import resolve


def test_input_size_falls_back_to_the_backbones():
    assert resolve(TrainConfig()).input_size == 224
    assert resolve(TrainConfig(backbone="efficientnet_lite2")).input_size == 260
    assert resolve(TrainConfig(input_size=96)).input_size == 96
    assert resolve({"backbone": "efficientnet_lite0", "input_size": None}).input_size == 224


def test_feature_cache_key_and_fine_tuned(tmp_path):
    # The cache key keeps its old form, so the feature caches of earlier runs stay valid.
    settings = resolve(TrainConfig(input_size=32))
    assert settings.cache_key == "efficientnet_lite0-32-imagenet" and not settings.fine_tuned
    assert settings.feature_cache().dir == cache_dir() / "features" / "efficientnet_lite0-32-imagenet"
    assert settings.final_feature_cache().dir == settings.feature_cache().dir
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"weights")
    local = resolve(TrainConfig(weights=str(weights)))
    assert local.cache_key == f"efficientnet_lite0-224-{content_digest(str(weights))[:12]}"
    assert resolve(TrainConfig(weights=None)).feature_cache() is None  # random weights: nothing to reuse
    tuned = resolve(TrainConfig(fine_tune=True, fine_tune_epochs=2))
    assert tuned.fine_tuned and tuned.feature_cache() is not None and tuned.final_feature_cache() is None
    assert not resolve(TrainConfig(fine_tune=True, fine_tune_epochs=0)).fine_tuned
    stored = TrainConfig(input_size=64, fine_tune=True).to_dict()
    assert resolve(stored) == resolve(TrainConfig.from_dict(stored))
