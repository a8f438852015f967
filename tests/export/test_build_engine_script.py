"""deploy/build_engine.py and `onnx_min_input_size` on bad ONNX files."""

import json

import pytest

from keras_scaleattn.cli import run_script
from keras_scaleattn.export.tensorrt_engine import onnx_min_input_size
from tests.export.export_helpers import identity_onnx_file
from tests.export.export_helpers import load_script


def test_min_input_size_from_the_metadata(tmp_path):
    assert onnx_min_input_size(identity_onnx_file(
        tmp_path / "a.onnx", json.dumps({"min_input_size": 49}))) == 49
    assert onnx_min_input_size(identity_onnx_file(tmp_path / "b.onnx")) is None
    with pytest.raises(ValueError, match="metadata is not a JSON object"):
        onnx_min_input_size(identity_onnx_file(tmp_path / "c.onnx", "[1, 2]"))


def _tflite_bytes():
    return b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 8


@pytest.mark.parametrize("name, data, match", [
    ("model.tflite", _tflite_bytes(),
     "`onnx_path` could not be loaded as an ONNX model \\(truncated, "
     "corrupt or another kind of file\\): DecodeError: .*"
     "Received: onnx_path='.*model.tflite'"),
    ("model.onnx", b"", "`onnx_path` is not an ONNX model: it has no graph "
                        "inputs .*Received: onnx_path='.*model.onnx'"),
])
def test_bad_files_are_named(tmp_path, name, data, match):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match):
        onnx_min_input_size(path)


@pytest.mark.parametrize("data", [_tflite_bytes(), b""])
def test_script_reports_a_corrupt_onnx_in_one_line(tmp_path, capsys, data):
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    script = load_script("build_engine")
    assert run_script(script.main, ["--onnx", str(path),
                                    "--print-trtexec"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: `onnx_path` ")
    assert f"onnx_path={str(path)!r}" in captured.err
    assert len(captured.err.splitlines()) == 1


def test_script_reports_a_missing_onnx(tmp_path, capsys):
    script = load_script("build_engine")
    missing = str(tmp_path / "nowhere.onnx")
    assert run_script(script.main, ["--onnx", missing, "--print-trtexec"]) == 2
    assert capsys.readouterr().err == (
        f"error: `onnx_path` does not exist. Received: onnx_path={missing!r}\n")
