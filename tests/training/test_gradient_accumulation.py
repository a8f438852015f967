"""Keras' gradient accumulation with CaffeSGD: k x batch b == 1 x batch k*b."""

import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training import CaffeSGD
from keras_scaleattn.training import StepDecay

K, B, UPDATES = 3, 2, 3


def _model(initial_weights=None):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8,
                                    dropout=0.0, dtype="float64")
    if initial_weights is not None:
        model.set_weights(initial_weights)
    return model


def _fit(model, images, labels, accumulation, optimizer_kwargs):
    # A schedule that changes every update: the accumulated run must count
    # updates, not micro-steps (StepDecay's `accumulation_steps`).
    schedule = StepDecay(0.02, step_size=1, gamma=0.5,
                         accumulation_steps=accumulation)
    kwargs = dict(optimizer_kwargs)
    if accumulation > 1:
        kwargs["gradient_accumulation_steps"] = accumulation
    model.compile(optimizer=CaffeSGD(schedule, **kwargs))
    model.fit(images, labels, batch_size=K * B // accumulation, epochs=1,
              shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("optimizer_kwargs", [
    dict(momentum=0.0, l2_weight_decay=0.0, head_lr_multiplier=1.0,
         bias_lr_multiplier=1.0),  # plain SGD
    dict(momentum=0.9, l2_weight_decay=5e-4),  # the paper's CaffeSGD
], ids=["plain_sgd", "caffe_sgd"])
def test_accumulated_steps_equal_one_large_batch(rng, optimizer_kwargs):
    images = rng.uniform(0, 255, (UPDATES * K * B, 33, 33, 3)).astype("float32")
    labels = rng.integers(0, 3, (UPDATES * K * B, 33, 33)).astype("int32")
    large = _model()
    initial = large.get_weights()
    accumulated = _model(initial)
    _fit(large, images, labels, 1, optimizer_kwargs)
    _fit(accumulated, images, labels, K, optimizer_kwargs)
    assert int(large.optimizer.iterations) == UPDATES
    assert int(accumulated.optimizer.iterations) == UPDATES
    # The runs moved every variable, and the same way. In float64, the two
    # updates differ by <= 2e-7 of the update (rounding, amplified by the
    # x20 head biases and momentum; 1.5e-3 in float32); a schedule counting
    # micro-steps or a decay applied per micro-step differs by order 1.
    for a, b, w0 in zip(accumulated.get_weights(), large.get_weights(), initial):
        update = np.abs(b - w0).max()
        assert update > 0
        assert np.abs(a - b).max() <= 1e-5 * update
