import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.evaluation import evaluate_segmenter
from keras_scaleattn.evaluation import object_size_masks
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


def test_each_scale_by_size_with_extra_supervision(rng):
    # Reference: each scale's own full-resolution scores, its argmax and
    # log-sum-exp averaged over the pixels of each size bucket by hand.
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    merge="max", extra_supervision=True, **TINY)
    batches = _batches(rng, [(33, 41)])
    thresholds = (20, 200)
    results = evaluate_segmenter(model, batches, 3, size_thresholds=thresholds,
                                 verbose=0)
    images, labels = batches[0]
    scores = predict_full_resolution(model, images,
                                     scale_logits=True)["scale_logits"]
    masks = [object_size_masks(label, thresholds) for label in labels]
    for bucket in ("small", "medium", "large"):
        pixels = np.concatenate([s[m[bucket]] for s, m in zip(scores, masks)])
        truth = np.concatenate([lab[m[bucket]] for lab, m in zip(labels, masks)])
        for i, scale in enumerate((1.0, 0.5)):
            got = results["scales_by_size"][bucket][scale]
            if len(truth) == 0:
                assert np.isnan(got["accuracy"])
                continue
            accuracy = np.mean(pixels[:, i].argmax(-1) == truth)
            level = np.mean(np.log(np.exp(pixels[:, i].astype(np.float64))
                                   .sum(-1)))
            assert got["accuracy"] == pytest.approx(accuracy, abs=1e-6)
            assert got["level"] == pytest.approx(level, abs=1e-4)
    # The merge ceilings: the label wherever a scale's own argmax has it
    # (reference by hand), never below the model's own mIoU.
    ceiling = results["merge_ceiling"]
    prediction = predict_full_resolution(model, images)["class_map"]
    valid = labels != 255
    reached = (scores.argmax(-1) == np.where(valid, labels, 0)[..., None]).any(-1)
    best = np.where(reached & valid, labels, prediction)
    assert ceiling["best_scale"]["pixel_accuracy"] == pytest.approx(
        np.mean(best[valid] == labels[valid]))
    assert (ceiling["best_mix"]["miou"] >= ceiling["best_scale"]["miou"]
            >= results["miou"])
    plain = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    extra_supervision=False, **TINY)
    plain_results = evaluate_segmenter(plain, batches, 3, verbose=0)
    assert "scales_by_size" not in plain_results
    assert "merge_ceiling" not in plain_results


def test_max_batches_and_empty_dataset(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,), **TINY)
    results = evaluate_segmenter(model, _batches(rng, [(33, 33)] * 3), 3,
                                 max_batches=1, verbose=0)
    assert results["num_images"] == 2
    with pytest.raises(ValueError, match="no images"):
        evaluate_segmenter(model, [], 3, verbose=0)


def test_progress_bar_counts_known_number_of_batches(rng, capsys):
    import tensorflow as tf

    from keras_scaleattn.evaluation.evaluator import _known_num_batches

    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,), **TINY)
    batches = _batches(rng, [(33, 33)] * 3)
    evaluate_segmenter(model, batches, 3, max_batches=2, verbose=1)
    assert "2/2" in capsys.readouterr().out
    # tf.data: known when TensorFlow knows the length, open-ended otherwise.
    images = np.stack([b[0] for b in batches]).reshape(-1, 33, 33, 3)
    labels = np.stack([b[1] for b in batches]).reshape(-1, 33, 33)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    assert _known_num_batches(dataset, None) == 3
    assert _known_num_batches(dataset, 5) == 3
    assert _known_num_batches(dataset.filter(lambda x, y: True), 2) is None
    assert _known_num_batches(iter(batches), None) is None


def test_background_class_none_counts_class_0_as_objects(rng):
    # One 10x10 square of class 0 on class 1 (a Cityscapes-like map where
    # class 0 is road, a thing to count): with background_class=None the
    # square is one small object and class 1 (the rest, 24*24 - 100 = 476
    # pixels) one medium object; with 0 only class 1's component counts.
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    labels = np.ones((1, 24, 40), np.int64)
    labels[:, :, 24:] = 255
    labels[:, 2:12, 3:13] = 0
    images = rng.uniform(0, 255, size=(1, 24, 40, 3)).astype("float32")
    kwargs = dict(size_thresholds=(200, 1000), verbose=0)
    counted = evaluate_segmenter(model, [(images, labels)], 3,
                                 background_class=None, **kwargs)
    assert counted["by_size"]["small"]["num_objects"] == 1
    assert counted["by_size"]["small"]["num_pixels"] == 100
    assert counted["by_size"]["medium"]["num_objects"] == 1
    assert counted["by_size"]["medium"]["num_pixels"] == 476
    assert "background" not in counted["attention_by_size"]
    default = evaluate_segmenter(model, [(images, labels)], 3, **kwargs)
    assert default["by_size"]["small"]["num_objects"] == 0
    assert default["by_size"]["medium"]["num_objects"] == 1
    assert "background" in default["attention_by_size"]


@pytest.mark.parametrize("flip", [False, True])
def test_images_of_many_sizes_compile_once_per_evaluation_size(
        rng, monkeypatch, flip):
    """Four image sizes, two evaluation sizes (33 x 33 and 49 x 49): the
    model is traced at most twice (TensorFlow: the first shape, then one
    relaxed trace; JAX: the images are padded before the jitted function,
    so once per evaluation size), and every output, cropped back, is that of
    the image on its own (flipped too: the padding moves to the left in the
    mirrored pass either way)."""
    from keras_scaleattn.inference import full_resolution

    traces = []
    pad = full_resolution.pad_images

    def counting_pad(images, size):  # runs once per trace, in Python
        traces.append(tuple(images.shape[1:3]))
        return pad(images, size)

    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    extra_supervision=True, **TINY)
    batches = _batches(rng, [(33, 33), (40, 36), (45, 47), (49, 40)])
    expected = [predict_full_resolution(model, images, flip=flip,
                                        scale_logits=True)
                for images, _ in batches]
    monkeypatch.setattr(full_resolution, "pad_images", counting_pad)
    results = evaluate_segmenter(model, batches, 3, flip=flip, verbose=0)
    assert len(traces) <= 2, traces
    reference = keras.metrics.MeanIoU(3, ignore_class=255, sparse_y_pred=True)
    for (_, labels), outputs in zip(batches, expected):
        reference.update_state(labels, outputs["class_map"])
    np.testing.assert_allclose(results["miou"], float(reference.result()),
                               atol=1e-6)
    # The per-scale and attention statistics read the cropped outputs too.
    assert results["num_images"] == 8
    assert set(results["scales_by_size"]) >= {"small", "medium", "large"}
