"""Class names in the metadata of every artifact (and none in old ones)."""

import json
import os

import numpy as np
import onnx
import pytest

from tests.export.export_helpers import ROOT
from tests.export.export_helpers import load_script

NAMES = ["background", "red", "blue"]


def _metadata_by_file(path):
    """Export metadata read with each format's own tools."""
    if os.path.isdir(path):
        with open(os.path.join(path, "assets.extra",
                               "keras_scaleattn.json")) as f:
            return json.load(f)
    if path.endswith(".onnx"):
        props = {p.key: p.value for p in onnx.load(path).metadata_props}
        return json.loads(props["keras_scaleattn"])
    from ai_edge_litert import schema_py_generated as schema

    data = open(path, "rb").read()
    model = schema.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        if model.Metadata(i).Name() == b"keras_scaleattn":
            buffer = model.Buffers(model.Metadata(i).Buffer())
            return json.loads(buffer.DataAsNumpy().tobytes())
    raise AssertionError(f"no metadata in {path}")


def test_check_class_names():
    from keras_scaleattn.export.serving import check_class_names

    assert check_class_names(None, 3) is None
    assert check_class_names(tuple(NAMES), 3) == NAMES
    for bad in (NAMES[:2], ["a", "a", "b"], ["a", "", "b"], "abc",
                ["a", "b", 3]):
        with pytest.raises(ValueError, match=r"`class_names` must be None "
                                             r"or 3 distinct"):
            check_class_names(bad, 3)


@pytest.mark.slow
def test_every_artifact_holds_the_class_names(tiny_model, calibration_images,
                                              tmp_path):
    from keras_scaleattn.export.exporter import FORMATS
    from keras_scaleattn.export.exporter import export_artifacts
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    artifacts = export_artifacts(
        tiny_model, tmp_path, FORMATS, fixed_size=41,
        representative_images=calibration_images, class_names=NAMES)
    assert len(artifacts) == 10
    for artifact in artifacts:
        metadata = _metadata_by_file(artifact["path"])
        assert metadata["class_names"] == NAMES, artifact["name"]
        assert metadata["precision"] == artifact["precision"]
        runtime = SegmentationRuntime(artifact["path"])
        assert runtime.metadata["class_names"] == NAMES


def test_wrong_class_names_fail_before_anything_is_written(
        tiny_model_path, tmp_path, capsys):
    from keras_scaleattn.cli import run_script

    out_dir = tmp_path / "exports"
    code = run_script(load_script("export").main, [
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "onnx", "--parity-images", "0",
        "--class-names", "background,red"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: `--class-names` must be None or 3 distinct, non-empty str "
        "(one per class of the model). Received: "
        "--class-names=['background', 'red']")
    assert not out_dir.exists()


CONFIG = """\
data:
  dataset: glob
  num_classes: 3
  class_names: [background, red, blue]
  train_source_kwargs: {image_glob: t/*.jpg, mask_glob: t/*.png}
  eval_source_kwargs: {image_glob: v/*.jpg, mask_glob: v/*.png}
"""


@pytest.mark.slow
def test_script_takes_class_names_from_a_training_config(tiny_model_path,
                                                         tmp_path, capsys):
    script = load_script("export")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    out_dir = tmp_path / "exports"
    assert script.main([
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "saved_model,onnx", "--parity-images", "1",
        "--synthetic-size", "97", "--config", str(config_path)]) == 0
    assert _metadata_by_file(str(out_dir / "model.onnx"))[
        "class_names"] == NAMES
    assert _metadata_by_file(str(out_dir / "saved_model"))[
        "class_names"] == NAMES
    report = json.loads((out_dir / "parity_report.json").read_text())
    assert report["class_names"] == NAMES

    # A config without names (one's own classes): none stored, and said.
    config_path.write_text(CONFIG.replace(
        "  class_names: [background, red, blue]\n", ""))
    capsys.readouterr()
    assert script.main([
        "--model", tiny_model_path, "--out-dir", str(out_dir),
        "--formats", "onnx", "--parity-images", "0",
        "--config", str(config_path)]) == 0
    assert "names no classes" in capsys.readouterr().out
    assert _metadata_by_file(str(out_dir / "model.onnx"))[
        "class_names"] is None

    # The synthetic dataset's 5 names do not fit the 3-class model.
    synthetic = ROOT / "training" / "configs" / "synthetic_tiny.yaml"
    with pytest.raises(ValueError, match="`--config's data.class_names` must "
                                         "be None or 3 distinct.*h_stripes"):
        script.main([
            "--model", tiny_model_path, "--out-dir", str(tmp_path / "o"),
            "--formats", "onnx", "--parity-images", "0",
            "--config", str(synthetic)])
    assert not (tmp_path / "o").exists()


def test_an_artifact_without_class_names_still_runs(exports, tmp_path):
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    # As written before class names were stored: no "class_names" key.
    model = onnx.load(exports["onnx"])
    for prop in model.metadata_props:
        if prop.key == "keras_scaleattn":
            metadata = json.loads(prop.value)
            metadata.pop("class_names", None)
            prop.value = json.dumps(metadata)
    old = tmp_path / "old.onnx"
    onnx.save(model, old)
    runtime = SegmentationRuntime(old)
    assert "class_names" not in runtime.metadata
    out = runtime(np.zeros((33, 41, 3), np.uint8))
    assert out["class_map"].shape == (33, 41)
