import numpy as np
import pytest

from keras_scaleattn.evaluation import AttentionBySize


def _scene(small_weight):
    """10x10 label with one object per bucket and constant weights per region."""
    label = np.zeros((10, 10), np.int32)
    attention = np.empty((10, 10, 2))
    attention[:] = [0.5, 0.5]  # background
    label[0:2, 0:2] = 1  # area 4 -> small
    attention[0:2, 0:2] = [small_weight, 1 - small_weight]
    label[0, 5:10] = 3  # area 5 -> medium
    attention[0, 5:10] = [0.6, 0.4]
    label[4:9, 4:9] = 2  # area 25 -> large
    attention[4:9, 4:9] = [0.2, 0.8]
    label[9, 0:3] = 255  # void: its weights must not count anywhere
    attention[9, 0:3] = [1.0, 0.0]
    return label, attention


def test_mean_weights_per_bucket_are_pixel_weighted():
    stats = AttentionBySize(thresholds=(5, 20))
    stats.update(*_scene(small_weight=0.9))
    stats.update(*_scene(small_weight=0.7))
    result = stats.result([1.0, 0.5])
    expected = {
        "small": {1.0: 0.8, 0.5: 0.2},
        "medium": {1.0: 0.6, 0.5: 0.4},
        "large": {1.0: 0.2, 0.5: 0.8},
        "background": {1.0: 0.5, 0.5: 0.5},
    }
    assert set(result) == set(expected)
    for bucket, weights in expected.items():
        assert result[bucket] == pytest.approx(weights), bucket
    assert stats.num_pixels == {
        "small": 8,
        "medium": 10,
        "large": 50,
        "background": 2 * (100 - 4 - 5 - 25 - 3),
    }


def test_batched_update_and_empty_bucket():
    label, attention = _scene(0.9)
    label[0, 5:10] = 0  # no medium object any more
    stats = AttentionBySize(thresholds=(5, 20))
    stats.update(np.stack([label, label]), np.stack([attention, attention]))
    result = stats.result((1, 0.5))
    assert all(np.isnan(w) for w in result["medium"].values())
    assert result["small"][1.0] == pytest.approx(0.9)


def test_without_background_class():
    stats = AttentionBySize(thresholds=(5, 20), background_class=None)
    stats.update(*_scene(0.9))
    assert set(stats.result([1, 0.5])) == {"small", "medium", "large"}


def test_invalid_inputs():
    label, attention = _scene(0.9)
    stats = AttentionBySize(thresholds=(5, 20))
    with pytest.raises(ValueError, match=r"\(10, 9, 2\).*\(10, 10\)"):
        stats.update(label, attention[:, :9])
    with pytest.raises(ValueError, match="summing to 1"):
        stats.update(label, attention * 2)
    stats.update(label, attention)
    with pytest.raises(ValueError, match="same number of scales"):
        stats.update(label, np.full((10, 10, 3), 1 / 3))
    with pytest.raises(ValueError, match="scales"):
        stats.result([1.0, 0.75, 0.5])
    with pytest.raises(ValueError, match="scales"):
        stats.result([1.0, 1.0])
