"""glr.retrieval.known_weight: the known score's mix, learned by leaving training classes out."""

import numpy as np
import pytest

from glr.retrieval import known_weight
from glr.retrieval.known_weight import EVEN, head_weight

SPREAD = np.linspace(0.0, 1.0, 40)  # validation parts with equal spreads: the raw weight is the standardised one


def one_photo_per_class_sign(classes=8, per=6):
    """Every photo of a class is the same one-hot vector: a query is of a known class iff a fit photo equals it."""
    y = np.repeat(np.arange(classes), per)
    return np.eye(classes, dtype=np.float32)[y], y


def parts_where(informative: str):
    """A stand-in for the proxy's parts: `informative` ("head" or "top") tells known queries from unseen, the other is noise."""
    rng = np.random.default_rng(0)

    def one(fit_x, query_x):
        known = (query_x @ fit_x.T).max(1) > 0.5
        signal, noise = known + 0.3 * rng.normal(size=len(known)), rng.normal(size=len(known))
        return np.c_[signal, noise] if informative == "head" else np.c_[noise, signal]
    return lambda fit_x, fit_y, *queries, sims=None: [one(fit_x, q) for q in queries]


@pytest.mark.parametrize("informative", ["head", "top"])
def test_the_part_that_tells_unseen_classes_apart_gets_the_weight(monkeypatch, informative):
    monkeypatch.setattr(known_weight, "_parts", parts_where(informative))
    weight = head_weight(*one_photo_per_class_sign(), SPREAD, SPREAD)
    # Halfway between the learned weight (near 1 or 0 here) and the even mix: near 0.75 or 0.25.
    assert weight > 0.7 if informative == "head" else weight < 0.3


def test_the_weight_is_for_the_raw_parts_so_a_wider_spread_gets_less(monkeypatch):
    monkeypatch.setattr(known_weight, "_parts", parts_where("head"))
    even = head_weight(*one_photo_per_class_sign(), SPREAD, SPREAD)
    monkeypatch.setattr(known_weight, "_parts", parts_where("head"))
    wide = head_weight(*one_photo_per_class_sign(), 100 * SPREAD, SPREAD)
    assert 0.25 < wide < even


def test_the_stand_in_head_sees_the_head_features_and_the_similarity_the_index_vectors(monkeypatch):
    # A regional index (glr.retrieval.regional) searches by other vectors than the head classifies.
    x, y = one_photo_per_class_sign()
    head_feats = np.c_[x, np.ones((len(x), 2), np.float32)]  # wider, so each part's source shows
    seen, real = [], known_weight._parts

    def parts(fit_x, fit_y, *queries, sims=None):
        seen.append((fit_x.shape[1], [q.shape[1] for q in queries], [s.shape[1] for s in sims]))
        return real(fit_x, fit_y, *queries, sims=sims)

    monkeypatch.setattr(known_weight, "_parts", parts)
    weight = head_weight(x, y, SPREAD, SPREAD, head_feats=head_feats)
    assert seen and all(s == (x.shape[1] + 2, [x.shape[1] + 2] * 2, [x.shape[1]] * 3) for s in seen)
    assert 0.25 <= weight <= 0.75
    monkeypatch.undo()
    # The head's own features as both: the weight of an index that searches what the head classifies.
    assert head_weight(x, y, SPREAD, SPREAD, head_feats=x) == head_weight(x, y, SPREAD, SPREAD)


def test_fewer_than_three_classes_with_two_photos_give_the_even_mix():
    x, y = one_photo_per_class_sign(classes=4, per=1)
    assert head_weight(x, y, SPREAD, SPREAD) == EVEN  # no class has 2 photos
    x, y = one_photo_per_class_sign(classes=2)
    assert head_weight(x, y, SPREAD, SPREAD) == EVEN


def test_real_features_give_a_repeatable_weight_between_0_and_1():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 8)
    x = rng.normal(size=(6, 32))[y] + 0.5 * rng.normal(size=(len(y), 32))
    weight = head_weight(x, y, SPREAD, SPREAD)
    assert 0.25 <= weight <= 0.75 and head_weight(x, y, SPREAD, SPREAD) == weight


def test_the_sample_is_bounded_at_any_size(monkeypatch):
    monkeypatch.setattr(known_weight, "MAX_CLASSES", 5)
    monkeypatch.setattr(known_weight, "MAX_PHOTOS", 20)
    labels = np.r_[np.repeat(np.arange(50), 30), 99]  # 50 classes of 30 photos, and one of a single photo
    rows = known_weight._sample(labels, np.random.default_rng(0))
    counts = np.unique(labels[rows], return_counts=True)[1]
    assert len(counts) == 5 and (counts == 4).all() and 99 not in labels[rows]


def test_the_weight_used_is_halfway_between_the_learned_one_and_the_even_mix(monkeypatch):
    from glr.retrieval.known_weight import learned_weight

    monkeypatch.setattr(known_weight, "_parts", parts_where("top"))
    learned = learned_weight(*one_photo_per_class_sign(), SPREAD, SPREAD)
    monkeypatch.setattr(known_weight, "_parts", parts_where("top"))
    assert learned < 0.1 and head_weight(*one_photo_per_class_sign(), SPREAD, SPREAD) == pytest.approx((learned + EVEN) / 2)
