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
    assert captured.err.startswith("error: `--onnx` ")
    assert f"Received: --onnx={str(path)!r}" in captured.err
    assert len(captured.err.splitlines()) == 1


def test_script_reports_a_directory_as_not_an_onnx_file(tmp_path, capsys):
    script = load_script("build_engine")
    folder = tmp_path / "exports"
    folder.mkdir()
    assert run_script(script.main, ["--onnx", str(folder),
                                    "--print-trtexec"]) == 2
    assert capsys.readouterr().err == (
        f"error: `--onnx` is a directory, not an ONNX file (e.g. "
        f"model.onnx). Received: --onnx={str(folder)!r}\n")
    with pytest.raises(ValueError, match="^`onnx_path` is a directory, not "
                                         "an ONNX file"):
        onnx_min_input_size(folder)


def test_script_reports_a_missing_onnx(tmp_path, capsys):
    script = load_script("build_engine")
    missing = str(tmp_path / "nowhere.onnx")
    assert run_script(script.main, ["--onnx", missing, "--print-trtexec"]) == 2
    assert capsys.readouterr().err == (
        f"error: `--onnx` does not exist. Received: --onnx={missing!r}\n")


@pytest.mark.parametrize("flags, message", [
    (["--min-size", "0"], "`--min-size` must be a positive int. Received: "
                          "--min-size=0"),
    (["--max-batch", "0"], "`--max-batch` must be a positive int. Received: "
                           "--max-batch=0"),
    (["--workspace-mib", "0"], "`--workspace-mib` must be a positive int. "
                               "Received: --workspace-mib=0"),
    (["--trt-version", "9"], "`--trt-version` must be an int >= 10. "
                             "Received: --trt-version=9"),
    (["--trt-version", "0"], "`--trt-version` must be an int >= 10. "
                             "Received: --trt-version=0"),
    (["--min-size", "33"], "`--min-size` must be at least the model's "
                           "min_input_size (49) in the --onnx metadata. "
                           "Received: --min-size=33"),
    (["--opt-size", "2000"], "`--min-size`, `--opt-size` and `--max-size` "
                             "must satisfy --min-size <= --opt-size <= "
                             "--max-size. Received: --min-size=49, "
                             "--opt-size=2000, --max-size=1025 (--min-size "
                             "not given: the model's min_input_size)"),
    (["--min-batch", "2"], "`--min-batch`, `--opt-batch` and `--max-batch` "
                           "must satisfy --min-batch <= --opt-batch <= "
                           "--max-batch. Received: --min-batch=2, "
                           "--opt-batch=1, --max-batch=1"),
])
def test_bad_flags_are_named(tmp_path, capsys, flags, message):
    onnx_path = identity_onnx_file(tmp_path / "model.onnx",
                                   json.dumps({"min_input_size": 49}))
    script = load_script("build_engine")
    assert run_script(script.main, ["--onnx", str(onnx_path),
                                    "--print-trtexec"] + flags) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"error: {message}\n")


def test_bad_output_and_image_folders_are_named(tmp_path, capsys):
    onnx_path = identity_onnx_file(tmp_path / "model.onnx")
    script = load_script("build_engine")
    missing = str(tmp_path / "nowhere")
    # Checked before TensorRT is looked for (and before any conversion).
    for flags, message in (
            (["--out", missing + "/model.plan"],
             "`--out` must be a file in an existing directory. Received: "
             f"--out={missing + '/model.plan'!r}"),
            (["--precision", "int8", "--images", missing],
             f"`--images` must be a directory. Received: --images={missing!r}")):
        assert run_script(script.main, ["--onnx", str(onnx_path)]
                          + flags) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_tensorrt_older_than_10_is_named(tmp_path, capsys, monkeypatch):
    # Not `major_version`, an argument of precision_plan the user never saw.
    onnx_path = identity_onnx_file(tmp_path / "model.onnx")
    script = load_script("build_engine")
    monkeypatch.setattr(script, "tensorrt_major_version", lambda: 8)
    for flags in ([], ["--print-trtexec"]):
        assert run_script(script.main, ["--onnx", str(onnx_path)]
                          + flags) == 2
        assert capsys.readouterr().err == (
            "error: TensorRT 8 is installed; deploy/build_engine.py needs "
            "TensorRT 10 or later (pip install -e '.[tensorrt]').\n")
