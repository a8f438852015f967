"""Merge ceilings against brute force over the attention weight (Eq. 1)."""

import numpy as np
import pytest

from keras_scaleattn.evaluation import MergeCeiling
from keras_scaleattn.evaluation import mix_can_label
from keras_scaleattn.evaluation.merge_ceiling import mix_interval


def _brute_force_mix(scores, label, steps=20001):
    """Whether some w on a fine grid of [0, 1] puts the argmax of
    w * f1 + (1 - w) * f2 (the paper's Eq. 1 for two scales) at `label`."""
    weights = np.linspace(0.0, 1.0, steps)
    found = np.zeros(label.shape, bool)
    for start in range(0, len(label), 400):
        part = slice(start, start + 400)
        mixed = (weights[:, None, None] * scores[None, part, 0]
                 + (1 - weights[:, None, None]) * scores[None, part, 1])
        found[part] = (mixed.argmax(-1) == label[None, part]).any(0)
    return found


def _iou_reference(label, prediction, num_classes):
    ious = []
    for c in range(num_classes):
        union = np.sum((label == c) | (prediction == c))
        if union:
            ious.append(np.sum((label == c) & (prediction == c)) / union)
    return float(np.mean(ious))


def test_mix_matches_brute_force_over_the_weight(rng):
    scores = rng.normal(size=(6000, 2, 4)) * 2.0
    label = rng.integers(0, 4, size=6000)
    got = mix_can_label(scores, label)
    np.testing.assert_array_equal(got, _brute_force_mix(scores, label))
    # Both outcomes occur, and the hard choices (w = 0, 1) are among them.
    assert 0.2 < got.mean() < 0.8
    either = (scores.argmax(-1) == label[:, None]).any(-1)
    assert np.all(got[either]) and np.any(got & ~either)


def test_interval_midpoint_is_a_working_weight(rng):
    scores = rng.normal(size=(3000, 2, 5))
    label = rng.integers(0, 5, size=3000)
    low, high = mix_interval(scores, label)
    ok = np.maximum(low, 0) < np.minimum(high, 1)
    w = (np.maximum(low, 0) + np.minimum(high, 1))[ok] / 2
    mixed = w[:, None] * scores[ok, 0] + (1 - w[:, None]) * scores[ok, 1]
    np.testing.assert_array_equal(mixed.argmax(-1), label[ok])


def test_only_a_mix_reaches_a_class_both_scales_rank_second():
    # Scale 1: A 2, B 1.5, C 0; scale 2: C 2, B 1.5, A 0. At w = 0.5 the mix
    # is A 1, B 1.5, C 1: B, which neither scale puts first.
    scores = np.array([[[2.0, 1.5, 0.0], [0.0, 1.5, 2.0]]])
    assert mix_can_label(scores, np.array([1])).tolist() == [True]
    low, high = mix_interval(scores, np.array([1]))
    assert low[0] == pytest.approx(0.25) and high[0] == pytest.approx(0.75)
    # A tie at every weight is not a win.
    tied = np.array([[[1.0, 1.0], [1.0, 1.0]]])
    assert mix_can_label(tied, np.array([0])).tolist() == [False]


def test_ceilings_score_the_label_where_reachable(rng):
    num_classes = 3
    label = rng.integers(0, num_classes, size=(2, 9, 11))
    label[:, 0] = 255
    scores = rng.normal(size=(2, 9, 11, 2, num_classes)).astype(np.float32)
    prediction = rng.integers(0, num_classes, size=label.shape)
    ceiling = MergeCeiling(num_classes)
    ceiling.update(label[0], scores[0], prediction[0])
    ceiling.update(label[1:], scores[1:], prediction[1:])
    result = ceiling.result()

    valid = label != 255
    target = np.where(valid, label, 0)
    any_scale = (scores.argmax(-1) == target[..., None]).any(-1)
    mix = _brute_force_mix(scores.reshape(-1, 2, num_classes),
                           target.reshape(-1)).reshape(label.shape)
    wrong = valid & (prediction != label)
    for name, reachable in (("best_scale", any_scale), ("best_mix", mix)):
        predicted = np.where(reachable, label, prediction)
        got = result[name]
        assert got["miou"] == pytest.approx(
            _iou_reference(label[valid], predicted[valid], num_classes))
        assert got["pixel_accuracy"] == pytest.approx(
            np.mean(predicted[valid] == label[valid]))
        assert got["recovered"] == pytest.approx(
            np.sum(wrong & reachable) / np.sum(wrong))
    assert result["best_mix"]["miou"] >= result["best_scale"]["miou"]


