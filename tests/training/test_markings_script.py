"""`training/markings.py`: accuracy and attention on the synthetic markings."""

import json
import os

import numpy as np

from keras_scaleattn.data import SYNTHETIC_NUM_CLASSES
from keras_scaleattn.data import SYNTHETIC_REGION_NAMES
from keras_scaleattn.data import synthetic_region_maps
from keras_scaleattn.data import synthetic_scale_arrays
from keras_scaleattn.evaluation import AccuracyByRegion
from keras_scaleattn.inference import predict_full_resolution
from keras_scaleattn.models import ScaleAttentionSegmenter
from training_helpers import run_python

CONFIG = os.path.join("training", "configs", "synthetic_markings.yaml")
TINY = dict(trunk_width=0.0625, attention_filters=8, dropout=0.0)
OVERRIDES = ["data.num_eval_examples=3", "data.image_size=97"]


def test_markings_script_reports_every_trained_variant(tmp_path):
    runs = tmp_path / "runs"
    models = {
        "single": ScaleAttentionSegmenter(SYNTHETIC_NUM_CLASSES, scales=(1.0,), **TINY),
        "attention_esupv": ScaleAttentionSegmenter(
            SYNTHETIC_NUM_CLASSES, scales=(1.0, 0.5), merge="attention",
            extra_supervision=True, **TINY),
    }
    for name, model in models.items():
        os.makedirs(runs / name)
        model.save(runs / name / "model.keras")
    result = run_python(["training/markings.py", "--config", CONFIG,
                         "--runs", str(runs), *OVERRIDES], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| single scale |" in result.stdout
    assert "| attention + E-Supv |" in result.stdout
    assert "weight of scale 1.0" in result.stdout
    assert (runs / "markings.md").read_text() in result.stdout
    with open(runs / "markings.json") as f:
        saved = json.load(f)
    assert sorted(saved) == ["attention_esupv", "single"]

    # The same numbers from the models' full-resolution predictions.
    images, labels = synthetic_scale_arrays("val", 3, 97, seed=0, markings=True)
    regions = synthetic_region_maps("val", 3, 97, seed=0, markings=True)
    for name, model in models.items():
        stats = AccuracyByRegion(SYNTHETIC_REGION_NAMES)
        predictions = predict_full_resolution(model, images.astype(np.float32))
        stats.update(regions, labels, predictions["class_map"])
        for region, expected in stats.result().items():
            assert saved[name][region]["pixels"] == expected["pixels"]
            if expected["pixels"]:
                assert abs(saved[name][region]["accuracy"] - expected["accuracy"]) < 1e-6
    assert saved["single"]["decoy"]["pixels"] > 0
    weights = saved["attention_esupv"]["decoy"]["attention"]
    assert sorted(weights) == ["0.5", "1.0"]
    assert abs(sum(weights.values()) - 1.0) < 1e-4


def test_markings_script_needs_the_synthetic_dataset_and_trained_runs(tmp_path):
    result = run_python(["training/markings.py", "--config", CONFIG,
                         "--runs", str(tmp_path)], timeout=120)
    assert result.returncode == 2
    assert "--runs" in result.stderr and "model.keras" in result.stderr
    result = run_python(["training/markings.py", "--config", CONFIG,
                         "--runs", str(tmp_path), "data.dataset=voc2012",
                         "data.data_dir=/nowhere", "data.num_classes=21"], timeout=120)
    assert result.returncode == 2
    assert "data.dataset" in result.stderr and "voc2012" in result.stderr
