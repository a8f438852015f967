import numpy as np
import pytest

from keras_scaleattn.evaluation import ScaleScoresBySize
from keras_scaleattn.evaluation import object_size_masks


def _reference(labels, scores, thresholds):
    """Accuracy and mean log-sum-exp per bucket and scale, pixel by pixel."""
    sums = {}
    for label, score in zip(labels, scores):
        masks = object_size_masks(label, thresholds)
        masks["background"] = label == 0
        for bucket, mask in masks.items():
            for y, x in zip(*np.nonzero(mask)):
                entry = sums.setdefault(bucket, [0, np.zeros(2), np.zeros(2)])
                entry[0] += 1
                for s in range(score.shape[2]):
                    logits = score[y, x, s].astype(np.float64)
                    entry[1][s] += int(np.argmax(logits) == label[y, x])
                    entry[2][s] += np.log(np.sum(np.exp(logits)))
    return {bucket: (n, right / n, level / n)
            for bucket, (n, right, level) in sums.items()}


def test_matches_pixel_by_pixel_reference(rng):
    labels = np.zeros((3, 12, 12), np.int64)
    labels[:, 0:2, 0:2] = 1      # area 4: small
    labels[:, 5:11, 5:11] = 2    # area 36: large
    labels[:, 0, 6:12] = 3       # area 6: medium
    labels[0, 11, 0:4] = 255     # void
    scores = rng.normal(0, 3, size=(3, 12, 12, 2, 4)).astype(np.float32)
    thresholds = (5, 20)
    stats = ScaleScoresBySize(thresholds=thresholds)
    stats.update(labels[0], scores[0])   # one image, then a batch
    stats.update(labels[1:], scores[1:])
    result = stats.result([1.0, 0.5])
    expected = _reference(labels, scores, thresholds)
    assert set(result) == set(expected) == {"small", "medium", "large",
                                            "background"}
    for bucket, (count, accuracy, level) in expected.items():
        assert stats.num_pixels[bucket] == count
        for i, scale in enumerate((1.0, 0.5)):
            assert result[bucket][scale]["accuracy"] == pytest.approx(accuracy[i])
            assert result[bucket][scale]["level"] == pytest.approx(level[i])


def test_level_is_the_common_shift_a_softmax_ignores():
    label = np.zeros((6, 6), np.int64)
    label[0:2, 0:2] = 1
    base = np.zeros((6, 6, 2, 2))
    base[..., 1] = 1.0
    shifted = base.copy()
    shifted[:, :, 0] += 7.0      # scale 1's scores, all classes raised by 7
    plain, raised = ScaleScoresBySize((10, 20)), ScaleScoresBySize((10, 20))
    plain.update(label, base)
    raised.update(label, shifted)
    a, b = plain.result([1, 0.5])["small"], raised.result([1, 0.5])["small"]
    assert b[1.0]["level"] == pytest.approx(a[1.0]["level"] + 7.0)
    assert b[1.0]["accuracy"] == a[1.0]["accuracy"] == 1.0
    assert b[0.5] == a[0.5]


def test_empty_bucket_is_nan_and_no_background_bucket():
    stats = ScaleScoresBySize((5, 20), background_class=None)
    stats.update(np.zeros((4, 4), np.int64), np.zeros((4, 4, 2, 3)))
    result = stats.result([1.0, 0.5])
    assert set(result) == {"small", "medium", "large"}
    assert np.isnan(result["small"][1.0]["accuracy"])
    assert np.isnan(result["large"][0.5]["level"])


def test_bad_input_names_the_argument():
    stats = ScaleScoresBySize((5, 20))
    label = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match="scale_scores.shape"):
        stats.update(label, np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="finite"):
        stats.update(label, np.full((4, 4, 2, 3), np.nan))
    bad = label.copy()
    bad[0, 0] = 3
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[3\]"):
        stats.update(bad, np.zeros((4, 4, 2, 3)))
    stats.update(label, np.zeros((4, 4, 2, 3)))
    with pytest.raises(ValueError, match="same number of scales"):
        stats.update(label, np.zeros((4, 4, 3, 3)))
    with pytest.raises(ValueError, match="scales"):
        stats.result([1.0])
    with pytest.raises(ValueError, match="distinct"):
        stats.result([1.0, 1.0])
