"""Models trained with mixed precision export from their float32 copy."""

import json

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.export.serving import float32_model
from keras_scaleattn.export.serving import is_float32
from tests.export.export_helpers import TINY

POLICIES = ("mixed_float16", "mixed_bfloat16")


def _mixed_model(policy):
    keras.utils.set_random_seed(1)
    return ScaleAttentionSegmenter(**TINY, dtype=policy)


def test_float32_model_of_a_float32_model_is_the_model():
    model = ScaleAttentionSegmenter(**TINY)
    assert is_float32(model)
    assert float32_model(model) is model


@pytest.mark.parametrize("policy", POLICIES + ("float16", "float64"))
def test_float32_copy_has_the_weights_and_float32_everywhere(policy, rng):
    model = _mixed_model(policy)
    assert not is_float32(model)
    copy = float32_model(model)
    assert copy is not model and is_float32(copy)
    assert {layer.dtype_policy.name for layer in copy._flatten_layers()} == {
        "float32"}
    config, copied_config = model.get_config(), copy.get_config()
    assert copied_config.pop("dtype")["config"]["name"] == "float32"
    assert config.pop("dtype")["config"]["name"] == policy
    assert copied_config == config
    for original, copied in zip(model.get_weights(), copy.get_weights()):
        assert copied.dtype == np.float32
        np.testing.assert_array_equal(copied, original.astype(np.float32))
    # The copy computes in float32: the same as a float32 model built from
    # scratch with the same weights (an independent reference).
    reference = ScaleAttentionSegmenter(**TINY)
    reference.set_weights(model.get_weights())
    images = rng.integers(0, 256, (1, 41, 49, 3)).astype(np.float32)
    expected = reference.predict(images, verbose=0)
    got = copy.predict(images, verbose=0)
    for name in ("logits", "attention"):
        assert got[name].dtype == np.float32
        np.testing.assert_allclose(got[name], expected[name], atol=1e-6)


def test_a_model_that_cannot_be_rebuilt_is_a_clear_error():
    model = _mixed_model("mixed_float16")
    model.get_config = lambda: {"not": "a config"}
    with pytest.raises(ValueError, match="could not be rebuilt in float32"):
        float32_model(model)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_mixed_precision_model_exports_every_float32_format(
        policy, tmp_path, test_images):
    import onnx

    from keras_scaleattn.export.exporter import export_and_check
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    model = _mixed_model(policy)
    model_path = tmp_path / "mixed.keras"
    model.save(model_path)
    # Independent reference: a float32 model built from scratch, holding the
    # mixed model's weights, run by the Keras runtime.
    reference = ScaleAttentionSegmenter(**TINY)
    reference.set_weights(model.get_weights())
    reference_path = tmp_path / "float32.keras"
    reference.save(reference_path)
    keras_runtime = SegmentationRuntime(reference_path)

    out_dir = tmp_path / "exports"
    report = export_and_check(
        model_path, out_dir, "saved_model,tflite,onnx", fixed_size=41,
        parity_images=test_images)
    assert report["passed"] is True
    assert report["dtype_policy"] == policy
    names = sorted(row["name"] for row in report["artifacts"])
    assert names == ["model.onnx", "model.tflite", "model_41.tflite",
                     "saved_model"]
    for row in report["artifacts"]:
        runtime = SegmentationRuntime(row["path"])
        assert runtime.metadata["precision"] == "float32"
        for image in test_images:
            if row["image_size"]:
                image = np.asarray(image[:41, :41])
                if image.shape[:2] != (41, 41):
                    continue
            expected = keras_runtime(image)
            got = runtime(image)
            np.testing.assert_allclose(got["probabilities"],
                                       expected["probabilities"], atol=1e-4)
            np.testing.assert_array_equal(got["class_map"],
                                          expected["class_map"])
    # No half-precision tensor in the float32 ONNX graph.
    graph = onnx.load(out_dir / "model.onnx").graph
    half = (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    assert not [i.name for i in graph.initializer if i.data_type in half]
    assert not [n.name for n in graph.node if n.op_type == "Cast"
                and onnx.helper.get_attribute_value(n.attribute[0]) in half]
    saved = json.loads((out_dir / "parity_report.json").read_text())
    assert saved["dtype_policy"] == policy
