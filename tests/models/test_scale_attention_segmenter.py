import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.layers import ScaleAttention
from tests import references

TINY = dict(trunk_width=0.0625, attention_filters=8)


def _images(rng, batch=2, h=33, w=33):
    return rng.uniform(0, 255, size=(batch, h, w, 3)).astype("float32")


@pytest.mark.parametrize("scales", [(1.0,), (1.0, 0.5), (1.0, 0.75, 0.5),
                                    (1.0, 0.75, 0.5, 0.25)])
@pytest.mark.parametrize("size", [(65, 65), (67, 81)])
def test_outputs_for_1_to_4_scales(rng, scales, size):
    model = ScaleAttentionSegmenter(num_classes=4, scales=scales, **TINY)
    out = model(_images(rng, 1, *size))
    h, w = (references.caffe_output_size(s) for s in size)
    assert tuple(out["logits"].shape) == (1, h, w, 4)
    if len(scales) == 1:
        assert set(out) == {"logits"}
        return
    assert set(out) == {"logits", "attention"} | {
        f"scale_logits_{i}" for i in range(len(scales))}
    assert tuple(out["attention"].shape) == (1, h, w, len(scales))
    weights = keras.ops.convert_to_numpy(out["attention"])
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    for i, s in enumerate(scales):
        side = [references.caffe_output_size(int(np.floor((n - 1) * s + 1e-4)) + 1)
                for n in size]
        assert tuple(out[f"scale_logits_{i}"].shape) == (1, *side, 4)


def test_merged_output_is_equation_1_of_the_model_parts(rng):
    # Rebuild g = sum_s w^s up(f^s) from the model's own per-scale outputs and
    # attention weights, with the NumPy Caffe-Interp resize.
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.75, 0.5),
                                    **TINY)
    out = model.predict(_images(rng, 1, 49, 57), verbose=0)
    h, w = out["logits"].shape[1:3]
    maps = [references.resize_align_corners(out[f"scale_logits_{i}"], h, w)
            for i in range(3)]
    expected = sum(out["attention"][..., i:i + 1] * maps[i] for i in range(3))
    np.testing.assert_allclose(out["logits"], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("merge, reduce", [("max", np.max), ("average", np.mean)])
def test_baseline_merges(rng, merge, reduce):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    merge=merge, **TINY)
    out = model.predict(_images(rng, 1, 41, 41), verbose=0)
    assert "attention" not in out
    h, w = out["logits"].shape[1:3]
    maps = np.stack([references.resize_align_corners(out[f"scale_logits_{i}"], h, w)
                     for i in range(2)])
    np.testing.assert_allclose(out["logits"], reduce(maps, axis=0), atol=1e-4)


def test_single_scale_is_plain_largefov(rng):
    model = ScaleAttentionSegmenter(num_classes=21, scales=(1.0,))
    assert model.count_params() == 20_505_429
    assert not any(isinstance(l, ScaleAttention) for l in model.layers)


def test_paper_model_parameter_count():
    model = ScaleAttentionSegmenter(num_classes=21)
    # One shared trunk plus the attention head on 3 x 1024 fc7 channels.
    assert model.count_params() == 20_505_429 + 14_157_827


def test_no_extra_supervision_outputs(rng):
    model = ScaleAttentionSegmenter(num_classes=2, scales=(1.0, 0.5),
                                    extra_supervision=False, **TINY)
    assert set(model.output_names) == {"logits", "attention"}
    assert model.supervised_outputs == ["logits"]


def test_finest_scale_need_not_come_first(rng):
    model = ScaleAttentionSegmenter(num_classes=2, scales=(0.5, 1.0), **TINY)
    out = model(_images(rng, 1, 41, 41))
    assert tuple(out["logits"].shape) == (1, 6, 6, 2)


def test_dynamic_sizes_one_model_every_size(rng):
    model = ScaleAttentionSegmenter(num_classes=2, scales=(1.0, 0.5), **TINY)
    for size in [(33, 33), (57, 41), (64, 64)]:
        out = model.predict(_images(rng, 1, *size), verbose=0)
        assert out["logits"].shape[1:3] == tuple(
            references.caffe_output_size(s) for s in size)


