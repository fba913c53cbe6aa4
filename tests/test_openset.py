"""The open-set benchmark: the left-out choice, its figures on tiny data, and one tiny end-to-end run."""

import numpy as np
import pytest

from conftest import make_gldv2, tiny_config
from glr.errors import GlrError
from glr.evaluation import openset


def test_held_out_choice_is_seeded_and_bounded():
    ids = [3, 5, 9, 11, 20]
    first = openset.choose_held_out(ids, 2, seed=0)
    assert first == openset.choose_held_out(list(reversed(ids)), 2, seed=0)
    assert len(first) == 2 and set(first) <= set(ids)
    assert {tuple(openset.choose_held_out(ids, 2, seed=s)) for s in range(10)} != {tuple(first)}
    with pytest.raises(GlrError, match="between 1 and 3"):
        openset.choose_held_out(ids, 4, seed=0)
    assert openset.default_hold_out(7) == 2 and openset.default_hold_out(100) == 25 and openset.default_hold_out(3) == 1
    with pytest.raises(GlrError, match="at least 3 classes"):
        openset.default_hold_out(2)


def test_scores_on_tiny_data():
    # 4 known validation photos (one called unknown, one wrong among the kept), 2 left-out photos (one caught).
    figures = openset.open_set_scores(
        val_true=[0, 1, 0, 1], val_pred=[0, 1, 1, 1], val_conf=[0.9, 0.8, 0.7, 0.3],
        val_known=[0.9, 0.8, 0.7, 0.3], val_unknown=[False, False, False, True],
        held_pred=[0, 1], held_conf=[0.95, 0.2], held_known=[0.85, 0.1], held_unknown=[False, True],
        distractor_unknown=[True, True, False], knn_pred=[0, 0, 0, 1])
    assert figures["known_kept"] == pytest.approx(0.75)
    assert figures["held_out_unknown"] == pytest.approx(0.5)
    assert figures["distractors_unknown"] == pytest.approx(2 / 3)
    assert figures["top1_kept"] == pytest.approx(2 / 3)
    assert figures["knn_top1"] == pytest.approx(0.75)
    # Raw ranking: 0.95 (left-out, wrong), 0.9 ok, 0.8 ok, 0.7 wrong, 0.3 ok, 0.2 (left-out).
    assert figures["gap_raw"] == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 4)
    # With the verdict the unknown ones go last: 0.95, 0.9, 0.8, 0.7, then 0.3 ok, 0.2.
    assert figures["gap"] == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 4)
    assert figures["auroc"] == pytest.approx(5 / 8)  # known above left-out in 5 of the 8 pairs


def test_verdict_moves_unknown_photos_below_known_ones():
    common = dict(val_true=[0, 1], val_pred=[0, 1], val_conf=[0.6, 0.5], val_known=[0.6, 0.5],
                  val_unknown=[False, False], held_pred=[0], held_conf=[0.99], held_known=[0.2], distractor_unknown=[])
    caught = openset.open_set_scores(held_unknown=[True], **common)
    missed = openset.open_set_scores(held_unknown=[False], **common)
    assert caught["gap"] == pytest.approx(1.0) and caught["gap_raw"] < 1.0
    assert missed["gap"] == pytest.approx(missed["gap_raw"])
    assert np.isnan(caught["distractors_unknown"])


def test_tiny_run_end_to_end(tmp_path):
    """Four colour-coded classes: one left out, trained at 32 px, scored plain and with verification."""
    data = make_gldv2(tmp_path / "data", {3: 5, 5: 5, 9: 5, 11: 5})
    config = tiny_config(data, epochs=2)
    results = openset.run_openset(data, hold_out=1, seeds=[0], config=config)
    assert [r.verified for r in results] == [False, True]
    for r in results:
        assert r.known_classes == 3 and len(r.held_out) == 1
        assert r.held_out_photos == 5 and r.known_val >= 3 and r.distractors > 20
        assert 0 <= r.held_out_unknown <= 1 and r.known_kept >= 0.6
    table = openset.summary_table(results)
    assert list(table["seed"]) == ["0", "mean", "0", "mean"] or set(table["mode"]) == {"plain", "verified"}


def test_the_table_names_a_few_left_out_classes_then_how_many_more():
    figures = dict(known_classes=75, known_val=300, held_out_photos=100, distractors=84, threshold=0.5, known_kept=0.95,
                   held_out_unknown=0.4, distractors_unknown=0.7, top1_kept=0.95, knn_top1=0.8, gap=0.8, gap_raw=0.8,
                   auroc=0.9, verified=False)
    many = openset.OpenSetResult(seed=0, held_out=[f"Tower {i}" for i in range(25)], **figures)
    few = openset.OpenSetResult(seed=1, held_out=["Petra", "Machu Picchu"], **figures)
    table = openset.summary_table([many, few])
    assert table["held_out"].tolist()[:2] == ["Tower 0, Tower 1, Tower 2 and 22 more", "Petra, Machu Picchu"]


