"""CaffeSGD against a NumPy transcription of Caffe's SGDSolver update."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training import CaffeSGD
from tests.training.training_helpers import BAD_LAYER_RATE_ARGUMENTS

LR, MOMENTUM, DECAY = 0.05, 0.9, 5e-4


def caffe_multipliers(path):
    """(lr_mult, decay_mult) as the paper's prototxt sets them, by layer.

    fc8 and the attention head (att_conv1, att_fc): weights 10, biases 20;
    every other layer: weights 1, biases 2. Biases are not decayed.
    """
    layer, kind = path.split("/")[-2:]
    head = layer in ("fc8", "att_conv1", "att_fc")
    if kind == "bias":
        return (20.0 if head else 2.0), 0.0
    return (10.0 if head else 1.0), 1.0


def caffe_sgd_step(weights, history, grads, paths, lr):
    """Caffe's SGDSolver: Regularize (L2), ComputeUpdateValue, Update.

    diff = grad + weight_decay * decay_mult * w
    history = momentum * history + lr * lr_mult * diff
    w = w - history
    """
    new_w, new_h = [], []
    for w, h, g, path in zip(weights, history, grads, paths):
        lr_mult, decay_mult = caffe_multipliers(path)
        diff = g.astype(np.float64) + DECAY * decay_mult * w
        h = MOMENTUM * h + lr * lr_mult * diff
        new_w.append(w - h)
        new_h.append(h)
    return new_w, new_h


def _model():
    return ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                   trunk_width=0.0625, attention_filters=8,
                                   dropout=0.0)


def test_three_steps_match_caffe_on_a_tiny_model(rng):
    model = _model()
    optimizer = CaffeSGD(learning_rate=LR, momentum=MOMENTUM, l2_weight_decay=DECAY)
    variables = model.trainable_variables
    paths = [v.path for v in variables]
    images = rng.uniform(0, 255, (2, 33, 33, 3)).astype("float32")
    target = {name: rng.normal(size=out.shape).astype("float32")
              for name, out in model(images).items() if name != "attention"}
    initial = [v.numpy() for v in variables]
    ref_w = [w.astype(np.float64) for w in initial]
    ref_h = [np.zeros_like(w) for w in ref_w]
    for _ in range(3):
        with tf.GradientTape() as tape:
            outputs = model(images, training=True)
            loss = sum(tf.reduce_mean((outputs[k] - target[k]) ** 2) for k in target)
        grads = tape.gradient(loss, variables)
        ref_w, ref_h = caffe_sgd_step(ref_w, ref_h, [g.numpy() for g in grads],
                                      paths, LR)
        optimizer.apply(grads, variables)
    # Every variable moved, so every multiplier was exercised.
    assert all(np.abs(v.numpy() - w0).max() > 0 for v, w0 in zip(variables, initial))
    for variable, expected, path in zip(variables, ref_w, paths):
        np.testing.assert_allclose(variable.numpy(), expected, rtol=2e-5,
                                   atol=1e-7, err_msg=path)


def test_multipliers_follow_the_paper():
    model = _model()
    optimizer = CaffeSGD()
    table = {v.path: (optimizer.lr_multiplier(v.path),
                      optimizer.decay_multiplier(v.path))
             for v in model.trainable_variables}
    assert table["trunk/fc8/kernel"] == (10.0, 1.0)
    assert table["trunk/fc8/bias"] == (20.0, 0.0)
    assert table["scale_attention/att_conv1/kernel"] == (10.0, 1.0)
    assert table["scale_attention/att_fc/bias"] == (20.0, 0.0)
    assert table["trunk/block1_conv1/kernel"] == (1.0, 1.0)
    assert table["trunk/fc7/bias"] == (2.0, 0.0)
    assert {path: caffe_multipliers(path) for path in table} == table


def test_serialization_round_trip():
    optimizer = CaffeSGD(learning_rate=0.01, momentum=0.8, l2_weight_decay=1e-4,
                         head_lr_multiplier=5.0, bias_lr_multiplier=3.0,
                         head_layers=("fc8",), gradient_accumulation_steps=3)
    config = keras.optimizers.serialize(optimizer)
    clone = keras.optimizers.deserialize(config)
    assert isinstance(clone, CaffeSGD)
    assert clone.get_config() == optimizer.get_config()
    assert clone.lr_multiplier("trunk/fc8/bias") == 15.0
    assert clone.lr_multiplier("scale_attention/att_fc/kernel") == 1.0


@pytest.mark.parametrize("kwargs, key", [
    (dict(weight_decay=1e-4), "weight_decay"),
    (dict(l2_weight_decay=-1.0), "l2_weight_decay"),
    *BAD_LAYER_RATE_ARGUMENTS,
])
def test_bad_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key):
        CaffeSGD(**kwargs)
