"""SegmentationRuntime: format detection, bad files, bad images."""

import os
import shutil

import numpy as np
import pytest

from keras_scaleattn.export.images import prepare_images
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from keras_scaleattn.export.segmentation_runtime import detect_model_kind


@pytest.mark.slow
def test_detects_every_kind(exports, tiny_model_path):
    assert detect_model_kind(tiny_model_path) == "keras"
    assert detect_model_kind(exports["saved_model"]) == "saved_model"
    assert detect_model_kind(exports["tflite_int8_fixed"]) == "tflite"
    assert detect_model_kind(exports["onnx_fp16"]) == "onnx"


@pytest.mark.slow
def test_kind_by_content_without_extension(exports, tmp_path):
    path = tmp_path / "model.bin"
    shutil.copy(exports["tflite"], path)
    assert detect_model_kind(path) == "tflite"


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="`path` does not exist"):
        SegmentationRuntime(tmp_path / "nowhere.onnx")


def test_directory_without_saved_model(tmp_path):
    with pytest.raises(ValueError, match="without saved_model.pb"):
        SegmentationRuntime(tmp_path)


def test_empty_and_unknown_files(tmp_path):
    empty = tmp_path / "model.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file"):
        SegmentationRuntime(empty)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="match none of them"):
        SegmentationRuntime(text)


def _truncated(source, path):
    data = open(source, "rb").read()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.slow
@pytest.mark.parametrize("key, name", [("tflite", "model.tflite"),
                                       ("onnx", "model.onnx"),
                                       ("keras", "model.keras")])
def test_truncated_files(exports, tiny_model_path, tmp_path, key, name):
    source = tiny_model_path if key == "keras" else exports[key]
    path = _truncated(source, tmp_path / name)
    with pytest.raises(ValueError, match="truncated"):
        SegmentationRuntime(path)


@pytest.mark.slow
def test_file_of_another_kind(exports, tiny_model_path, tmp_path):
    onnx_named = tmp_path / "model.onnx"
    shutil.copy(exports["tflite"], onnx_named)
    with pytest.raises(ValueError, match="looks like a TFLite flatbuffer"):
        SegmentationRuntime(onnx_named)
    tflite_named = tmp_path / "model.tflite"
    shutil.copy(tiny_model_path, tflite_named)
    with pytest.raises(ValueError, match="looks like a .keras archive"):
        SegmentationRuntime(tflite_named)
    keras_named = tmp_path / "model.keras"
    shutil.copy(exports["onnx"], keras_named)
    with pytest.raises(ValueError, match="not a .keras archive"):
        SegmentationRuntime(keras_named)


def _broken_keras_file(kind, tiny_model_path, path):
    import zipfile

    data = open(tiny_model_path, "rb").read()
    if kind == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif kind == "not a zip":
        path.write_bytes(b"hello, not a model")
    elif kind == "bad config":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{not json")
    else:  # "not a segmenter": a Keras model without a 'logits' output
        import keras

        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(
            path)
    return path


@pytest.mark.parametrize("kind, message", [
    ("truncated", "could not be loaded as a Keras model \(truncated, "
                  "corrupt or another kind of file\): it is not a .keras "
                  "archive"),
    ("not a zip", "could not be loaded as a Keras model \(truncated, "
                  "corrupt or another kind of file\): it is not a .keras "
                  "archive"),
    ("bad config", "could not be loaded as a Keras model \(truncated, "
                   "corrupt or another kind of file\): \w+Error: "),
    ("not a segmenter", "must be a segmenter, a Keras model with a 'logits' "
                        "output .*a Sequential"),
])
def test_one_keras_loader_one_message(kind, message, tiny_model_path,
                                      tmp_path):
    # export (load_keras_model) and SegmentationRuntime (predict, benchmark)
    # load a .keras file the same way and say the same about a bad one.
    from keras_scaleattn.export.exporter import load_keras_model

    path = _broken_keras_file(kind, tiny_model_path, tmp_path / "m.keras")
    with pytest.raises(ValueError, match=message) as loader:
        load_keras_model(path, "--model")
    with pytest.raises(ValueError, match=message) as runtime:
        SegmentationRuntime(path, argument_names={"path": "--model"})
    assert str(runtime.value) == str(loader.value)
    assert str(loader.value).startswith("`--model` ")
    assert f"Received: --model={str(path)!r}" in str(loader.value)
    assert "File not found" not in str(loader.value)


def test_a_multi_line_keras_error_is_one_line(tiny_model_path, monkeypatch):
    import keras

    from keras_scaleattn.export.segmentation_runtime import load_keras_model

    def fail(path):
        raise ValueError("Exception encountered when calling layer\n\n"
                         "  details\n")

    monkeypatch.setattr(keras.models, "load_model", fail)
    with pytest.raises(ValueError) as info:
        load_keras_model(tiny_model_path, "--model")
    assert str(info.value) == (
        "`--model` could not be loaded as a Keras model (truncated, corrupt "
        "or another kind of file): ValueError: Exception encountered when "
        f"calling layer details. Received: --model={tiny_model_path!r}")


def test_runtime_errors_use_the_names_they_are_given(tmp_path):
    names = {"path": "--model", "num_threads": "--num-threads",
             "max_size": "--max-size", "fit": "--fit"}
    missing = str(tmp_path / "nowhere.onnx")
    with pytest.raises(FileNotFoundError, match=(
            f"^`--model` does not exist. Received: --model='{missing}'$")):
        SegmentationRuntime(missing, argument_names=names)
    with pytest.raises(ValueError, match=(
            "^`--num-threads` must be None .*Received: --num-threads=0$")):
        SegmentationRuntime(missing, num_threads=0, argument_names=names)
    with pytest.raises(ValueError, match=(
            "^`--max-size` must be a positive int .*Received: "
            "--max-size=0$")):
        SegmentationRuntime(missing, fit="letterbox", max_size=0,
                            argument_names=names)
    with pytest.raises(ValueError, match=(
            r"^`--max-size` needs --fit='letterbox' \(larger images are "
            r"shrunk to it\) or --fit='tile' \(the window size\). "
            "Received: --max-size=600, --fit='exact'$")):
        SegmentationRuntime(missing, max_size=600, argument_names=names)
    # Without names, the library names its own arguments.
    with pytest.raises(FileNotFoundError, match="^`path` does not exist"):
        SegmentationRuntime(missing)


def test_engine_without_tensorrt(tmp_path):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed: the missing-TensorRT error "
                    "cannot be shown here")
    except ImportError:
        pass
    path = tmp_path / "model.plan"
    path.write_bytes(b"ftrt0000")
    with pytest.raises(ImportError, match="needs the `tensorrt`"):
        SegmentationRuntime(path)


