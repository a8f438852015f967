"""TFLite: float32 / float16 / int8, dynamic and fixed size, run in LiteRT."""

import collections
import json
import warnings

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from keras_scaleattn.export.parity import measure_parity
from keras_scaleattn.export.parity import within_tolerance
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from keras_scaleattn.export.tflite import convert_tflite
from keras_scaleattn.export.tflite import read_tflite_metadata
from keras_scaleattn.export.tflite import tflite_operator_counts
from keras_scaleattn.export.tflite import tflite_operator_details
from tests.export.export_helpers import FIXED_SIZE

ALL_TFLITE = ["tflite", "tflite_fp16", "tflite_int8", "tflite_fixed",
              "tflite_fp16_fixed", "tflite_int8_fixed"]
PRECISION = {"tflite": "float32", "tflite_fp16": "float16",
             "tflite_int8": "int8"}

# Every test here reads the session's exports (about 25 s to make).
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("key", ["tflite_fixed", "tflite_fp16_fixed",
                                 "tflite_int8_fixed"])
def test_fixed_size_has_plain_dilated_convolutions(exports, key):
    counts = tflite_operator_counts(exports[key])
    assert counts["SPACE_TO_BATCH_ND"] == 0
    assert counts["BATCH_TO_SPACE_ND"] == 0
    convs = [d for d in tflite_operator_details(exports[key])
             if d["op"] == "CONV_2D"]
    # 16 convolutions per scale (13 VGG, fc6, fc7, fc8) x 2 scales + the
    # attention head's 3 (att_conv1 once per scale, att_fc); conv5_1-3
    # dilated by 2 and fc6 by 12, per scale.
    assert len(convs) == 35
    dilations = collections.Counter(d["dilation"] for d in convs)
    assert dilations == {(1, 1): 27, (2, 2): 6, (12, 12): 2}


@pytest.mark.parametrize("key", ["tflite", "tflite_fp16", "tflite_int8"])
def test_dynamic_size_has_plain_dilated_convolutions_too(exports, key):
    # TF's own lowering would keep 8 SPACE_TO_BATCH_ND here (NOTES.md);
    # the trunk's one-op dilated convolutions do not.
    counts = tflite_operator_counts(exports[key])
    assert counts["SPACE_TO_BATCH_ND"] == 0
    assert counts["BATCH_TO_SPACE_ND"] == 0
    dilations = collections.Counter(
        d["dilation"] for d in tflite_operator_details(exports[key])
        if d["op"] == "CONV_2D")
    assert dilations[(12, 12)] == 2 and dilations[(2, 2)] == 6


@pytest.mark.parametrize("key", ALL_TFLITE)
def test_resizes_are_align_corners_only(exports, key):
    resizes = [d for d in tflite_operator_details(exports[key])
               if d["op"] == "RESIZE_BILINEAR"]
    assert len(resizes) == 5
    assert all(d["align_corners"] and not d["half_pixel_centers"]
               for d in resizes)


def test_int8_model_is_integer(exports):
    details = tflite_operator_details(exports["tflite_int8_fixed"])
    convs = [d["input_type"] for d in details if d["op"] == "CONV_2D"]
    assert set(convs) == {"INT8"}
    interpreter = Interpreter(model_path=exports["tflite_int8_fixed"])
    (detail,) = interpreter.get_input_details()
    assert detail["dtype"] == np.uint8
    assert list(detail["shape"]) == [1, *FIXED_SIZE, 3]


@pytest.mark.parametrize("key", ALL_TFLITE)
def test_signature_and_metadata(exports, key):
    interpreter = Interpreter(model_path=exports[key])
    signature = interpreter.get_signature_list()["serving_default"]
    assert signature["inputs"] == ["images"]
    assert sorted(signature["outputs"]) == ["attention", "class_map",
                                            "probabilities"]
    metadata = json.loads(read_tflite_metadata(exports[key]))
    assert metadata["input"]["dtype"] == "uint8"
    assert metadata["precision"] == PRECISION[key.replace("_fixed", "")]
    assert metadata["image_size"] == (list(FIXED_SIZE) if "fixed" in key
                                      else None)


def test_float32_parity_is_tight(exports, keras_runtime, test_images):
    runtime = SegmentationRuntime(exports["tflite"])
    for image in test_images:
        ref, out = keras_runtime(image), runtime(image)
        np.testing.assert_allclose(out["probabilities"],
                                   ref["probabilities"], atol=1e-4)
        np.testing.assert_allclose(out["attention"], ref["attention"],
                                   atol=1e-4)
        assert np.mean(out["class_map"] == ref["class_map"]) >= 0.999


@pytest.mark.parametrize("key", ALL_TFLITE)
def test_parity_within_stated_tolerance(exports, keras_runtime, test_images,
                                        key):
    runtime = SegmentationRuntime(exports[key])
    size = FIXED_SIZE if "fixed" in key else None
    metrics = measure_parity(keras_runtime, runtime, test_images, size)
    assert within_tolerance(metrics, PRECISION[key.replace("_fixed", "")]), \
        metrics


def test_dynamic_model_takes_any_batch_and_size(exports, keras_runtime, rng):
    runtime = SegmentationRuntime(exports["tflite"])
    images = rng.integers(0, 256, size=(2, 35, 66, 3), dtype=np.uint8)
    out = runtime(images)
    assert out["class_map"].shape == (2, 35, 66)
    np.testing.assert_allclose(out["probabilities"],
                               keras_runtime(images)["probabilities"],
                               atol=1e-4)


def test_fixed_model_runs_a_batch_image_by_image(exports, rng):
    runtime = SegmentationRuntime(exports["tflite_fixed"])
    images = rng.integers(0, 256, size=(3, *FIXED_SIZE, 3), dtype=np.uint8)
    batch = runtime(images)
    for i in range(3):
        np.testing.assert_array_equal(batch["class_map"][i],
                                      runtime(images[i])["class_map"])


def test_fixed_model_rejects_other_sizes(exports, rng):
    runtime = SegmentationRuntime(exports["tflite_fixed"])
    with pytest.raises(ValueError, match="must be 41x41 .*Received: images "
                                         "of size 41x49"):
        runtime(np.zeros((41, 49, 3), np.uint8))


def test_bad_arguments(tiny_model):
    with pytest.raises(ValueError, match="quantization"):
        convert_tflite(tiny_model, "int4")
    with pytest.raises(ValueError, match="representative_images"):
        convert_tflite(tiny_model, "int8")
    with pytest.raises(ValueError, match="min_input_size"):
        convert_tflite(tiny_model, image_size=32)
    with pytest.raises(ValueError, match="image_size"):
        convert_tflite(tiny_model, image_size=(41, 41, 3))


def test_int8_conversion_hides_tfs_own_interpreter_deprecation(
        tiny_model, calibration_images):
    # TF's int8 calibrator builds a tf.lite.Interpreter and warns that it is
    # deprecated; the package runs TFLite with ai_edge_litert, so a user
    # exporting has nothing to change and should not see it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = convert_tflite(tiny_model, "int8",
                              representative_images=calibration_images[:2])
    assert data[4:8] == b"TFL3"
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "Interpreter is deprecated" in m], messages
