"""AccuracyByRegion against a pixel-by-pixel reference."""

import numpy as np
import pytest

from keras_scaleattn.evaluation import AccuracyByRegion

NAMES = ("background", "object", "decoy")


def _reference(batches, num_regions, ignore_label=255):
    """Per-region accuracy and mean weights, one pixel at a time."""
    pixels = [0] * num_regions
    correct = [0] * num_regions
    weights = [None] * num_regions
    for regions, labels, predictions, attention in batches:
        for index in np.ndindex(regions.shape):
            if labels[index] == ignore_label:
                continue
            r = regions[index]
            pixels[r] += 1
            correct[r] += int(predictions[index] == labels[index])
            w = attention[index]
            weights[r] = w if weights[r] is None else weights[r] + w
    return pixels, correct, weights


def _batch(rng, shape=(2, 6, 7), scales=2):
    regions = rng.integers(0, 3, size=shape)
    labels = rng.integers(0, 4, size=shape)
    labels[rng.random(shape) < 0.1] = 255
    predictions = np.where(rng.random(shape) < 0.6, labels, rng.integers(0, 4, size=shape))
    logits = rng.normal(size=shape + (scales,))
    attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return regions, labels, predictions, attention


def test_matches_the_pixel_by_pixel_reference_over_several_updates():
    rng = np.random.default_rng(0)
    batches = [_batch(rng), _batch(rng, shape=(1, 9, 5))]
    stats = AccuracyByRegion(NAMES)
    for batch in batches:
        stats.update(*batch)
    result = stats.result([1.0, 0.5])
    pixels, correct, weights = _reference(batches, 3)
    for i, name in enumerate(NAMES):
        assert result[name]["pixels"] == pixels[i]
        assert result[name]["accuracy"] == pytest.approx(correct[i] / pixels[i])
        np.testing.assert_allclose(
            [result[name]["attention"][s] for s in (1.0, 0.5)],
            weights[i] / pixels[i], rtol=1e-12)


def test_without_attention_and_with_an_empty_region():
    stats = AccuracyByRegion(NAMES, ignore_label=None)
    regions = np.array([[0, 0], [1, 1]])
    labels = np.array([[2, 2], [255, 1]])  # 255 is a class here
    predictions = np.array([[2, 0], [255, 0]])
    stats.update(regions, labels, predictions)
    result = stats.result()
    assert result["background"] == {"pixels": 2, "accuracy": 0.5}
    assert result["object"] == {"pixels": 2, "accuracy": 0.5}
    assert result["decoy"]["pixels"] == 0 and np.isnan(result["decoy"]["accuracy"])
    stats.reset()
    assert stats.result()["object"]["pixels"] == 0


@pytest.mark.parametrize("kwargs, words", [
    (dict(regions=np.zeros((2, 2)), labels=np.zeros((2, 3))), ["same shape", "(2, 3)"]),
    (dict(regions=np.full((2, 2), 3)), ["`regions`", "[0, 3)", "3"]),
    (dict(attention=np.zeros((2, 2))), ["`attention`", "(2, 2)"]),
    (dict(regions=np.full((2, 2), 0.5)), ["`regions`", "whole-number"]),
])
def test_bad_inputs_name_the_argument(kwargs, words):
    arguments = dict(regions=np.zeros((2, 2), int), labels=np.zeros((2, 2), int),
                     predictions=np.zeros((2, 2), int), attention=None)
    arguments.update(kwargs)
    with pytest.raises(ValueError) as info:
        AccuracyByRegion(NAMES).update(**arguments)
    for word in words:
        assert word in str(info.value)


def test_the_number_of_scales_cannot_change_and_names_are_required():
    stats = AccuracyByRegion(NAMES)
    zeros = np.zeros((2, 2), int)
    stats.update(zeros, zeros, zeros, np.full((2, 2, 2), 0.5))
    with pytest.raises(ValueError, match="3 scales"):
        stats.update(zeros, zeros, zeros, np.full((2, 2, 3), 1 / 3))
    with pytest.raises(ValueError, match="`region_names`"):
        AccuracyByRegion([])
