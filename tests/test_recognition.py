"""glr.retrieval.recognition: kNN votes, the blend, calibration of the unknown verdict, and GAP with distractors."""

import numpy as np
import pytest

from glr.errors import GlrError
from glr.retrieval.recognition import (
    Calibration, blend_scores, calibrate, class_margin, evaluate_methods, known_score, knn_scores, knn_top, method_scores,
    method_tops, roc_auc, run_known_score,
)
from glr.evaluation.ranked import blocks


def test_knn_scores_by_hand():
    sims = np.array([[0.9, 0.8, 0.1, -0.5]])
    classes = np.array([[2, 0, 2, 1]])
    scores = knn_scores(sims, classes, 3)
    # Class 2 gets 0.9 + 0.1, class 0 gets 0.8, class 1's negative similarity counts as 0; all / k.
    np.testing.assert_allclose(scores, [[0.8 / 4, 0.0, 1.0 / 4]])


def test_blend_and_method_scores():
    head = np.array([[0.7, 0.2, 0.1]], np.float32)
    knn = np.array([[0.0, 0.6, 0.0]], np.float32)
    np.testing.assert_allclose(blend_scores(head, knn, 0.5), [[0.35, 0.4, 0.05]])
    scores = method_scores(head, np.array([[0.6]]), np.array([[1]]))
    assert set(scores) == {"head", "knn", "blend"}
    assert scores["head"].argmax() == 0 and scores["knn"].argmax() == 1 and scores["blend"].argmax() == 1


def test_known_score_is_mean_of_confidence_and_top_similarity():
    np.testing.assert_allclose(known_score(np.array([[0.2, 0.8], [0.5, 0.5]]), np.array([0.4, 1.0])), [0.6, 0.75])
    # With spatial verification, the mean of the three.
    np.testing.assert_allclose(known_score(np.array([[0.2, 0.8], [0.5, 0.5]]), np.array([0.4, 1.0]), np.array([0.9, 0.0])),
                               [0.7, 0.5], rtol=1e-6)


