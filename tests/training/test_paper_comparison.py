import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_scaleattn.training.paper_comparison import DEFAULT_VARIANTS
from keras_scaleattn.training.paper_comparison import VARIANTS
from keras_scaleattn.training.paper_comparison import check_seeds
from keras_scaleattn.training.paper_comparison import check_variants
from keras_scaleattn.training.paper_comparison import run_comparison
from keras_scaleattn.training.paper_comparison import run_seeded_comparison
from keras_scaleattn.training.paper_comparison import paired_differences
from keras_scaleattn.training.paper_comparison import paired_markdown
from keras_scaleattn.training.paper_comparison import seeds_markdown
from keras_scaleattn.training.paper_comparison import seeds_summary
from keras_scaleattn.training.paper_comparison import variant_config
from tests.training.training_helpers import REPO
from tests.training.training_helpers import tiny_config


def test_variants_are_the_papers_models(tmp_path):
    config = tiny_config(tmp_path / "base")
    expected = {
        "single": ((1.0,), "attention", False),
        "max": ((1.0, 0.5), "max", False),
        "max_esupv": ((1.0, 0.5), "max", True),
        "average": ((1.0, 0.5), "average", False),
        "average_esupv": ((1.0, 0.5), "average", True),
        "attention": ((1.0, 0.5), "attention", False),
        "attention_esupv": ((1.0, 0.5), "attention", True),
    }
    assert set(VARIANTS) == set(expected)
    # By default the comparison trains all of them, as the paper's tables.
    assert set(DEFAULT_VARIANTS) == set(expected)
    for name, (scales, merge, esupv) in expected.items():
        cfg = variant_config(config, name, tmp_path / "out")
        assert tuple(cfg.model.scales) == scales
        assert cfg.model.extra_supervision is esupv
        if len(scales) > 1:
            assert cfg.model.merge == merge
        assert cfg.runtime.model_dir == str(tmp_path / "out" / name)
        # The recipe is shared.
        assert cfg.optimization == config.optimization
        assert cfg.data == config.data


def test_unknown_variant():
    with pytest.raises(ValueError, match="variants.*'median'"):
        check_variants(["single", "median"])


def test_seeds_summary_mean_min_max():
    results = {
        0: {"single": {"miou": 0.60}, "attention_esupv": {"miou": 0.84}},
        3: {"single": {"miou": 0.58}, "attention_esupv": {"miou": 0.75}},
        4: {"single": {"miou": 0.59}, "attention_esupv": {"miou": 0.83}},
    }
    rows = dict(seeds_summary(results))
    assert list(rows) == ["single scale", "attention + E-Supv"]
    att = rows["attention + E-Supv"]
    assert att["seed 0"] == pytest.approx(84.0)
    assert att["seed 3"] == pytest.approx(75.0)
    assert att["mean"] == pytest.approx((84 + 75 + 83) / 3)
    assert (att["min"], att["max"]) == (pytest.approx(75.0), pytest.approx(84.0))
    table = seeds_markdown(results)
    assert "| seed 0 | seed 3 | seed 4 | mean | min | max |" in table
    assert "| attention + E-Supv | 84.00 | 75.00 | 83.00 | 80.67 | 75.00 | 84.00 |" in table


def test_paired_differences_against_a_hand_computed_t_interval():
    # docs/results.md, the six runs: attention + E-Supv and max + E-Supv.
    att = [84.09, 83.76, 81.21, 79.16, 83.02, 75.52]
    mx = [82.57, 82.60, 80.87, 79.63, 82.95, 81.44]
    results = {seed: {"max_esupv": {"miou": m / 100},
                      "attention_esupv": {"miou": a / 100}}
               for seed, (a, m) in enumerate(zip(att, mx))}
    row = dict(paired_differences(results))["max + E-Supv"]
    diff = [a - m for a, m in zip(att, mx)]
    mean = sum(diff) / 6
    std = (sum((d - mean) ** 2 for d in diff) / 5) ** 0.5
    half = 2.570581836 * std / 6 ** 0.5  # Student's t, 0.975, 5 d.o.f.
    assert row["mean difference"] == pytest.approx(mean)
    assert row["std"] == pytest.approx(std)
    assert row["95% CI low"] == pytest.approx(mean - half)
    assert row["95% CI high"] == pytest.approx(mean + half)
    assert row["seeds better"] == "4/6"
    table = paired_markdown(results)
    assert "| attention + E-Supv minus (mIoU points) | mean difference |" in table
    assert f"| max + E-Supv | {mean:.2f} | {std:.2f} |" in table


