"""glr.training.settings: a run's derived settings, the same from a TrainConfig and from its stored dict."""

import pytest

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
    # int8 features sit beside them, under their own key.
    int8 = resolve(TrainConfig(input_size=32, feature_engine="int8"))
    from glr.backbones.quantize import int8_suffix

    assert int8.feature_cache().dir == cache_dir() / "features" / f"efficientnet_lite0-32-imagenet-int8{int8_suffix()}"
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


def test_fine_tune_auto_decides_from_the_dataset_size_and_the_cost_here(gldv2):
    from glr.training.config import ConfigError
    from glr.training.settings import AUTO_BUDGET_SECONDS, choose_fine_tune, estimate_fine_tune_seconds, settle_fine_tune

    small = choose_fine_tune("efficientnet_lite0", train_images=200, epochs=8)
    large = choose_fine_tune("efficientnet_lite0", train_images=20_000, epochs=8)
    assert small.on and "on:" in small.reason and "200 training photos" in small.reason
    assert not large.on and "--fine-tune forces it" in large.reason
    assert small.estimate_seconds <= AUTO_BUDGET_SECONDS < large.estimate_seconds
    # A slower backbone costs more for the same photos, and more epochs cost more.
    assert estimate_fine_tune_seconds("resnet152", 200, 8) > estimate_fine_tune_seconds("efficientnet_lite0", 200, 8)
    assert estimate_fine_tune_seconds("efficientnet_lite0", 200, 16) > estimate_fine_tune_seconds("efficientnet_lite0", 200, 8)
    assert not choose_fine_tune("efficientnet_lite0", 200, epochs=0).on
    # "auto" is stored as is, decided from the dataset (4 classes, 21 photos: fine-tuning is cheap), and forced values stay.
    config = TrainConfig.from_dict({"data": str(gldv2), "fine_tune": "auto"})
    settled, choice = settle_fine_tune(config)
    assert config.fine_tune == "auto" and settled.fine_tune is True and choice.on and choice.train_images < 21
    assert settled.fine_tune_epochs == choice.epochs == 16  # cheap here: auto runs the longer phase 2
    assert resolve(config).fine_tuned
    assert settle_fine_tune(TrainConfig(data=str(gldv2), fine_tune=False)) == (TrainConfig(data=str(gldv2)), None)
    with pytest.raises(ConfigError, match="fine_tune"):
        TrainConfig.from_dict({"fine_tune": "sometimes"})


def test_auto_lengthens_phase_2_while_it_stays_within_the_budget():
    from glr.training.settings import AUTO_BUDGET_SECONDS, AUTO_MAX_FINE_TUNE_EPOCHS, choose_fine_tune

    chosen = {n: choose_fine_tune("efficientnet_lite0", n, epochs=8) for n in (338, 1000, 1350, 1351)}
    assert chosen[338].epochs == AUTO_MAX_FINE_TUNE_EPOCHS and "fine-tuning 16 epochs costs about 3 min" in chosen[338].reason
    # One short epoch: "1 epochs costs about 1 min" read of a phase of well under a minute.
    one = choose_fine_tune("efficientnet_lite0", 20, 1, lengthen=False, input_size=96)
    assert one.on and f"fine-tuning 1 epoch costs about {round(one.estimate_seconds)} s here" in one.reason
    assert 8 < chosen[1000].epochs < AUTO_MAX_FINE_TUNE_EPOCHS  # as many as fit
    assert chosen[1350].epochs == 8  # the minimum just fits: on, as before
    assert not chosen[1351].on and chosen[1351].epochs == 0 and "about 5.0 min" in chosen[1351].reason
    assert all(c.estimate_seconds <= AUTO_BUDGET_SECONDS for c in chosen.values() if c.on)
    # Epochs the user gave are run as given, longer or shorter.
    assert choose_fine_tune("efficientnet_lite0", 100, epochs=20, lengthen=False).epochs == 20
    assert choose_fine_tune("efficientnet_lite0", 100, epochs=4, lengthen=False).epochs == 4


def test_auto_counts_the_image_size_the_photos_are_trained_at(gldv2):
    from glr.training.settings import FINE_TUNE_OVERHEAD, choose_fine_tune, estimate_fine_tune_seconds, fine_tune_choice

    native = estimate_fine_tune_seconds("efficientnet_lite0", 338, 8)
    assert estimate_fine_tune_seconds("efficientnet_lite0", 338, 8, input_size=224) == native
    # Twice the side is four times the pixels, so four times the work past the start-up.
    doubled = estimate_fine_tune_seconds("efficientnet_lite0", 338, 8, input_size=448)
    assert doubled - FINE_TUNE_OVERHEAD == pytest.approx(4 * (native - FINE_TUNE_OVERHEAD))
    assert estimate_fine_tune_seconds("efficientnet_lite2", 338, 8, input_size=130) < estimate_fine_tune_seconds(
        "efficientnet_lite2", 338, 8)
    # wonders7's training photos: cheap at the native size, over the budget at 448 px, and the reason says why.
    assert choose_fine_tune("efficientnet_lite0", 338, epochs=8).on
    big = choose_fine_tune("efficientnet_lite0", 338, epochs=8, input_size=448)
    assert not big.on and "338 training photos at 448 px would take about" in big.reason
    assert "at 224 px" not in choose_fine_tune("efficientnet_lite0", 338, epochs=8, input_size=224).reason
    # The configuration's input size reaches the decision (the CLI's --input-size, the Train page's box).
    small = fine_tune_choice(TrainConfig(data=str(gldv2), fine_tune="auto"))
    assert fine_tune_choice(TrainConfig(data=str(gldv2), fine_tune="auto", input_size=448)).estimate_seconds > \
        small.estimate_seconds


def test_the_train_page_runs_autos_epochs_while_its_box_is_empty():
    from glr.training.settings import FineTuneChoice, page_fine_tune_epochs, page_fine_tune_placeholder

    auto = FineTuneChoice(True, "on", 165.0, 338, 16)
    assert page_fine_tune_epochs(auto, None, 8) == 16 and page_fine_tune_placeholder(auto, 8) == "auto: 16"
    assert page_fine_tune_epochs(auto, 5, 8) == 5  # the user's own number
    assert page_fine_tune_epochs(auto, 8, 8) == 8  # typed, even when it equals the default
    assert page_fine_tune_epochs(None, None, 8) == 8  # no decision (the dataset could not be read)
    off = FineTuneChoice(False, "off", 400.0, 2000)
    assert page_fine_tune_epochs(off, None, 8) == 8 and page_fine_tune_placeholder(off, 8) == "default: 8"  # forced on


def test_a_run_made_in_python_records_autos_decision(gldv2, tmp_path, monkeypatch):
    from glr.training.launch import run_config

    # The same decision as the command line's, so a Python-made run lengthens phase 2 as the CLI's does.
    train = run_config(TrainConfig.from_dict({"data": str(gldv2), "fine_tune": "auto"}))["train"]
    assert train["fine_tune"] is True and train["fine_tune_epochs"] == 16
    # A dataset not readable yet (the demo before its first generation) keeps "auto" for the trainer to decide.
    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "not-yet"))
    assert run_config(TrainConfig.from_dict({"fine_tune": "auto"}))["train"]["fine_tune"] == "auto"