def test_the_table_is_followed_by_what_each_seed_trained():
    figures = dict(known_classes=5, known_val=60, held_out_photos=120, distractors=84, threshold=0.5, known_kept=0.95,
                   held_out_unknown=0.4, distractors_unknown=0.7, top1_kept=0.95, knn_top1=0.8, gap=0.8, gap_raw=0.8,
                   auroc=0.9)
    frozen = openset.OpenSetResult(seed=0, held_out=["Petra"], **figures)
    plain, verified = (openset.OpenSetResult(seed=1, held_out=["Petra"], **figures, verified=v, fine_tune_epochs=16)
                       for v in (False, True))
    assert openset.fine_tuning_line([frozen, plain, verified]) == \
        "training per seed: 0: linear probe only, 1: fine-tuned 16 epochs"


def test_fine_tuning_follows_trains_auto_decision_for_the_known_photos(tmp_path):
    """"auto" is decided from the known classes' training photos, as `train` would; forced values pass through."""
    from glr.training.settings import AUTO_MAX_FINE_TUNE_EPOCHS

    said = []
    config = tiny_config(tmp_path, fine_tune="auto", backbone="efficientnet_lite0")
    few = openset.settle_for_known(config, 240, said.append)
    assert few.fine_tune is True and few.fine_tune_epochs == AUTO_MAX_FINE_TUNE_EPOCHS
    many = openset.settle_for_known(config, 100_000, said.append)
    assert many.fine_tune is False
    assert said[0].startswith("fine-tuning (auto) on: 240 training photos") and "off: 100000" in said[1]
    for forced in (True, False):
        assert openset.settle_for_known(tiny_config(tmp_path, fine_tune=forced), 240).fine_tune is forced


def test_keep_naming_a_file_is_a_clear_error_before_any_training(tmp_path):
    data = make_gldv2(tmp_path / "data", {3: 4, 5: 4, 9: 4})
    (tmp_path / "results.txt").write_text("notes")
    with pytest.raises(GlrError, match="results.txt: is a file; --keep needs a folder"):  # NotADirectoryError before
        openset.run_openset(data, hold_out=1, seeds=[0], config=tiny_config(data, epochs=1), results=tmp_path / "results.txt")


