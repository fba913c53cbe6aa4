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


def test_settings_allowed_but_likely_a_mistake_are_said_in_words():
    # A learning rate of 1e-9, a validation fraction of 0.99 or a batch larger than the training photos were taken
    # in silence: a run that learns nothing, or from one photo a class, in one step an epoch.
    from glr.training.config import setting_notes

    assert setting_notes(TrainConfig(), 800, 200, 0, fine_tuned=True) == []
    cfg = TrainConfig(learning_rate=1e-9, val_fraction=0.99, batch_size=64, epochs=3, fine_tune_learning_rate=1e-9)
    assert setting_notes(cfg, 5, 13, 2, fine_tuned=False) == [
        "the learning rate 1e-09 is so low that the weights will hardly move (Adam moves each by about the learning "
        "rate a step); the usual is 0.001",
        "the validation fraction 0.99 holds out more photos than are trained on: 5 training photos for 13 validation "
        "ones, and 2 classes learn from a single photo",
        "the batch size 64 is more than the 5 training photos, so each epoch is a single step (3 in all)",
    ]
    assert "the fine-tuning learning rate 1e-09 is so low" in setting_notes(cfg, 5, 13, 2, fine_tuned=True)[1]
    assert setting_notes(cfg, 5, 13, 2, fine_tuned=True)[-1].endswith("a single step (11 in all)")  # 3 + phase 2's 8


def test_a_count_edited_to_a_fraction_or_true_is_refused_not_cut_down():
    # int(2.5) made 2 epochs of a config.json saying 2.5 (and `true` 1), in silence.
    for name, value in (("epochs", 2.5), ("patience", 7.9), ("batch_size", True)):
        with pytest.raises(ConfigError, match=f"{name} must be a int, got {value!r}"):
            TrainConfig.from_dict({name: value})
    assert TrainConfig.from_dict({"epochs": 3.0, "hidden": "64"}).epochs == 3  # a whole number as JSON may write it