def _blocks(rng, batch=8, size=33):
    """Images of bright and dark 8x8 blocks; the class is the brightness."""
    blocks = rng.integers(0, 2, size=(batch, size // 8 + 1, size // 8 + 1))
    y = np.kron(blocks, np.ones((8, 8), int))[:, :size, :size]
    x = np.repeat(np.where(y[..., None] == 1, 200.0, 50.0), 3, axis=-1)
    return (x + rng.normal(0, 10, x.shape)).astype("float32"), y


@pytest.mark.slow
def test_fit_on_arrays_loss_falls(rng):
    x, y = _blocks(rng)
    model = ScaleAttentionSegmenter(num_classes=2, scales=(1.0, 0.5),
                                    trunk_width=0.125, attention_filters=8,
                                    dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, y, batch_size=8, epochs=40, verbose=0)
    losses = history.history["loss"]
    assert set(history.history) >= {"logits_loss", "scale_logits_0_loss",
                                     "scale_logits_1_loss"}
    # 1 + S = 3 losses of log(2) each at the start.
    assert abs(losses[0] - 3 * np.log(2)) < 0.2
    assert min(losses[-5:]) < 0.75 * losses[0]


def test_compile_auto_is_the_papers_losses():
    model = ScaleAttentionSegmenter(num_classes=2, scales=(1.0, 0.75, 0.5), **TINY)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.momentum == 0.9
    assert sorted(model.loss) == ["logits", "scale_logits_0", "scale_logits_1",
                                  "scale_logits_2"]


def test_mixed_precision_outputs_float32(rng):
    model = ScaleAttentionSegmenter(num_classes=2, scales=(1.0, 0.5),
                                    dtype="mixed_bfloat16", **TINY)
    out = model(_images(rng, 1, 33, 33))
    for value in out.values():
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert keras.backend.standardize_dtype(
        model.trunk.get_layer("fc6").compute_dtype) == "bfloat16"


_LOAD_SCRIPT = """
import json, sys
import keras, numpy as np
import keras_scaleattn  # registers the package's classes; no custom_objects
model = keras.models.load_model(sys.argv[1])
assert type(model).__name__ == "ScaleAttentionSegmenter"
assert model.optimizer is not None and model.loss
out = model.predict(np.load(sys.argv[2]), verbose=0)
np.savez(sys.argv[3], **out)
print(json.dumps(model.get_config()))
"""


@pytest.mark.slow
def test_save_and_load_in_a_fresh_process(rng, tmp_path):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.75, 0.5),
                                    **TINY)
    model.compile()
    x = _images(rng, 2, 41, 49)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(tmp_path / "m.keras"),
         str(tmp_path / "x.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = np.load(tmp_path / "out.npz")
    assert set(loaded.files) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(loaded[name], expected[name])
    config = json.loads(result.stdout.strip().splitlines()[-1])
    assert config["scales"] == [1.0, 0.75, 0.5] and config["num_classes"] == 3


def test_config_round_trip():
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    merge="average", **TINY)
    clone = ScaleAttentionSegmenter.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()
    # The README's recipe for a copy in memory: the same outputs, and the
    # attributes the full-resolution inference pads by.
    clone.set_weights(model.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (1, 41, 57, 3))
    for name, value in model.predict(images, verbose=0).items():
        np.testing.assert_array_equal(clone.predict(images, verbose=0)[name],
                                      value)
    assert (clone.scales, clone.min_input_size) == (model.scales,
                                                    model.min_input_size)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(scales=()), "scales"), (dict(scales=(1.0, 0.0)), "scales"),
     (dict(scales=(1.0, 3.0)), "scales"), (dict(scales=(1.0, 1.0)), "scales"),
     (dict(merge="sum"), "merge"), (dict(num_classes=0), "num_classes"),
     (dict(extra_supervision="yes"), "extra_supervision")],
)
def test_bad_arguments(kwargs, match):
    args = dict(num_classes=3, **TINY)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ScaleAttentionSegmenter(**args)


@pytest.mark.parametrize("shape, match", [
    ((1, 32, 40, 3), "at least 33 pixels"),
    ((1, 40, 40, 4), r"3 \(RGB\) channels.*\(1, 40, 40, 4\)"),
    ((40, 40, 3), r"4D batch.*\(40, 40, 3\)"),
])
def test_bad_images(rng, shape, match):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    images = np.zeros(shape, "float32")
    with pytest.raises(ValueError, match=match):
        model.predict(images, verbose=0)
    with pytest.raises(ValueError, match=match):
        model(images)
    # The model is still usable after the error (on every backend).
    out = model.predict(_images(rng, 1, 33, 33), verbose=0)
    assert out["logits"].shape == (1, 5, 5, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(num_classes=1), r"`num_classes` must be an int >= 2.*num_classes=1$"),
     (dict(num_classes=True), r"`num_classes`.*num_classes=True$"),
     (dict(num_classes=3.0), r"`num_classes`.*num_classes=3.0$"),
     (dict(trunk_width=-1), r"`trunk_width` must be a positive number.*"
                            r"trunk_width=-1$"),
     (dict(trunk_width=0), r"`trunk_width`.*trunk_width=0$"),
     (dict(trunk_width="1"), r"`trunk_width`.*trunk_width='1'$"),
     (dict(trunk_width=True), r"`trunk_width`.*trunk_width=True$"),
     (dict(attention_filters=0), r"`attention_filters` must be None or an int "
                                 r">= 1.*attention_filters=0$"),
     (dict(attention_filters=8.0), r"`attention_filters`.*"
                                   r"attention_filters=8.0$"),
     (dict(dropout=1.0), r"`dropout` must be a number in \[0, 1\).*"
                         r"dropout=1.0$"),
     (dict(dropout="0.5"), r"`dropout`.*dropout='0.5'$")],
)
def test_bad_numbers_name_the_constructor_argument(kwargs, message):
    # Not the trunk's internal names (`width`, `filters`), and no bools.
    args = dict(num_classes=3, scales=(1.0, 0.5), **TINY)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ScaleAttentionSegmenter(**args)


