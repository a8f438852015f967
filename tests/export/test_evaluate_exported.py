"""mIoU of exported models: `evaluate_segmenter` and `evaluate.py` on artifacts.

The reference is the Keras model evaluated on the same batches: a float32
export computes the same full-resolution outputs, so it must get the same
figures (to the export's precision).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.evaluation import evaluate_segmenter
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from tests.export.export_helpers import ROOT
from tests.export.export_helpers import write_glob_experiment

THRESHOLDS = (100, 400)


def _batches(test_images, seed=0):
    """One image per batch (sizes differ); labels in [0, 3) and some 255."""
    rng = np.random.default_rng(seed)
    batches = []
    for image in test_images:
        label = rng.integers(0, 3, size=image.shape[:2]).astype(np.uint8)
        label[:2] = 255
        batches.append((image[None].astype(np.float32), label[None]))
    return batches


@pytest.mark.slow
@pytest.mark.parametrize("flip", [False, True])
def test_float32_onnx_gets_the_keras_figures(exports, tiny_model, test_images,
                                             flip):
    batches = _batches(test_images)
    expected = evaluate_segmenter(tiny_model, batches, 3, flip=flip,
                                  size_thresholds=THRESHOLDS, verbose=0)
    got = evaluate_segmenter(SegmentationRuntime(exports["onnx"]), batches, 3,
                             flip=flip, size_thresholds=THRESHOLDS, verbose=0)
    assert got["num_images"] == expected["num_images"] == len(test_images)
    assert got["miou"] == pytest.approx(expected["miou"], abs=1e-4)
    assert got["pixel_accuracy"] == pytest.approx(expected["pixel_accuracy"],
                                                  abs=1e-4)
    for bucket, weights in expected["attention_by_size"].items():
        for scale, weight in weights.items():
            if weight is None or np.isnan(weight):
                continue
            assert got["attention_by_size"][bucket][scale] == pytest.approx(
                weight, abs=1e-4)
    # Each scale's own scores are not exported.
    assert "scales_by_size" in expected and "scales_by_size" not in got


@pytest.mark.slow
def test_fixed_size_tflite_is_evaluated_letterboxed(exports, test_images):
    batches = _batches(test_images, seed=1)
    runtime = SegmentationRuntime(exports["tflite_fixed"], fit="letterbox")
    results = evaluate_segmenter(runtime, batches, 3,
                                 size_thresholds=THRESHOLDS, verbose=0)
    # The figures are those of the letterboxed class maps, image by image.
    matrix = np.zeros((3, 3), np.int64)
    for images, labels in batches:
        class_map = runtime(images)["class_map"]
        keep = labels != 255
        np.add.at(matrix, (labels[keep], class_map[keep]), 1)
    iou = np.diag(matrix) / (matrix.sum(0) + matrix.sum(1) - np.diag(matrix))
    assert results["miou"] == pytest.approx(np.nanmean(iou), abs=1e-6)
    assert set(results["attention_by_size"]["small"]) == {1.0, 0.5}


@pytest.mark.slow
def test_evaluate_script_takes_an_exported_model(exports, tiny_model_path,
                                                 tmp_path):
    rng = np.random.default_rng(2)
    pairs = [(rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
              rng.integers(0, 3, (height, width), dtype=np.uint8))
             for height, width in [(40, 50), (45, 45)]]
    config_path = write_glob_experiment(tmp_path, pairs, THRESHOLDS)
    figures = {}
    for name, path in (("keras", tiny_model_path), ("onnx", exports["onnx"])):
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "training", "evaluate.py"),
             "--model", path, "--config", str(config_path),
             "--json", str(tmp_path / f"{name}.json")],
            capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
        figures[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert "Evaluating the exported onnx model (float32 precision)" in result.stdout
    assert figures["onnx"]["miou"] == pytest.approx(figures["keras"]["miou"],
                                                    abs=1e-4)