def test_verified_scores_move_the_class_with_inliers_up():
    from glr.retrieval.recognition import verified_scores

    scores = np.array([[0.6, 0.4, 0.0]], np.float32)
    # Neighbours: class 0 (no inliers), class 1 (verified 0.8), class 1 again (0.3): class 1's best counts.
    out = verified_scores(scores, np.array([[0.0, 0.8, 0.3]]), np.array([[0, 1, 1]]))
    np.testing.assert_allclose(out, [[0.3, 0.6, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(verified_scores(scores, np.zeros((1, 0)), np.zeros((1, 0), int)), 0.5 * scores)


def test_calibration_keeps_the_asked_share_of_validation_photos():
    scores = np.random.default_rng(0).permutation(np.linspace(0.1, 0.9, 100))
    cal = calibrate(scores, keep_known=0.95)
    assert (~cal.is_unknown(scores)).sum() == 95 and cal.calibrated_on == 100
    assert (~calibrate(scores, keep_known=1.0).is_unknown(scores)).all()
    assert cal.is_unknown(0.0) and not cal.is_unknown(0.95)
    with pytest.raises(GlrError, match="no validation images"):
        calibrate(np.array([]))
    with pytest.raises(GlrError, match="keep_known"):
        calibrate(scores, keep_known=0.0)


def test_gap_with_distractors_and_the_unknown_verdict():
    # Two validation photos, both right; one distractor guessed with high confidence.
    val = {"head": np.array([[0.9, 0.1], [0.2, 0.6]])}
    dis = {"head": np.array([[0.95, 0.05]])}
    cal = Calibration(threshold=0.5)
    out = evaluate_methods(val, np.array([0, 1]), dis, np.array([0.9, 0.7]), np.array([0.3]), cal)["head"]
    assert out["top1"] == 1.0 and out["gap"] == 1.0
    # Ranked first, the distractor halves the precision at both relevant ranks: (1/2 + 2/3) / 2.
    assert out["gap_distractors"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # Called unknown, it drops below both, and GAP is whole again.
    assert out["gap_distractors_unknown"] == 1.0


def test_roc_auc():
    assert roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert np.isnan(roc_auc(np.array([0.5]), np.array([])))


def test_class_margin_to_the_best_other_class():
    sims = np.array([[0.9, 0.8, 0.5], [0.9, 0.85, 0.4], [0.7, 0.6, 0.2]], np.float32)
    classes = np.array([[1, 2, 2], [1, 1, 3], [4, 4, 4]])
    margin = class_margin(sims, classes)
    assert margin == pytest.approx([0.1, 0.5, 0.5])  # the last: every neighbour is class 4, the k-th stands in
    assert class_margin(np.zeros((2, 0)), np.zeros((2, 0), int)).tolist() == [0, 0]
    np.testing.assert_allclose(run_known_score("head+top+margin", np.array([[0.6, 0.4]] * 3), sims, classes),
                               (0.6 + sims[:, 0] + margin) / 3, rtol=1e-6)
    np.testing.assert_allclose(run_known_score("head+top", np.array([[0.6, 0.4]] * 3), sims, classes),
                               (0.6 + sims[:, 0]) / 2, rtol=1e-6)
    with pytest.raises(GlrError, match="formula"):
        run_known_score("magic", np.array([[0.6, 0.4]] * 3), sims, classes)


def _random_case(rng, photos, classes, k):
    """Coarse head probabilities and similarities (many ties), neighbours' classes drawn with repeats."""
    head = rng.integers(0, 4, (photos, classes)).astype(np.float32) / 4
    sims = -np.sort(-np.round(rng.uniform(-0.5, 1.0, (photos, k)), 1), axis=1).astype(np.float32)
    return head, sims, rng.integers(0, classes, (photos, k))


@pytest.mark.parametrize("photos, classes, k", [(40, 7, 10), (40, 30, 3), (25, 5, 0), (1, 1, 4), (0, 6, 3), (60, 200, 10)])
def test_method_tops_streamed_equal_the_dense_scores(photos, classes, k):
    """Each method's best class and score, made block by block and from the neighbours alone, are the dense
    matrices' argmax and max, value for value and dtype for dtype: ties (first class wins), negative similarities,
    classes no neighbour has, fewer neighbours than KNN_K (an index smaller than k), none at all."""
    rng = np.random.default_rng(photos * 1000 + classes + k)
    head, sims, neighbours = _random_case(rng, photos, classes, k)
    dense = method_scores(head, sims, neighbours)
    for probs in (head, head.tolist(), blocks(head, cells=3 * classes), blocks(head.astype(np.float64), cells=7 * classes)):
        tops, head_max = method_tops(probs, sims, neighbours, classes)
        assert list(tops) == ["head", "knn", "blend"]
        for method, scores in dense.items():
            pred, conf = tops[method]
            np.testing.assert_array_equal(pred, scores.argmax(1), err_msg=method)
            np.testing.assert_array_equal(conf, scores.max(1), err_msg=method)
            assert pred.dtype == scores.argmax(1).dtype and conf.dtype == np.float32, method
        np.testing.assert_array_equal(head_max, np.asarray(head, np.float32).max(1))


def test_knn_top_of_a_photo_whose_neighbours_all_vote_zero_is_class_0():
    pred, conf = knn_top(np.array([[-0.2, 0.0], [0.5, 0.5]], np.float32), np.array([[4, 2], [3, 1]]))
    # Row 0: every class votes 0, so the dense argmax is class 0; row 1: a tie goes to the lower class.
    assert pred.tolist() == [0, 1] and conf.tolist() == [0.0, 0.25]


def test_method_tops_reads_one_block_at_a_time_and_keeps_none():
    """The next block is asked for only once the previous one is let go: memory is one block, whatever the photos."""
    import weakref

    rng = np.random.default_rng(3)
    head, sims, neighbours = _random_case(rng, 50, 9, 4)
    held = []

    def one_at_a_time():
        for start in range(0, 50, 8):
            assert not held or held[-1]() is None, "the previous block is still held"
            block = head[start:start + 8].copy()
            held.append(weakref.ref(block))
            yield block
            del block

    tops, _ = method_tops(one_at_a_time(), sims, neighbours, 9)
    assert len(held) == 7 and np.array_equal(tops["blend"][0], method_scores(head, sims, neighbours)["blend"].argmax(1))


def test_method_tops_says_when_the_head_and_the_search_disagree():
    head, sims, neighbours = _random_case(np.random.default_rng(4), 10, 5, 3)
    with pytest.raises(GlrError, match="gives 4 classes but the run lists 5"):
        method_tops(head[:, :4], sims, neighbours, 5)
    with pytest.raises(GlrError, match="classified 9 photos but 10 were searched"):
        method_tops(head[:9], sims, neighbours, 5)


def test_evaluate_methods_takes_the_best_class_and_score_alone():
    head, sims, neighbours = _random_case(np.random.default_rng(5), 30, 6, 5)
    true = np.random.default_rng(6).integers(0, 6, 20)
    dense = method_scores(head, sims, neighbours)
    tops, _ = method_tops(head, sims, neighbours, 6)
    args = (np.linspace(0, 1, 20), np.linspace(0, 1, 10), Calibration(threshold=0.4))
    assert evaluate_methods({m: s[:20] for m, s in dense.items()}, true, {m: s[20:] for m, s in dense.items()}, *args) == \
        evaluate_methods({m: (p[:20], c[:20]) for m, (p, c) in tops.items()}, true,
                         {m: (p[20:], c[20:]) for m, (p, c) in tops.items()}, *args)


def test_known_score_from_the_top_head_probability_alone():
    head = np.array([[0.2, 0.8], [0.5, 0.5]], np.float32)
    top = np.array([0.4, 1.0], np.float32)
    np.testing.assert_array_equal(known_score(head.max(1), top, head_weight=0.3), known_score(head, top, head_weight=0.3))
