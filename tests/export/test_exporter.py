"""Export orchestration: format names, artifact names, early errors."""

import os

import pytest

from keras_scaleattn.export.exporter import FORMATS
from keras_scaleattn.export.exporter import artifact_name
from keras_scaleattn.export.exporter import export_artifacts
from keras_scaleattn.export.exporter import parse_formats


def test_parse_formats():
    assert parse_formats("onnx, saved_model,onnx") == ("saved_model", "onnx")
    assert parse_formats(FORMATS) == FORMATS
    for bad in ("", "onnx,pb", ["tflite_int4"]):
        with pytest.raises(ValueError, match="`formats` must be"):
            parse_formats(bad)


@pytest.mark.parametrize("format_name, size, expected", [
    ("saved_model", None, "saved_model"),
    ("tflite", None, "model.tflite"),
    ("tflite_fp16", (513, 513), "model_513_fp16.tflite"),
    ("tflite_int8", (321, 481), "model_321x481_int8.tflite"),
    ("onnx_fp16", None, "model_fp16.onnx"),
    ("onnx_int8", None, "model_int8.onnx"),
])
def test_artifact_names(format_name, size, expected):
    assert artifact_name(format_name, size) == expected


@pytest.mark.slow
def test_int8_without_images_fails_before_writing(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="representative_images"):
        export_artifacts(tiny_model, tmp_path, "saved_model,tflite_int8")
    assert os.listdir(tmp_path) == []


def test_sample_images_from_a_folder_and_errors(tmp_path):
    import numpy as np
    from PIL import Image

    from keras_scaleattn.export.images import sample_images

    with pytest.raises(ValueError, match="holds no image file"):
        sample_images(tmp_path)
    for name in ("b.png", "a.png"):
        Image.fromarray(np.full((5, 7, 3), ord(name[0]), np.uint8)).save(
            tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    images = sample_images(tmp_path, num_images=1)
    assert len(images) == 1 and images[0][0, 0, 0] == ord("a")
    with pytest.raises(ValueError, match="num_images"):
        sample_images(tmp_path, num_images=0)
    with pytest.raises(ValueError, match="must be a directory"):
        sample_images(tmp_path / "a.png")
