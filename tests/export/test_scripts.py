"""The deploy/ scripts: thin command lines over the tested library."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.export.export_helpers import ROOT
from tests.export.export_helpers import assert_no_temporaries
from tests.export.export_helpers import identity_onnx_file
from tests.export.export_helpers import load_script

SCRIPTS = ("export", "build_engine", "predict", "benchmark")


@pytest.mark.parametrize("name", SCRIPTS)
def test_docstring_starts_with_a_command(name):
    doc = load_script(name).__doc__
    command = doc.split("\n\n")[1].strip()
    assert command.startswith(f"python deploy/{name}.py ")


@pytest.mark.slow
def test_export_script_writes_artifacts_and_report(tiny_model_path, tmp_path,
                                                   capsys):
    out_dir = tmp_path / "exports"
    code = load_script("export").main([
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "onnx,tflite_int8", "--fixed-size", "41x49",
        "--parity-images", "1", "--synthetic-size", "97",
        "--calibration-images", "4"])
    assert code == 0
    assert sorted(os.listdir(out_dir)) == [
        "model.onnx", "model_41x49_int8.tflite", "model_int8.tflite",
        "parity_report.json"]
    report = json.loads((out_dir / "parity_report.json").read_text())
    assert report["passed"] is True
    rows = {row["name"]: row for row in report["artifacts"]}
    assert rows["model.onnx"]["max_probability_delta"] < 1e-4
    assert rows["model_41x49_int8.tflite"]["image_size"] == [41, 49]
    graph = report["graphs"]["model.onnx"]
    assert len(graph["dilated_convs"]) == 8
    assert report["graphs"]["model_41x49_int8.tflite"]["operators"].get(
        "SPACE_TO_BATCH_ND", 0) == 0
    printed = capsys.readouterr().out
    assert "| model.onnx | float32 | any |" in printed
    assert_no_temporaries(out_dir)


@pytest.mark.parametrize("text, size", [("513", 513), ("385x513", (385, 513)),
                                        ("41X49", (41, 49))])
def test_fixed_size_is_a_side_or_height_x_width(text, size):
    assert load_script("export").parse_args(
        ["--model", "m.keras", "--out-dir", "o", "--fixed-size", text]
    ).fixed_size == size


@pytest.mark.parametrize("text", ["0", "41x", "x49", "41x49x3", "-5", "a"])
def test_bad_fixed_size_is_an_argparse_error(text, capsys):
    with pytest.raises(SystemExit) as info:
        load_script("export").parse_args(
            ["--model", "m.keras", "--out-dir", "o", "--fixed-size", text])
    assert info.value.code == 2
    assert "--fixed-size: must be a side (513) or HEIGHTxWIDTH" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_script_writes_masks(exports, tmp_path, rng):
    images_dir = tmp_path / "photos"
    images_dir.mkdir()
    images = {}
    for name, shape in (("a", (40, 50, 3)), ("b", (33, 33, 3))):
        images[name] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        Image.fromarray(images[name]).save(images_dir / f"{name}.png")
    out_dir = tmp_path / "out"
    assert load_script("predict").main([
        "--model", exports["onnx"], "--images", str(images_dir),
        "--out-dir", str(out_dir)]) == 0
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    runtime = SegmentationRuntime(exports["onnx"])
    for name, image in images.items():
        mask = np.array(Image.open(out_dir / f"{name}_mask.png"))
        np.testing.assert_array_equal(mask, runtime(image)["class_map"])
        assert (out_dir / f"{name}_overlay.png").exists()


@pytest.mark.slow
def test_predict_names_the_image_that_does_not_fit(exports, tmp_path, capsys):
    from keras_scaleattn.cli import run_script

    images_dir = tmp_path / "photos"
    images_dir.mkdir()
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(
        images_dir / "big.png")
    assert run_script(load_script("predict").main, [
        "--model", exports["tflite_fixed"], "--images", str(images_dir),
        "--out-dir", str(tmp_path / "out"), "--fit", "exact"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {images_dir / 'big.png'}: `images` must be 41x41 ")
    # The hint names the flag, as typed: not fit='letterbox'.
    assert err.endswith(
        "(--fit='letterbox' resizes and pads them to fit)\n")


def test_build_engine_prints_trtexec_for_both_versions(tmp_path, capsys):
    onnx_path = identity_onnx_file(tmp_path / "model.onnx",
                                   json.dumps({"min_input_size": 49}))
    script = load_script("build_engine")
    assert script.main(["--onnx", str(onnx_path), "--precision", "float16",
                        "--max-batch", "2", "--print-trtexec",
                        "--trt-version", "11"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"# TensorRT 11, float16 (needs {tmp_path}/model_fp16.onnx)"
    assert out[1] == (
        f"trtexec --onnx={tmp_path}/model_fp16.onnx "
        f"--saveEngine={tmp_path}/model_fp16.plan "
        "--minShapes=images:1x49x49x3 --optShapes=images:1x513x513x3 "
        "--maxShapes=images:2x1025x1025x3 --memPoolSize=workspace:4096M")
    with pytest.raises(ValueError, match="min_input_size \\(49\\)"):
        script.main(["--onnx", str(onnx_path), "--min-size", "33",
                     "--print-trtexec"])


@pytest.mark.slow
def test_benchmark_script_writes_json(exports, tiny_model_path, tmp_path,
                                      capsys):
    import shutil

    export_dir = tmp_path / "exports"
    export_dir.mkdir()
    shutil.copy(exports["onnx"], export_dir)
    json_path = tmp_path / "bench.json"
    assert load_script("benchmark").main([
        "--model", tiny_model_path, "--export-dir", str(export_dir),
        "--size", "41", "--repeats", "2", "--json", str(json_path)]) == 0
    report = json.loads(json_path.read_text())
    assert set(report["results"]) == {"keras:eager", "keras:compiled",
                                      "onnxruntime:model.onnx"}
    assert "| keras:compiled |" in capsys.readouterr().out


def test_docs_mention_every_script():
    text = (ROOT / "docs" / "deployment.md").read_text()
    for name in SCRIPTS:
        assert f"deploy/{name}.py" in text