def test_paired_differences_one_seed_and_a_missing_reference():
    results = {0: {"single": {"miou": 0.6}, "attention_esupv": {"miou": 0.8}}}
    row = dict(paired_differences(results))["single scale"]
    assert row["mean difference"] == pytest.approx(20.0)
    assert row["std"] is None and row["95% CI low"] is None
    assert row["seeds better"] == "1/1"
    with pytest.raises(ValueError, match="reference.*'average'"):
        paired_differences(results, reference="average")


@pytest.mark.parametrize("seeds", [[], [1, 1], [-1], ["0"], [True]])
def test_bad_seeds(seeds):
    with pytest.raises(ValueError, match="seeds"):
        check_seeds(seeds)


@pytest.mark.parametrize("seeds", ["a,b", "0,0", "-1"])
def test_compare_script_rejects_bad_seeds(tmp_path, seeds):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "training", "compare.py"),
         "--config", os.path.join(REPO, "training", "configs",
                                  "synthetic_tiny.yaml"),
         "--out-dir", str(tmp_path / "out"), "--seeds", seeds],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 2
    assert "seeds" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_seeded_comparison_runs_each_seed_and_summarises(tmp_path):
    config = tiny_config(tmp_path / "base")
    out = tmp_path / "seeded"
    results = run_seeded_comparison(config, out, seeds=(0, 1),
                                    variants=("single", "attention_esupv"),
                                    num_pictures=0,
                                    size_thresholds=(100, 400), verbose=0)
    assert set(results) == {0, 1}
    weights = []
    for seed in (0, 1):
        model_dir = out / f"seed_{seed}" / "single"
        assert f"seed: {seed}" in (model_dir / "config.yaml").read_text()
        model = keras.models.load_model(model_dir / "model.keras")
        weights.append(keras.ops.convert_to_numpy(model.trainable_weights[0]))
    assert not np.allclose(weights[0], weights[1])  # the seeds differ
    summary = json.loads((out / "summary.json").read_text())
    row = summary["single scale"]
    values = [100 * results[s]["single"]["miou"] for s in (0, 1)]
    assert row["seed 0"] == pytest.approx(values[0])
    assert row["mean"] == pytest.approx(sum(values) / 2)
    assert "| single scale |" in (out / "summary.md").read_text()
    paired = json.loads((out / "paired_differences.json").read_text())
    att = [100 * results[s]["attention_esupv"]["miou"] for s in (0, 1)]
    assert paired["single scale"]["mean difference"] == pytest.approx(
        (att[0] - values[0] + att[1] - values[1]) / 2)
    assert "| attention + E-Supv minus (mIoU points) |" in (
        out / "summary.md").read_text()

    # A second run reuses every seed's trained model.
    def refuse(_):
        raise AssertionError("trained again")

    again = run_seeded_comparison(config, out, seeds=(0, 1),
                                  variants=("single", "attention_esupv"),
                                  num_pictures=0,
                                  size_thresholds=(100, 400), train_fn=refuse,
                                  verbose=0)
    assert again[1]["single"]["miou"] == pytest.approx(results[1]["single"]["miou"])


