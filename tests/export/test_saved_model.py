"""SavedModel: the uint8 serving signature and parity with Keras."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn.export.saved_model import METADATA_PATH
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from tests.export.export_helpers import uint8_batch

# Every test here reads the session's exports (about 25 s to make).
pytestmark = pytest.mark.slow


def test_serving_signature(exports):
    loaded = tf.saved_model.load(exports["saved_model"])
    serve = loaded.signatures["serving_default"]
    (spec,) = serve.structured_input_signature[1].values()
    assert spec.dtype == tf.uint8
    assert spec.shape.as_list() == [None, None, None, 3]
    outputs = serve.structured_outputs
    assert sorted(outputs) == ["attention", "class_map", "probabilities"]
    assert outputs["class_map"].dtype == tf.int32
    assert outputs["probabilities"].dtype == tf.float32
    assert outputs["attention"].dtype == tf.float32


def test_outputs_at_full_resolution(exports, rng):
    serve = tf.saved_model.load(exports["saved_model"]).signatures[
        "serving_default"]
    out = serve(images=tf.constant(uint8_batch(rng, 2, 37, 52)))
    assert out["class_map"].shape == (2, 37, 52)
    assert out["probabilities"].shape == (2, 37, 52, 3)
    assert out["attention"].shape == (2, 37, 52, 2)
    np.testing.assert_allclose(
        tf.reduce_sum(out["probabilities"], -1).numpy(), 1.0, atol=1e-5)


def test_parity_with_keras(exports, keras_runtime, test_images):
    runtime = SegmentationRuntime(exports["saved_model"])
    for image in test_images:
        ref, out = keras_runtime(image), runtime(image)
        np.testing.assert_array_equal(out["class_map"], ref["class_map"])
        np.testing.assert_allclose(out["probabilities"],
                                   ref["probabilities"], atol=1e-6)
        np.testing.assert_allclose(out["attention"], ref["attention"],
                                   atol=1e-6)


def test_metadata(exports):
    with open(os.path.join(exports["saved_model"], METADATA_PATH)) as f:
        metadata = json.load(f)
    assert metadata["min_input_size"] == 33
    assert metadata["num_classes"] == 3
    assert metadata["scales"] == [1.0, 0.5]
    assert metadata["input"]["dtype"] == "uint8"