def test_numpy_integers_are_accepted(rng):
    model = ScaleAttentionSegmenter(
        num_classes=np.int64(5), scales=(1.0, 0.5), trunk_width=0.0625,
        attention_filters=np.int32(8))
    config = model.get_config()
    # Plain ints: the config is JSON (model.save writes it as such).
    assert type(config["num_classes"]) is int and config["num_classes"] == 5
    assert type(config["attention_filters"]) is int
    json.dumps(config)
    out = model(_images(rng, 1, 33, 33))
    assert tuple(out["logits"].shape) == (1, 5, 5, 5)


def test_misspelt_keyword_is_refused():
    with pytest.raises(TypeError, match=r"\['dropuot', 'mege'\]"):
        ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), mege="max",
                                dropuot=0.0, **TINY)


def test_sample_and_class_weights_are_refused_before_training(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    model.compile()
    images = rng.uniform(0, 255, size=(2, 33, 33, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(2, 33, 33))
    before = [w.copy() for w in model.get_weights()]
    for kwargs in (dict(sample_weight=np.ones(2)),
                   dict(class_weight={0: 1.0, 1: 2.0, 2: 1.0})):
        with pytest.raises(ValueError, match="does not take `sample_weight` "
                           "or `class_weight`"):
            model.fit(images, labels, epochs=1, verbose=0, **kwargs)
    # A dataset of (images, labels, weights) triples.
    triples = [(images, labels, np.ones((2, 33, 33), "float32"))]
    import tensorflow as tf
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(triples),
        output_signature=(tf.TensorSpec((2, 33, 33, 3), tf.float32),
                          tf.TensorSpec((2, 33, 33), tf.int64),
                          tf.TensorSpec((2, 33, 33), tf.float32)))
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(ValueError, match="does not take sample weights"):
            model.fit(dataset, epochs=1, verbose=0)
    # Nothing trained, the model still works.
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_label_maps_of_another_size_are_refused(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    model.compile()
    images = rng.uniform(0, 255, size=(2, 33, 41, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(2, 41, 33))  # transposed
    with pytest.raises(ValueError, match=r"Label maps must have their images' "
                       r"height and width.*labels.shape=\(2, 41, 33\)"):
        model.fit(images, labels, epochs=1, verbose=0)
    # Checked before training: the model still predicts (under JAX a
    # failing step would have purged its variables).
    assert model.predict(images, verbose=0)["logits"].shape == (2, 5, 6, 3)


def test_fit_refuses_out_of_range_labels_before_training(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    model.compile()
    images = _images(rng, 2, 33, 33)
    labels = rng.integers(0, 3, size=(2, 33, 33))
    labels[0, 3, 3] = 255   # ignored: fine
    labels[1, 5, 6] = 5     # off the subsampling grid
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"`y` must hold class ids in \[0, 3\) "
                       r"or the ignore label 255\. Received: y with values \[5\]"):
        model.fit(images, labels, epochs=1, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    labels[1, 5, 6] = 2
    model.fit(images, labels, epochs=1, verbose=0)


def _confident(model, rng, images):
    """Sets fc8 so that the tiny model predicts every class on `images`:
    random directions, and biases that centre each class's scores."""
    fc8 = model.trunk.get_layer("fc8")
    kernel, bias = fc8.get_weights()
    fc8.set_weights([rng.normal(0, 1.0, kernel.shape).astype("float32"),
                     np.zeros_like(bias)])
    logits = model.predict(images, verbose=0)["logits"]
    fc8.set_weights([fc8.get_weights()[0], -logits.mean(axis=(0, 1, 2))])


def _metric_labels(rng, batch, h, w, num_classes=3):
    labels = rng.integers(0, num_classes, size=(batch, h, w))
    labels[:, :9] = 255          # rows 0 and 8 of the stride-8 grid ignored
    labels[0, 16:, 24:] = 255
    return labels


def _numpy_accuracy_and_miou(pred, labels, num_classes):
    """Pixel accuracy and Keras' MeanIoU (mean over classes present in the
    prediction or the labels) over the pixels not labelled 255."""
    valid = labels != 255
    accuracy = (pred == labels)[valid].mean()
    cm = np.bincount(labels[valid] * num_classes + pred[valid],
                     minlength=num_classes**2).reshape(num_classes, num_classes)
    tp = np.diag(cm).astype(float)
    union = cm.sum(0) + cm.sum(1) - tp
    return accuracy, (tp[union > 0] / union[union > 0]).mean()


def test_metrics_see_subsampled_labels_without_ignored_pixels(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    images = _images(rng, 4, 33, 41)
    labels = _metric_labels(rng, 4, 33, 41)
    _confident(model, rng, images)
    model.compile(metrics=[
        keras.metrics.SparseCategoricalAccuracy(name="acc"),
        keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False, name="miou"),
    ])
    results = model.evaluate(images, labels, batch_size=2, verbose=0,
                             return_dict=True)

    # Reference: the merged 5x6 map against labels[::8, ::8] (never
    # interpolated), pixels labelled 255 left out, over both batches.
    out = model.predict(images, verbose=0)
    pred = out["logits"].argmax(-1)
    assert pred.shape == (4, 5, 6) and len(np.unique(pred)) == 3
    accuracy, miou = _numpy_accuracy_and_miou(pred, labels[:, ::8, ::8], 3)
    assert set(results) >= {"loss", "logits_acc", "logits_miou"}
    np.testing.assert_allclose(results["logits_acc"], accuracy, rtol=1e-5)
    np.testing.assert_allclose(results["logits_miou"], miou, rtol=1e-5)
    # No metric of the other outputs (a list of metrics is for "logits").
    assert not any(k.startswith(("scale_logits", "attention")) and
                   not k.endswith("_loss") for k in results)


def test_metrics_of_each_scales_own_output(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    images = _images(rng, 4, 33, 41)
    labels = _metric_labels(rng, 4, 33, 41)
    _confident(model, rng, images)
    model.compile(metrics={
        "logits": [keras.metrics.SparseCategoricalAccuracy(name="acc")],
        "scale_logits_1": keras.metrics.SparseCategoricalAccuracy(name="acc"),
    })
    results = model.evaluate(images, labels, batch_size=4, verbose=0,
                             return_dict=True)
    out = model.predict(images, verbose=0)
    # Scale 0.5: a 17x21 image, a 3x3 map on label rows 0, 16, 32 and
    # columns 0, 20, 40 (align-corners picking).
    coarse = labels[:, [0, 16, 32]][:, :, [0, 20, 40]]
    pred = out["scale_logits_1"].argmax(-1)
    assert pred.shape == (4, 3, 3)
    valid = coarse != 255
    np.testing.assert_allclose(results["scale_logits_1_acc"],
                               (pred == coarse)[valid].mean(), rtol=1e-5)
    merged = out["logits"].argmax(-1)
    fine = labels[:, ::8, ::8]
    np.testing.assert_allclose(results["logits_acc"],
                               (merged == fine)[fine != 255].mean(), rtol=1e-5)


def test_metrics_of_a_single_scale_model_in_fit(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,),
                                    trunk_width=0.0625, dropout=0.0)
    images = _images(rng, 2, 33, 33)
    labels = _metric_labels(rng, 2, 33, 33)
    _confident(model, rng, images)
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  metrics=["accuracy"])
    history = model.fit(images, labels, batch_size=2, epochs=1, verbose=0,
                        validation_data=(images, labels))
    pred = model.predict(images, verbose=0)["logits"].argmax(-1)
    fine = labels[:, ::8, ::8]
    expected = (pred == fine)[fine != 255].mean()
    # Learning rate 0 and no dropout: training and validation see the same
    # predictions.
    np.testing.assert_allclose(history.history["accuracy"][0], expected,
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["val_accuracy"][0], expected,
                               rtol=1e-5)


def test_metrics_survive_save_and_load(rng, tmp_path):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    images = _images(rng, 2, 33, 33)
    labels = _metric_labels(rng, 2, 33, 33)
    _confident(model, rng, images)
    model.compile(metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    expected = model.evaluate(images, labels, verbose=0, return_dict=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    results = loaded.evaluate(images, labels, verbose=0, return_dict=True)
    np.testing.assert_allclose(results["logits_acc"], expected["logits_acc"],
                               rtol=1e-6)


@pytest.mark.parametrize("metrics, match", [
    ({"attention": ["accuracy"]}, r"`metrics` must be a list of metrics .*"
     r"'logits', 'scale_logits_0', 'scale_logits_1'.*\['attention'\]"),
    ({"logits_": ["accuracy"]}, r"`metrics`.*\['logits_'\]"),
    ("accuracy", r"`metrics` must be a list of metrics.*metrics='accuracy'"),
])
def test_metrics_of_outputs_without_labels_are_refused(metrics, match):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    with pytest.raises(ValueError, match=match):
        model.compile(metrics=metrics)