def _far_from_edges_reference(label, band):
    """Pixels at least `band` px (Euclidean) from every pixel that has a
    4-neighbour with another label, by brute force over those pixels."""
    h, w = label.shape
    edge = [(i, j) for i in range(h) for j in range(w)
            if any(0 <= i + di < h and 0 <= j + dj < w
                   and label[i + di, j + dj] != label[i, j]
                   for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)))]
    far = np.ones((h, w), bool)
    for i in range(h):
        for j in range(w):
            far[i, j] = all(np.hypot(i - a, j - b) >= band for a, b in edge)
    return far


def test_off_edge_ceilings_fix_only_pixels_away_from_label_edges(rng):
    num_classes, band = 3, 3
    # Blocks of 8 x 8 pixels: edges along the block borders, interiors between.
    label = np.kron(rng.integers(0, num_classes, size=(2, 3, 3)),
                    np.ones((1, 8, 8), int))
    scores = rng.normal(size=label.shape + (2, num_classes))
    prediction = rng.integers(0, num_classes, size=label.shape)
    ceiling = MergeCeiling(num_classes, edge_band=band)
    ceiling.update(label, scores, prediction)
    result = ceiling.result()
    far = np.stack([_far_from_edges_reference(one, band) for one in label])
    assert 0 < far.mean() < 1
    mix = _brute_force_mix(scores.reshape(-1, 2, num_classes),
                           label.reshape(-1)).reshape(label.shape)
    for name, reachable in (("best_mix", mix), ("best_mix_off_edges", mix & far)):
        predicted = np.where(reachable, label, prediction)
        assert result[name]["pixel_accuracy"] == pytest.approx(
            np.mean(predicted == label))
    assert result["best_mix_off_edges"]["miou"] <= result["best_mix"]["miou"]
    with pytest.raises(ValueError, match="edge_band"):
        MergeCeiling(3, edge_band=0)


def test_three_scales_have_no_mix_ceiling(rng):
    ceiling = MergeCeiling(2)
    label = rng.integers(0, 2, size=(4, 4))
    ceiling.update(label, rng.normal(size=(4, 4, 3, 2)), label)
    result = ceiling.result()
    assert result["best_mix"] is None and result["best_mix_off_edges"] is None
    assert result["best_scale"]["pixel_accuracy"] == 1.0
    assert np.isnan(result["best_scale"]["recovered"])  # no mistakes to fix


def test_bad_input_is_named(rng):
    ceiling = MergeCeiling(3)
    label = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="scale_scores"):
        ceiling.update(label, np.zeros((4, 5, 2, 3)), label)
    with pytest.raises(ValueError, match="3 classes"):
        ceiling.update(label, np.zeros((4, 4, 2, 4)), label)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ceiling.update(label + 7, np.zeros((4, 4, 2, 3)), label)
    ceiling.update(label, np.zeros((4, 4, 2, 3)), label)
    with pytest.raises(ValueError, match="keep 2 scales"):
        ceiling.update(label, np.zeros((4, 4, 3, 3)), label)
    with pytest.raises(ValueError, match="two scales"):
        mix_interval(np.zeros((4, 3, 3)), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\).*\[3\]"):
        mix_can_label(np.zeros((4, 2, 3)), np.array([0, 1, 2, 3]))
