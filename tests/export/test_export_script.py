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
