"""Letterboxing: images of any size on models that take only some sizes.

The references follow the definition in `letterbox.py`'s docstring step by
step (PIL resize keeping the aspect ratio, pad bottom/right with the training
mean, run, crop, resize the probabilities back, argmax), with the Keras
model on the padded image as the model.
"""

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.data.constants import MEAN_RGB
from keras_scaleattn.export.letterbox import letterbox_images
from keras_scaleattn.export.letterbox import letterbox_plan
from keras_scaleattn.export.letterbox import restore_outputs
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from tests.export.export_helpers import FIXED_SIZE
from tests.export.export_helpers import predict_red_box

MEAN_U8 = np.round(np.asarray(MEAN_RGB)).astype(np.uint8)


@pytest.mark.parametrize("size, kwargs, expected", [
    # Fixed size: as large as fits, aspect ratio kept (1.1026x here).
    ((100, 117), {"fixed_size": (129, 129)}, ((110, 129), (129, 129))),
    # Fixed size, enlarged: 20x40 -> 1.025x.
    ((20, 40), {"fixed_size": 41}, ((21, 41), (41, 41))),
    ((41, 30), {"fixed_size": 41}, ((41, 30), (41, 41))),
    # Too large for a profile: shrunk (0.855x); the min size is met.
    ((600, 301), {"min_size": 17, "max_size": 513}, ((513, 257), (513, 257))),
    ((600, 301), {"max_size": (700, 200)}, ((399, 200), (399, 200))),
    # Too small: padded, not enlarged.
    ((10, 40), {"min_size": 17, "max_size": 513}, ((10, 40), (17, 40))),
    ((10, 12), {"min_size": (17, 33)}, ((10, 12), (17, 33))),
])
def test_plan(size, kwargs, expected):
    assert letterbox_plan(*size, **kwargs) == expected


@pytest.mark.parametrize("size, kwargs", [
    ((41, 41), {"fixed_size": (41, 41)}),
    ((17, 513), {"min_size": 17, "max_size": 513}),
    ((5, 5), {}),
])
def test_plan_is_none_when_the_image_fits(size, kwargs):
    assert letterbox_plan(*size, **kwargs) is None


def test_plan_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`fixed_size`.*Received: fixed_size=\(0, 4\)"):
        letterbox_plan(5, 5, fixed_size=(0, 4))
    with pytest.raises(ValueError, match="`max_size`"):
        letterbox_plan(5, 5, max_size=(1, 2, 3))
    with pytest.raises(ValueError, match="`min_size`.*Received: min_size=2.5"):
        letterbox_plan(5, 5, min_size=2.5)
    with pytest.raises(ValueError, match="`height` and `width`"):
        letterbox_plan(0, 5)


def test_images_are_resized_then_padded_with_the_mean(rng):
    batch = rng.integers(0, 256, size=(2, 30, 45, 3), dtype=np.uint8)
    out = letterbox_images(batch, (20, 30), (24, 32))
    assert out.shape == (2, 24, 32, 3) and out.dtype == np.uint8
    for image, boxed in zip(batch, out):
        expected = np.asarray(Image.fromarray(image).resize((30, 20),
                                                            Image.BILINEAR))
        np.testing.assert_array_equal(boxed[:20, :30], expected)
        assert (boxed[20:] == MEAN_U8).all() and (boxed[:, 30:] == MEAN_U8).all()


def test_restore_crops_resizes_and_keeps_distributions(rng):
    logits = rng.normal(size=(2, 24, 32, 4)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    attention = np.stack([probs[..., 0], 1 - probs[..., 0]], -1)
    outputs = {"class_map": probs.argmax(-1).astype(np.int32),
               "probabilities": probs, "attention": attention}
    # Crop only (the image was padded, not resized): exact.
    same = restore_outputs(outputs, (20, 30), (20, 30))
    np.testing.assert_array_equal(same["probabilities"], probs[:, :20, :30])
    np.testing.assert_array_equal(same["class_map"], outputs["class_map"][:, :20, :30])
    # Crop and resize: still distributions, the argmax of the probabilities.
    big = restore_outputs(outputs, (20, 30), (50, 75))
    assert list(big) == ["class_map", "probabilities", "attention"]
    assert big["probabilities"].shape == (2, 50, 75, 4)
    assert big["attention"].shape == (2, 50, 75, 2)
    np.testing.assert_allclose(big["probabilities"].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(big["attention"].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(big["class_map"],
                                  big["probabilities"].argmax(-1))
    channel = Image.fromarray(np.ascontiguousarray(probs[1, :20, :30, 2]),
                              mode="F").resize((75, 50), Image.BILINEAR)
    np.testing.assert_allclose(big["probabilities"][1, ..., 2],
                               np.asarray(channel), rtol=1e-6)


def test_restore_without_probabilities_resizes_the_class_map_nearest():
    class_map = np.arange(6, dtype=np.int32).reshape(1, 2, 3)
    padded = np.pad(class_map, ((0, 0), (0, 1), (0, 1)), constant_values=9)
    out = restore_outputs({"class_map": padded}, (2, 3), (4, 6))
    np.testing.assert_array_equal(
        out["class_map"][0], np.repeat(np.repeat(class_map[0], 2, 0), 2, 1))


def _reference(keras_runtime, image, resized, padded):
    """The definition, with the Keras model run on the padded image."""
    small = np.asarray(Image.fromarray(image).resize(
        (resized[1], resized[0]), Image.BILINEAR))
    boxed = np.empty(tuple(padded) + (3,), np.uint8)
    boxed[...] = MEAN_U8
    boxed[:resized[0], :resized[1]] = small
    out = keras_runtime(boxed)
    probs = out["probabilities"][:resized[0], :resized[1]]
    back = np.stack([np.asarray(Image.fromarray(
        np.ascontiguousarray(probs[..., c]), mode="F").resize(
            (image.shape[1], image.shape[0]), Image.BILINEAR))
        for c in range(probs.shape[-1])], -1)
    return back


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(41, 30), (60, 90), (20, 25)])
def test_fixed_size_tflite_takes_any_size(exports, keras_runtime, rng, shape):
    image = rng.integers(0, 256, size=shape + (3,), dtype=np.uint8)
    runtime = SegmentationRuntime(exports["tflite_fixed"], fit="letterbox")
    plan = runtime.fit_plan(*shape)
    assert plan is not None and plan[1] == FIXED_SIZE
    out = runtime(image)
    expected = _reference(keras_runtime, image, *plan)
    assert out["class_map"].shape == shape
    assert out["attention"].shape == shape + (2,)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_map"],
                                  out["probabilities"].argmax(-1))
    # A batch is fitted the same way as its images one by one.
    batch = runtime(np.stack([image, image[::-1]]))
    np.testing.assert_allclose(batch["probabilities"][0], out["probabilities"],
                               atol=1e-6)