@pytest.mark.parametrize("images, match", [
    (np.zeros((40, 40), np.uint8), "images.shape=\\(40, 40\\)"),
    (np.zeros((1, 1, 40, 40, 3), np.uint8), "\\[B, H, W, 3\\]"),
    (np.zeros((40, 40, 4), np.uint8), "3 \\(RGB\\) channels"),
    (np.zeros((0, 40, 40, 3), np.uint8), "must not be empty"),
    (np.zeros((40, 40, 3), bool), "images.dtype=bool"),
    (np.zeros((40, 40, 3), np.complex64), "images.dtype=complex64"),
    (np.full((40, 40, 3), "a"), "images.dtype=<U1"),
    (np.full((40, 40, 3), 1.5, np.float32) * 200, "\\[0, 255\\]"),
    (np.full((40, 40, 3), -1, np.int32), "\\[-1, -1\\]"),
    (np.full((40, 40, 3), np.nan, np.float32), "finite"),
])
def test_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        prepare_images(images)


def test_prepare_images_rounds_floats_and_adds_the_batch_axis():
    floats = np.array([[[0.4, 127.5, 254.6]]], np.float64)
    batch, single = prepare_images(floats)
    assert single and batch.dtype == np.uint8
    assert batch.tolist() == [[[[0, 128, 255]]]]
    ints = np.array([[[0, 17, 255]]], np.int64)
    assert prepare_images(ints)[0].tolist() == [[[[0, 17, 255]]]]


@pytest.mark.slow
def test_keras_runtime_outputs_and_checks(keras_runtime, rng):
    image = rng.integers(0, 256, size=(33, 47, 3), dtype=np.uint8)
    out = keras_runtime(image)
    assert out["class_map"].shape == (33, 47)
    assert out["class_map"].dtype == np.int32
    assert out["probabilities"].shape == (33, 47, 3)
    assert out["attention"].shape == (33, 47, 2)
    # Floats in [0, 255] are rounded: the same pixels, the same answer.
    floats = keras_runtime(np.maximum(image.astype(np.float32) - 0.3, 0))
    np.testing.assert_array_equal(floats["class_map"], out["class_map"])
    with pytest.raises(ValueError, match="at least 33x33.*32x47"):
        keras_runtime(image[:32])
    assert keras_runtime.min_input_size == 33
    assert keras_runtime.kind == "keras"


@pytest.mark.slow
def test_exported_runtimes_check_the_minimum_size(exports):
    for key in ("saved_model", "tflite", "onnx"):
        runtime = SegmentationRuntime(exports[key])
        with pytest.raises(ValueError, match="at least 33x33"):
            runtime(np.zeros((20, 40, 3), np.uint8))


@pytest.mark.slow
def test_same_outputs_from_every_float32_format(exports, keras_runtime, rng):
    images = rng.integers(0, 256, size=(2, 49, 33, 3), dtype=np.uint8)
    ref = keras_runtime(images)
    for key in ("saved_model", "tflite", "onnx"):
        out = SegmentationRuntime(exports[key])(images)
        assert sorted(out) == sorted(ref)
        for name in ref:
            assert out[name].dtype == ref[name].dtype
            assert out[name].shape == ref[name].shape
        np.testing.assert_allclose(out["probabilities"],
                                   ref["probabilities"], atol=1e-4)
    assert os.path.isdir(exports["dir"])


@pytest.mark.parametrize("num_threads", [0, -2, True, 2.0, "4"])
def test_num_threads_is_checked_before_loading(tmp_path, num_threads):
    # A file that looks like a TFLite flatbuffer but is not one: loading it
    # would fail, so the error shows num_threads was checked first.
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(64))
    with pytest.raises(ValueError, match=(
            "`num_threads` must be None \\(LiteRT's default\\) or a positive "
            f"int. Received: num_threads={num_threads!r}")):
        SegmentationRuntime(path, num_threads=num_threads)


@pytest.mark.slow
def test_tflite_runtime_takes_num_threads(exports, rng):
    runtime = SegmentationRuntime(exports["tflite"], num_threads=1)
    out = runtime(rng.integers(0, 256, size=(33, 40, 3), dtype=np.uint8))
    assert out["class_map"].shape == (33, 40)
    with pytest.raises(ValueError, match="num_threads=0"):
        SegmentationRuntime(exports["tflite"], num_threads=0)