def test_a_repeated_seed_is_run_once_and_undecodable_left_out_photos_are_said(tmp_path):
    """`--seeds 0 0` trained the same run twice and counted it twice in the mean; a left-out class that does not
    decode gave NaN figures without a word."""
    from conftest import image_id

    data = make_gldv2(tmp_path / "data", {3: 4, 5: 4, 9: 4})
    [out] = openset.choose_held_out([3, 5, 9], 1, seed=0)
    for i in range(4):
        iid = image_id(out, i)
        (data / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg").write_bytes(b"not a jpeg")
    said = []
    results = openset.run_openset(data, hold_out=1, seeds=[0, 0], config=tiny_config(data, epochs=1), verify=False,
                                  say=said.append)
    assert [r.seed for r in results] == [0] and results[0].held_out_photos == 0
    assert said[0] == "seeds given more than once are run once: 0"
    assert any("none of the left-out classes' photos could be decoded" in m for m in said)
    assert sum(m.endswith("scoring") for m in said) == 1


def test_too_few_classes_for_a_given_hold_out_says_so():
    # It said "--hold-out-classes must be between 1 and 0 for 2 classes".
    with pytest.raises(GlrError, match="needs at least 3 classes .* the dataset has 2"):
        openset.choose_held_out([3, 5], 1, seed=0)


def test_classes_curation_drops_are_said(tmp_path):
    # A class of one photo was left out of the benchmark in silence (train and inspect say it).
    data = make_gldv2(tmp_path / "data", {3: 4, 5: 4, 9: 4, 11: 1})
    said = []
    with pytest.raises(GlrError, match="between 1 and 1 for 3 classes"):
        openset.run_openset(data, hold_out=2, seeds=[0], config=tiny_config(data), say=said.append)
    assert len(said) == 1 and said[0].startswith("Dropped 1 class with fewer than 2 images")


@pytest.mark.parametrize("method", ["head", "knn", "blend"])
def test_group_scores_a_block_of_photos_at_a_time_as_the_whole_matrix_would(method):
    """score_run's groups keep each photo's best class and score, plain and re-ranked by verification, from the
    head's probabilities one block at a time: the same as the whole matrices', ties and unseen classes included."""
    import weakref

    from glr.evaluation.ranked import blocks
    from glr.retrieval.recognition import method_scores, verified_scores

    rng = np.random.default_rng(7)
    photos, classes, k = 45, 12, 6
    probs = rng.integers(0, 4, (photos, classes)).astype(np.float32) / 4
    sims = -np.sort(-np.round(rng.uniform(-0.3, 1.0, (photos, k)), 1), axis=1).astype(np.float32)
    neighbours = rng.integers(0, classes, (photos, k))
    verification = np.round(rng.uniform(0, 1, (photos, 3)), 1).astype(np.float32)
    held = []

    def one_at_a_time():
        for block in blocks(probs, cells=8 * classes):
            assert not held or held[-1]() is None, "the previous block is still held"
            block = block.copy()
            held.append(weakref.ref(block))
            yield block
            del block

    out = openset._tops(one_at_a_time(), sims, neighbours, method, verification)
    plain = method_scores(probs, sims, neighbours)[method]
    verified = verified_scores(plain, verification, neighbours[:, :3])
    assert len(held) == 6
    for mode, scores in (("plain", plain), ("verified", verified)):
        np.testing.assert_array_equal(out[mode][0], scores.argmax(1))
        np.testing.assert_array_equal(out[mode][1], scores.max(1))
    np.testing.assert_array_equal(out["head"], probs.max(1))


def test_seeds_that_leave_out_the_same_classes_train_once(tmp_path):
    # With 3 classes and 1 left out there are 3 choices; seeds 0 and 2 both leave out landmark 9, so the default
    # seeds trained the same run twice and counted it twice in the mean, as a repeated seed once did.
    data = make_gldv2(tmp_path / "data", {3: 4, 5: 4, 9: 4})
    assert openset.choose_held_out([3, 5, 9], 1, seed=0) == openset.choose_held_out([3, 5, 9], 1, seed=2)
    said = []
    results = openset.run_openset(data, hold_out=1, seeds=[0, 2], config=tiny_config(data, epochs=1), verify=False,
                                  say=said.append)
    assert [r.seed for r in results] == [0]
    assert ("seed 2: leaves out the same classes as seed 0 (landmark 9), so it would train the same run again: "
            "skipped (3 classes allow 3 choices of 1 left out)") in said
    assert sum(m.endswith("scoring") for m in said) == 1


def test_kept_runs_are_listed_finished_not_failed(tmp_path):
    # The runs --keep keeps were trained in-process without their status moving on from "queued", so `runs` and the
    # app listed each finished run as failed: "never started: the process that queued it ended".
    from glr.training.run_table import list_runs

    data = make_gldv2(tmp_path / "data", {3: 4, 5: 4, 9: 4})
    openset.run_openset(data, hold_out=1, seeds=[0], config=tiny_config(data, epochs=1), verify=False,
                        results=tmp_path / "kept")
    [row] = list_runs(tmp_path / "kept").to_dict("records")
    assert row["state"] == "finished", row["message"]
    assert row["message"].startswith("top-1 ") and row["model_top1"] is not None


def test_a_kept_run_stopped_or_failed_is_recorded_so(tmp_path):
    from types import SimpleNamespace

    from glr.training.launch import new_run
    from glr.training.progress import StopRequested

    def raising(exc):
        class Raising:  # a trainer whose training ends in `exc`
            trained = None

            def __init__(self, *args, **kwargs):
                self.progress = SimpleNamespace(close=lambda: None)

            def train(self, resume=False):
                raise exc
        return Raising

    stopped = new_run(tmp_path, tiny_config(tmp_path))
    with pytest.raises(GlrError, match=f"its run {stopped.id} was asked to stop"):  # not a StopRequested traceback
        openset._train_recorded(stopped, raising(StopRequested()))
    assert stopped.status()["state"] == "stopped"
    failed = new_run(tmp_path, tiny_config(tmp_path))
    with pytest.raises(MemoryError):
        openset._train_recorded(failed, raising(MemoryError("out of memory")))
    assert (failed.status()["state"], failed.status()["message"]) == ("failed", "MemoryError: out of memory")


@pytest.mark.parametrize("stop", [GlrError("seed 1: the dataset changed"), KeyboardInterrupt()], ids=["failed", "ctrl-c"])
def test_a_later_seed_failing_or_stopped_still_prints_the_finished_seeds(monkeypatch, capsys, stop):
    # A seed failing (or Ctrl-C) after others had run for minutes printed no table: their figures were lost.
    from types import SimpleNamespace

    figures = dict(known_classes=5, known_val=60, held_out_photos=120, distractors=84, threshold=0.5, known_kept=0.95,
                   held_out_unknown=0.4, distractors_unknown=0.7, top1_kept=0.95, knn_top1=0.8, gap=0.8, gap_raw=0.8,
                   auroc=0.9, verified=False)

    def first_then_stop(*args, collected, **kwargs):
        collected.append(openset.OpenSetResult(seed=0, held_out=["Petra"], **figures))
        raise stop

    monkeypatch.setattr(openset, "run_openset", first_then_stop)
    args = SimpleNamespace(top_n=100, min_images=2, val_fraction=0.2, seed=42, backbone="efficientnet_lite0",
                           fine_tune="auto", epochs=None, hold_out_classes=1, seeds=[0, 1], keep=None, no_verify=True)
    with pytest.raises(type(stop)):
        openset.main(args, data="DATA")
    out = capsys.readouterr().out
    assert "open-set benchmark on DATA (only the seeds that finished: 0):" in out
    assert "Petra" in out and "training per seed: 0: linear probe only" in out
