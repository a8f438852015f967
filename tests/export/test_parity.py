"""Parity metrics against hand-computed values, and the parity table."""

import numpy as np
import pytest

from keras_scaleattn.export.parity import PARITY_TOLERANCES
from keras_scaleattn.export.parity import compare_outputs
from keras_scaleattn.export.parity import measure_parity
from keras_scaleattn.export.parity import parity_table
from keras_scaleattn.export.parity import within_tolerance


def _outputs(probabilities, attention=None):
    probabilities = np.asarray(probabilities, np.float32)
    out = {"probabilities": probabilities,
           "class_map": probabilities.argmax(-1).astype(np.int32)}
    if attention is not None:
        out["attention"] = np.asarray(attention, np.float32)
    return out


def test_compare_outputs_by_hand():
    # Two pixels, two classes: the second pixel changes class.
    ref = _outputs([[[[0.9, 0.1], [0.6, 0.4]]]], [[[[1.0], [1.0]]]])
    out = _outputs([[[[0.85, 0.15], [0.3, 0.7]]]], [[[[0.75], [1.0]]]])
    metrics = compare_outputs(ref, out)
    assert metrics["max_probability_delta"] == pytest.approx(0.3)
    assert metrics["mean_probability_delta"] == pytest.approx(
        (0.05 + 0.05 + 0.3 + 0.3) / 4)
    assert metrics["max_attention_delta"] == pytest.approx(0.25)
    assert metrics["pixel_agreement"] == 0.5


def test_compare_outputs_errors():
    ref = _outputs([[[[0.9, 0.1]]]])
    with pytest.raises(ValueError, match="shapes differ"):
        compare_outputs(ref, _outputs([[[[0.9, 0.1], [0.9, 0.1]]]]))
    with pytest.raises(ValueError, match="'class_map'"):
        compare_outputs(ref, {"probabilities": ref["probabilities"]})


def test_tolerances():
    good = {"max_probability_delta": 1e-5, "mean_probability_delta": 1e-6,
            "pixel_agreement": 1.0}
    assert all(within_tolerance(good, p) for p in PARITY_TOLERANCES)
    # int8: one flipped pixel gives a maximum near 1, which is allowed.
    int8_like = {"max_probability_delta": 0.99,
                 "mean_probability_delta": 0.02, "pixel_agreement": 0.97}
    assert within_tolerance(int8_like, "int8")
    assert not within_tolerance(int8_like, "float16")
    assert not within_tolerance(dict(int8_like, pixel_agreement=0.8), "int8")
    assert not within_tolerance(dict(int8_like, mean_probability_delta=0.06),
                                "int8")
    assert not within_tolerance(dict(good, mean_probability_delta=2e-5),
                                "float32")
    with pytest.raises(ValueError, match="precision"):
        within_tolerance(good, "int4")


def test_measure_parity_resizes_for_fixed_size_and_pools():
    seen = []

    def reference(batch):
        seen.append(batch.shape)
        return _outputs(np.stack([batch[..., 0], batch[..., 1]], -1) / 255.0)

    def candidate(batch):
        out = reference(batch)
        out["probabilities"] = out["probabilities"] + 0.01
        return out

    images = [np.full((4, 6, 3), 100, np.uint8), np.zeros((5, 5, 3), np.uint8)]
    metrics = measure_parity(reference, candidate, images, image_size=(3, 3))
    assert seen == [(1, 3, 3, 3)] * 4
    assert metrics["max_probability_delta"] == pytest.approx(0.01, rel=1e-4)
    assert metrics["pixel_agreement"] == 1.0
    assert metrics["num_images"] == 2


def test_parity_table():
    row = {"name": "model_int8.tflite", "precision": "int8",
           "image_size": [513, 513], "max_probability_delta": 0.0123,
           "mean_probability_delta": 0.001, "max_attention_delta": None,
           "pixel_agreement": 0.98765, "passed": False}
    table = parity_table([row])
    assert table.splitlines()[0].startswith("| artifact | precision | size")
    assert ("| model_int8.tflite | int8 | 513x513 | 1.23e-02 | 1.00e-03 | - "
            "| 98.765 | NO |") in table
