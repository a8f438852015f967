"""Atomic writes: a failed export leaves no artifact and no temporary."""

import os

import onnx
import pytest
import tensorflow as tf

from keras_scaleattn.export import onnx_export
from keras_scaleattn.export.atomic import atomic_directory
from keras_scaleattn.export.atomic import atomic_file
from keras_scaleattn.export.atomic import write_file_atomic
from keras_scaleattn.export.saved_model import export_saved_model
from keras_scaleattn.export.tflite import export_tflite
from tests.export.export_helpers import assert_no_temporaries


class Boom(RuntimeError):
    pass


def test_atomic_file_writes_and_replaces(tmp_path):
    path = tmp_path / "model.onnx"
    write_file_atomic(path, b"old")
    write_file_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert_no_temporaries(tmp_path)


def test_atomic_file_failure_keeps_old_file_and_removes_temporary(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"old")
    with pytest.raises(Boom):
        with atomic_file(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise Boom()
    assert path.read_bytes() == b"old"
    assert_no_temporaries(tmp_path)


def test_atomic_file_requires_a_written_file(tmp_path):
    with pytest.raises(ValueError, match="wrote nothing"):
        with atomic_file(tmp_path / "x.onnx"):
            pass
    assert os.listdir(tmp_path) == []


def test_atomic_file_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="directory of `path` must exist"):
        write_file_atomic(tmp_path / "missing" / "x.onnx", b"")


def test_atomic_directory_replaces_and_cleans_up(tmp_path):
    path = tmp_path / "saved_model"
    for content in (b"old", b"new"):
        with atomic_directory(path) as tmp:
            (open(os.path.join(tmp, "saved_model.pb"), "wb")
             .write(content))
    assert (path / "saved_model.pb").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["saved_model"]


def test_atomic_directory_failure_keeps_old_directory(tmp_path):
    path = tmp_path / "saved_model"
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"old")
    with pytest.raises(Boom):
        with atomic_directory(path) as tmp:
            open(os.path.join(tmp, "half"), "wb").close()
            raise Boom()
    assert os.listdir(path) == ["saved_model.pb"]
    assert_no_temporaries(tmp_path)


@pytest.mark.slow
def test_failed_tflite_conversion_leaves_nothing(tiny_model, tmp_path,
                                                 monkeypatch):
    def fail(self):
        raise Boom("converter crashed")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "convert", fail)
    with pytest.raises(Boom):
        export_tflite(tiny_model, tmp_path / "model.tflite")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_failed_saved_model_write_leaves_nothing(tiny_model, tmp_path,
                                                 monkeypatch):
    real_save = tf.saved_model.save

    def save_then_fail(obj, export_dir, signatures=None):
        real_save(obj, export_dir, signatures=signatures)  # half the job
        raise Boom("disk full")

    monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
    with pytest.raises(Boom):
        export_saved_model(tiny_model, tmp_path / "saved_model")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_failed_onnx_write_leaves_nothing(tiny_model, tmp_path, monkeypatch):
    graph = onnx.helper.make_graph([], "g", [], [])
    monkeypatch.setattr(onnx_export, "convert_onnx",
                        lambda model, opset=None, class_names=None:
                        onnx.helper.make_model(graph))

    def write_half_then_fail(model, path):
        with open(path, "wb") as f:
            f.write(b"\x08")
        raise Boom("interrupted")

    monkeypatch.setattr(onnx, "save", write_half_then_fail)
    with pytest.raises(Boom):
        onnx_export.export_onnx(tiny_model, tmp_path / "model.onnx")
    assert os.listdir(tmp_path) == []