@pytest.mark.slow
def test_dynamic_model_pads_images_below_its_smallest_size(keras_runtime, rng):
    runtime = SegmentationRuntime(keras_runtime.path, fit="letterbox")
    min_size = runtime.min_input_size
    image = rng.integers(0, 256, size=(min_size - 5, 40, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="fit='letterbox' pads them"):
        keras_runtime(image)
    assert runtime.fit_plan(*image.shape[:2]) == (
        (min_size - 5, 40), (min_size, 40))
    out = runtime(image)
    expected = _reference(keras_runtime, image, (min_size - 5, 40),
                          (min_size, 40))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-6)
    # Images the model takes are not touched.
    assert runtime.fit_plan(min_size, 40) is None


def test_fit_must_be_known(tmp_path):
    with pytest.raises(ValueError, match=r"`fit` must be one of \['exact', "
                                         r"'letterbox', 'tile'\]. Received: "
                                         "fit='pad'"):
        SegmentationRuntime(tmp_path / "model.onnx", fit="pad")


@pytest.mark.slow
def test_predict_script_letterboxes_by_default(exports, tmp_path, capsys):
    image, mask = predict_red_box(tmp_path, exports["tflite_fixed"], 50, 70)
    expected = SegmentationRuntime(exports["tflite_fixed"],
                                   fit="letterbox")(image)["class_map"]
    np.testing.assert_array_equal(mask, expected)
    printed = capsys.readouterr().out
    assert "big.png -> " in printed
    assert "(letterboxed: 50x70 resized to 29x41, padded to 41x41)" in printed


@pytest.mark.slow
def test_tensorrt_profile_shrinks_large_and_pads_small_images(
        exports, keras_runtime, rng):
    # A TensorRT engine's only size rule is its profile; TensorRT is not
    # installed here, so the ONNX model stands in for the engine and gets
    # the profile an engine would report.
    from keras_scaleattn.export.tensorrt_engine import EngineProfile

    runtime = SegmentationRuntime(exports["onnx"], fit="letterbox")
    runtime._backend.profile = EngineProfile((1, 41, 41), (1, 57, 57),
                                             (2, 73, 73))
    # 100x60 is too tall: shrunk by 0.73 to 73x44, no padding needed.
    assert runtime.fit_plan(100, 60) == ((73, 44), (73, 44))
    # 30x50 is too short: padded to the profile's 41 rows, not enlarged.
    assert runtime.fit_plan(30, 50) == ((30, 50), (41, 50))
    assert runtime.fit_plan(50, 60) is None
    for shape in ((100, 60), (30, 50)):
        images = rng.integers(0, 256, size=(3,) + shape + (3,), dtype=np.uint8)
        out = runtime(images)   # 3 images: chunks of the profile's batch 2
        assert out["class_map"].shape == (3,) + shape
        plan = runtime.fit_plan(*shape)
        expected = _reference(keras_runtime, images[2], *plan)
        np.testing.assert_allclose(out["probabilities"][2], expected,
                                   atol=1e-5)
    exact = SegmentationRuntime(exports["onnx"])
    exact._backend.profile = runtime._backend.profile
    with pytest.raises(ValueError, match="profile: height 41-73.*fit='letterbox'"):
        exact(np.zeros((100, 60, 3), np.uint8))


@pytest.mark.slow
def test_max_size_bounds_large_photos_on_a_dynamic_model(keras_runtime, rng):
    runtime = SegmentationRuntime(keras_runtime.path, fit="letterbox",
                                  max_size=np.int64(48))
    assert runtime.min_input_size == 33
    # 60x90 -> 32x48 (x 0.533), then padded to the model's 33 rows.
    plan = runtime.fit_plan(60, 90)
    assert plan == ((32, 48), (33, 48))
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    out = runtime(image)
    assert out["class_map"].shape == (60, 90)
    np.testing.assert_allclose(out["probabilities"],
                               _reference(keras_runtime, image, *plan),
                               atol=1e-6)
    assert runtime.fit_plan(40, 48) is None


def test_max_size_needs_letterbox_and_a_positive_size(tmp_path):
    with pytest.raises(ValueError, match="`max_size` needs fit='letterbox' "
                                         r"\(larger images are shrunk to it\) "
                                         "or fit='tile'"):
        SegmentationRuntime(tmp_path / "model.onnx", max_size=512)
    with pytest.raises(ValueError, match="`max_size` must be a positive int"):
        SegmentationRuntime(tmp_path / "model.onnx", fit="letterbox",
                            max_size=0)
