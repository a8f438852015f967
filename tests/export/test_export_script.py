"""deploy/export.py and export_and_check: errors before any work."""

import os
import subprocess
import sys
import zipfile

import pytest

from tests.export.export_helpers import ROOT
from tests.export.export_helpers import load_script


def _export_main(argv):
    from keras_scaleattn.cli import run_script

    return run_script(load_script("export").main, argv)


@pytest.mark.parametrize("kind", ["truncated", "other zip", "not a zip"])
def test_corrupt_model_is_named_as_not_loadable(kind, tiny_model_path,
                                                tmp_path, capsys):
    path = tmp_path / "trunc.keras"
    data = open(tiny_model_path, "rb").read()
    if kind == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif kind == "other zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{not json")
    else:
        path.write_bytes(b"hello")
    out_dir = tmp_path / "exports"
    code = _export_main(["--model", str(path), "--out-dir", str(out_dir),
                         "--formats", "onnx", "--parity-images", "0"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "could not be loaded as a Keras model" in err[0]
    assert "corrupt" in err[0] and str(path) in err[0]
    assert "File not found" not in err[0]
    assert not out_dir.exists()


def test_missing_model_is_file_not_found(tmp_path):
    from keras_scaleattn.export.exporter import load_keras_model

    with pytest.raises(FileNotFoundError, match="`model_path` does not "
                                                "exist.*nothing.keras"):
        load_keras_model(tmp_path / "nothing.keras")


def test_export_needs_the_tensorflow_backend(tiny_model_path, tmp_path,
                                             monkeypatch):
    import keras

    from keras_scaleattn.export.exporter import export_and_check
    from keras_scaleattn.export.exporter import export_artifacts

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs the TensorFlow Keras "
                                         "backend.*Received: Keras backend "
                                         "'jax'"):
        export_and_check(tiny_model_path, tmp_path / "a", "onnx")
    with pytest.raises(ValueError, match="KERAS_BACKEND=tensorflow"):
        export_artifacts(object(), tmp_path / "b", "onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_export_script_runs_under_keras_backend_jax(tiny_model_path,
                                                    tmp_path):
    out_dir = tmp_path / "exports"
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT),
               TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "export.py"),
         "--model", tiny_model_path, "--out-dir", str(out_dir),
         "--formats", "onnx", "--parity-images", "1",
         "--synthetic-size", "97"],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == ["model.onnx", "parity_report.json"]
    assert "| model.onnx | float32 | any |" in result.stdout
