"""LayerwiseAdam against a NumPy transcription of Adam with per-layer rates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training import LayerwiseAdam
from tests.training.training_helpers import BAD_LAYER_RATE_ARGUMENTS

LR, BETA_1, BETA_2, EPSILON = 0.01, 0.9, 0.999, 1e-7
HEAD, BIAS = 0.1, 2.0


def multiplier(path):
    """Caffe's lr_mult as the config sets it: the head layers (fc8,
    att_conv1, att_fc) at HEAD, biases at BIAS, both multiplying."""
    layer, kind = path.split("/")[-2:]
    value = HEAD if layer in ("fc8", "att_conv1", "att_fc") else 1.0
    return value * (BIAS if kind == "bias" else 1.0)


def adam_step(weights, m, v, grads, paths, step):
    """Kingma & Ba's Adam, as Keras writes it (epsilon outside the root,
    bias correction folded into the rate), with the rate times lr_mult."""
    out_w, out_m, out_v = [], [], []
    for w, m_, v_, g, path in zip(weights, m, v, grads, paths):
        g = g.astype(np.float64)
        m_ = BETA_1 * m_ + (1 - BETA_1) * g
        v_ = BETA_2 * v_ + (1 - BETA_2) * g * g
        lr = LR * multiplier(path) * np.sqrt(1 - BETA_2**step) / (1 - BETA_1**step)
        out_w.append(w - lr * m_ / (np.sqrt(v_) + EPSILON))
        out_m.append(m_)
        out_v.append(v_)
    return out_w, out_m, out_v


def test_three_steps_match_adam_with_layer_rates(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8,
                                    dropout=0.0)
    optimizer = LayerwiseAdam(LR, head_lr_multiplier=HEAD,
                              bias_lr_multiplier=BIAS, epsilon=EPSILON)
    variables = model.trainable_variables
    paths = [v.path for v in variables]
    assert any(multiplier(p) == HEAD for p in paths)
    images = rng.uniform(0, 255, (2, 33, 33, 3)).astype("float32")
    target = {name: rng.normal(size=out.shape).astype("float32")
              for name, out in model(images).items() if name != "attention"}
    initial = [v.numpy() for v in variables]
    ref_w = [w.astype(np.float64) for w in initial]
    ref_m = [np.zeros_like(w) for w in ref_w]
    ref_v = [np.zeros_like(w) for w in ref_w]
    for step in range(1, 4):
        with tf.GradientTape() as tape:
            outputs = model(images, training=True)
            loss = sum(tf.reduce_mean((outputs[k] - target[k]) ** 2) for k in target)
        grads = tape.gradient(loss, variables)
        ref_w, ref_m, ref_v = adam_step(ref_w, ref_m, ref_v,
                                        [g.numpy() for g in grads], paths, step)
        optimizer.apply(grads, variables)
    for variable, expected, w0, path in zip(variables, ref_w, initial, paths):
        moved = np.abs(expected - w0).max()
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4,
                                   atol=1e-3 * moved + 1e-9, err_msg=path)


def test_unit_multipliers_are_keras_adam(rng):
    variable = keras.Variable(rng.normal(size=(4, 3)).astype("float32"))
    reference = keras.Variable(variable.numpy())
    ours, keras_adam = LayerwiseAdam(LR), keras.optimizers.Adam(LR)
    for _ in range(3):
        grad = rng.normal(size=(4, 3)).astype("float32")
        ours.apply([grad], [variable])
        keras_adam.apply([grad], [reference])
    np.testing.assert_allclose(variable.numpy(), reference.numpy(), rtol=1e-6)


def test_serialization_round_trip():
    optimizer = LayerwiseAdam(0.01, head_lr_multiplier=0.1,
                              bias_lr_multiplier=2.0, head_layers=("att_fc",),
                              beta_2=0.99)
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(clone, LayerwiseAdam)
    assert clone.get_config() == optimizer.get_config()
    assert clone.lr_multiplier("scale_attention/att_fc/bias") == pytest.approx(0.2)
    assert clone.lr_multiplier("trunk/fc8/kernel") == 1.0


@pytest.mark.parametrize("kwargs, key", BAD_LAYER_RATE_ARGUMENTS)
def test_bad_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key):
        LayerwiseAdam(**kwargs)
