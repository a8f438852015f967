import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.evaluation import evaluate_segmenter
from keras_scaleattn.inference import predict_full_resolution

TINY = dict(trunk_width=0.0625, attention_filters=8)


def _batches(rng, sizes, num_classes=3):
    batches = []
    for h, w in sizes:
        images = rng.uniform(0, 255, size=(2, h, w, 3)).astype("float32")
        labels = rng.integers(0, num_classes, size=(2, h, w))
        labels[:, :3] = 255
        batches.append((images, labels))
    return batches


def test_miou_matches_keras_metric_at_full_resolution(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    batches = _batches(rng, [(33, 41), (40, 40)])
    results = evaluate_segmenter(model, batches, 3, verbose=0)
    reference = keras.metrics.MeanIoU(3, ignore_class=255, sparse_y_pred=True)
    for images, labels in batches:
        reference.update_state(
            labels, predict_full_resolution(model, images)["class_map"])
    np.testing.assert_allclose(results["miou"], float(reference.result()),
                               atol=1e-6)
    assert results["num_images"] == 4
    assert set(results["by_size"]) == {"small", "medium", "large"}
    weights = results["attention_by_size"]
    for bucket in weights.values():
        if not np.isnan(bucket[1.0]):
            assert abs(bucket[1.0] + bucket[0.5] - 1.0) < 1e-5


def test_baselines_have_no_attention_statistics(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    merge="max", **TINY)
    results = evaluate_segmenter(model, _batches(rng, [(33, 33)]), 3, verbose=0)
    assert "attention_by_size" not in results


def test_max_batches_and_empty_dataset(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,), **TINY)
    results = evaluate_segmenter(model, _batches(rng, [(33, 33)] * 3), 3,
                                 max_batches=1, verbose=0)
    assert results["num_images"] == 2
    with pytest.raises(ValueError, match="no images"):
        evaluate_segmenter(model, [], 3, verbose=0)