@pytest.mark.slow
def test_trains_evaluates_and_reuses(tmp_path):
    config = tiny_config(tmp_path / "base")
    out = tmp_path / "cmp"
    results = run_comparison(config, out, variants=("single", "attention_esupv"),
                             size_thresholds=(100, 400), num_pictures=1,
                             verbose=0)
    assert set(results) == {"single", "attention_esupv"}
    assert "attention_by_size" in results["attention_esupv"]
    table = (out / "results.md").read_text()
    assert "| single scale |" in table and "| attention + E-Supv |" in table
    # Each scale's own scores, for the E-Supv variant only.
    own = results["attention_esupv"]["scales_by_size"]
    assert set(own["small"]) == {1.0, 0.5}
    assert "scales_by_size" not in results["single"]
    assert "| attention + E-Supv, scale 0.5 |" in table
    assert "single scale, scale" not in table
    # The merge ceilings of the E-Supv variant's own maps.
    ceiling = results["attention_esupv"]["merge_ceiling"]
    assert ceiling["best_mix"]["miou"] >= results["attention_esupv"]["miou"]
    assert "| merge (own maps' ceiling) |" in table
    assert table.count("| attention + E-Supv |") == 2
    stored = json.loads((out / "results.json").read_text())
    assert np.isclose(stored["single"]["miou"], results["single"]["miou"])
    assert (out / "pictures" / "attention_esupv_0.png").exists()
    assert (out / "single" / "model.keras").exists()

    # A second run reuses the trained models instead of training again.
    def refuse(_):
        raise AssertionError("trained again")

    again = run_comparison(config, out, variants=("single", "attention_esupv"),
                           size_thresholds=(100, 400), num_pictures=0,
                           train_fn=refuse, verbose=0)
    assert np.isclose(again["single"]["miou"], results["single"]["miou"])


@pytest.mark.slow
def test_evaluate_script(tmp_path):
    config = tiny_config(tmp_path / "run")
    from keras_scaleattn.training import save_config
    from keras_scaleattn.training import train

    train(config)
    save_config(config, tmp_path / "config.yaml")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "training", "evaluate.py"),
         "--model", str(tmp_path / "run" / "model.keras"),
         "--config", str(tmp_path / "config.yaml"),
         "--json", str(tmp_path / "r.json"), "data.size_thresholds=[100,400]",
         "data.class_names=[bg,hs,vs,wd,cd]"],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mIoU" in result.stdout and "mean attention weight" in result.stdout
    stored = json.loads((tmp_path / "r.json").read_text())
    assert 0.0 <= stored["miou"] <= 1.0
    # The config's class names name the per-class rows.
    assert list(stored["per_class_iou"]) == ["bg", "hs", "vs", "wd", "cd"]
    assert "| hs |" in result.stdout
    # The model has extra supervision: each scale's own scores are reported.
    assert "each scale's own scores" in result.stdout
    assert "accuracy scale 0.5" in result.stdout
    assert "| merge ceiling |" in result.stdout and "| best mix |" in result.stdout
    assert stored["merge_ceiling"]["best_mix"]["miou"] >= stored["miou"]
    for per_scale in stored["scales_by_size"].values():
        for values in per_scale.values():
            # (an empty bucket is NaN, stored as null)
            assert values["accuracy"] is None or 0 <= values["accuracy"] <= 1
    missing = subprocess.run(
        [sys.executable, os.path.join(REPO, "training", "evaluate.py"),
         "--model", str(tmp_path / "nope.keras"),
         "--config", str(tmp_path / "config.yaml")],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert missing.returncode == 2 and "nope.keras" in missing.stderr


@pytest.mark.slow
def test_evaluate_script_checks_before_evaluating(tmp_path):
    from keras_scaleattn import ScaleAttentionSegmenter
    from keras_scaleattn.training import save_config

    config = tiny_config(tmp_path / "run")  # synthetic: 5 classes
    save_config(config, tmp_path / "config.yaml")
    three = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8)
    three.save(tmp_path / "three.keras")
    five = ScaleAttentionSegmenter(num_classes=5, scales=(1.0, 0.5),
                                   trunk_width=0.0625, attention_filters=8)
    five.save(tmp_path / "five.keras")

    def evaluate(model, *extra):
        return subprocess.run(
            [sys.executable, os.path.join(REPO, "training", "evaluate.py"),
             "--model", str(tmp_path / model),
             "--config", str(tmp_path / "config.yaml"), *extra],
            capture_output=True, text=True, timeout=300, cwd=REPO)

    wrong = evaluate("three.keras")
    assert wrong.returncode == 2, wrong.stderr[-2000:]
    assert ("predicts 3 classes but the config's data.num_classes is 5"
            in wrong.stderr)
    for flag in ("--json", "--markdown"):
        result = evaluate("five.keras", flag, str(tmp_path / "no" / "r.out"))
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"error: {flag}: the folder of" in result.stderr
        assert "mIoU" not in result.stdout  # refused before evaluating
