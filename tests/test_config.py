"""glr.training.config: validated training configuration, JSON in and out."""

import pytest

from glr.training.config import ConfigError, TrainConfig


def test_config_is_validated():
    with pytest.raises(ConfigError, match="dropout must be in"):
        TrainConfig(dropout=1.5).validate()
    with pytest.raises(ConfigError, match="epochs must be a int"):
        TrainConfig.from_dict({"epochs": "many"})
    with pytest.raises(ConfigError, match="unknown setting"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ConfigError, match=r"top_n must be at least 2 \(a classifier tells landmarks apart\)"):
        TrainConfig(top_n=1).validate()
    assert TrainConfig(top_n=0).validate().top_n == 0 and TrainConfig(top_n=2).validate().top_n == 2


def test_round_trip_and_conversion():
    config = TrainConfig.from_dict({"epochs": "3", "input_size": "64", "weights": None, "augment": False})
    assert config.epochs == 3 and config.input_size == 64 and config.weights is None and config.augment is False
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="augment must be a bool"):
        TrainConfig.from_dict({"augment": "yes"})
    with pytest.raises(ConfigError, match="backbone must be one of"):
        TrainConfig.from_dict({"backbone": "vgg16"})


def test_a_seed_the_generators_cannot_take_is_refused_before_the_run_starts():
    # The Train page's seed box has no upper bound: 2**32 reached sklearn's split and failed the run with a traceback.
    for seed in (-1, 2**32):
        with pytest.raises(ConfigError, match="seed must be between 0 and 4294967295"):
            TrainConfig(seed=seed).validate()
    assert TrainConfig(seed=2**32 - 1).validate().seed == 2**32 - 1
