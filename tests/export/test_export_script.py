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


def _image_folder(folder, sizes):
    import numpy as np
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, (height, width) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (height, width, 3), np.uint8)
                        ).save(folder / name)
    return folder


@pytest.mark.parametrize("formats", ["saved_model,onnx", "onnx_int8"])
def test_too_small_image_is_named_before_anything_is_written(
        formats, tiny_model_path, tmp_path, capsys):
    folder = _image_folder(tmp_path / "images", {
        "a.png": (40, 50), "b_small.png": (20, 60), "c.png": (33, 33)})
    out_dir = tmp_path / "exports"
    code = _export_main(["--model", tiny_model_path, "--out-dir",
                         str(out_dir), "--formats", formats,
                         "--images", str(folder)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: `--images` must hold images of at least 33x33 pixels (the "
        "model's min_input_size). Received: "
        f"{folder / 'b_small.png'} of size 20x60")
    assert not out_dir.exists()


def test_fixed_size_below_the_minimum_names_the_flag(tiny_model_path,
                                                     tmp_path, capsys):
    out_dir = tmp_path / "exports"
    code = _export_main(["--model", tiny_model_path, "--out-dir",
                         str(out_dir), "--formats", "saved_model,tflite",
                         "--fixed-size", "65x20", "--parity-images", "0"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: `--fixed-size` must be at least the model's min_input_size "
        "(33) on each side. Received: --fixed-size=(65, 20)")
    assert not out_dir.exists()


def test_report_in_a_missing_directory_names_the_flag(tiny_model_path,
                                                      tmp_path, capsys):
    out_dir = tmp_path / "exports"
    report = tmp_path / "missing_dir" / "r.json"
    code = _export_main(["--model", tiny_model_path, "--out-dir",
                         str(out_dir), "--formats", "onnx",
                         "--parity-images", "0", "--report", str(report)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: `--report` must be a file in an existing directory. "
        f"Received: --report={str(report)!r}")
    assert not out_dir.exists()


def test_bad_flags_are_named(tiny_model_path, tmp_path, capsys):
    from keras_scaleattn.export.exporter import FORMATS

    empty = tmp_path / "photos"
    empty.mkdir()
    config = str(tmp_path / "nowhere.yaml")
    out_dir = tmp_path / "exports"
    base = ["--model", tiny_model_path, "--out-dir", str(out_dir)]
    for flags, message in (
            (["--formats", "onnx,onx"],
             f"`--formats` must be a non-empty list of {FORMATS}. "
             "Received: --formats='onnx,onx'"),
            (["--formats", "onnx", "--images", str(empty)],
             "`--images` holds no image file ("),
            (["--formats", "onnx", "--config", config],
             f"`--config` does not exist. Received: --config={config!r}")):
        assert _export_main(base + flags) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}"), err
        assert len(err.splitlines()) == 1
    assert not out_dir.exists()


def test_synthetic_size_below_97_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        load_script("export").parse_args(
            ["--model", "m.keras", "--out-dir", "o", "--synthetic-size", "50"])
    assert info.value.code == 2
    assert ("argument --synthetic-size: must be an int >= 97, got '50'"
            in capsys.readouterr().err)


def test_export_and_check_names_its_arguments(tiny_model_path, tmp_path):
    import numpy as np

    from keras_scaleattn.export.exporter import export_and_check

    out_dir = tmp_path / "exports"
    with pytest.raises(ValueError, match=r"`fixed_size` must be at least the "
                                         r"model's min_input_size \(33\).*"
                                         r"Received: fixed_size=20"):
        export_and_check(tiny_model_path, out_dir, "tflite", fixed_size=20)
    images = [np.zeros((40, 40, 3), np.uint8), np.zeros((40, 32, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"Received: parity_images\[1\] of "
                                         r"size 40x32"):
        export_and_check(tiny_model_path, out_dir, "onnx",
                         parity_images=images)
    with pytest.raises(ValueError, match=r"`representative_images` must hold "
                                         r"RGB images \[H, W, 3\]. Received: "
                                         r"representative_images\[0\] of "
                                         r"shape \(40, 40\)"):
        export_and_check(tiny_model_path, out_dir, "onnx_int8",
                         representative_images=[np.zeros((40, 40))])
    with pytest.raises(ValueError, match="`out_dir` must be a directory"):
        (tmp_path / "file").write_text("x")
        export_and_check(tiny_model_path, tmp_path / "file", "onnx")
    assert not out_dir.exists()


@pytest.mark.parametrize("paths, num_parity, num_calibration, expected", [
    ("abcdefg", 2, 3, ("ab", "cde")),      # enough: disjoint, as asked
    ("abcd", 2, 5, ("ab", "cd")),          # short: fewer calibration images
    ("ab", 2, 5, ("ab", "ab")),            # too few to keep them apart
    ("abc", 0, 2, ("", "ab")),             # no parity check
    ("abc", 2, 0, ("ab", "")),             # no int8 format
])
def test_split_image_files(paths, num_parity, num_calibration, expected):
    from keras_scaleattn.export.exporter import split_image_files

    parity, calibration = split_image_files(list(paths), num_parity,
                                            num_calibration)
    assert ("".join(parity), "".join(calibration)) == expected


def _record_calls(monkeypatch, module, name, index):
    """Wraps `module.name`, recording the argument at `index` of each call."""
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args[index])
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.mark.slow
def test_parity_images_are_not_calibration_images(tiny_model_path, tmp_path,
                                                  monkeypatch, capsys):
    import json

    import numpy as np
    from PIL import Image

    from keras_scaleattn.export import exporter

    names = ["a.png", "b.png", "c.png", "d.png", "e.png"]
    folder = _image_folder(tmp_path / "images",
                           {name: (33 + 2 * i, 41) for i, name in
                            enumerate(names)})
    quantised = _record_calls(monkeypatch, exporter, "quantize_onnx_int8", 2)
    compared = _record_calls(monkeypatch, exporter, "measure_parity", 2)
    out_dir = tmp_path / "exports"
    assert _export_main([
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "onnx_int8", "--images", str(folder),
        "--parity-images", "2", "--calibration-images", "2"]) == 0
    report = json.loads((out_dir / "parity_report.json").read_text())
    assert report["parity_images"] == [str(folder / n) for n in names[:2]]
    assert report["calibration_images"] == [str(folder / n)
                                            for n in names[2:4]]
    assert report["parity_calibration_overlap"] == []
    assert "disjoint from the 2 int8 calibration images" in (
        capsys.readouterr().out)

    def read(name):
        return np.asarray(Image.open(folder / name).convert("RGB"))

    # What the quantiser and the parity check were really given.
    (calibration,), (parity,) = quantised, compared
    assert [image.shape for image in calibration] == [
        read(n).shape for n in names[2:4]]
    for image, name in zip(calibration, names[2:4]):
        np.testing.assert_array_equal(image, read(name))
    for image, name in zip(parity, names[:2]):
        np.testing.assert_array_equal(image, read(name))


@pytest.mark.slow
def test_too_few_images_for_disjoint_sets_are_reported(tiny_model_path,
                                                        tmp_path, capsys):
    import json

    folder = _image_folder(tmp_path / "images",
                           {"a.png": (33, 41), "b.png": (35, 41)})
    out_dir = tmp_path / "exports"
    assert _export_main([
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "onnx_int8", "--images", str(folder),
        "--parity-images", "2", "--calibration-images", "4"]) == 0
    report = json.loads((out_dir / "parity_report.json").read_text())
    both = [str(folder / "a.png"), str(folder / "b.png")]
    assert report["parity_images"] == both
    assert report["calibration_images"] == both
    assert report["parity_calibration_overlap"] == both
    assert ("warning: 2 of the 2 parity images are also int8 calibration "
            "images") in capsys.readouterr().out
