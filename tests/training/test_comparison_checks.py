"""The comparison reuses only models of its own recipe and refuses empty ones.

Reusing a variant's folder trained with another config would put another
model in the table under the variant's name; multi-scale variants of a
single-scale config would be the same model under seven names.
"""

import os

import keras
import pytest

from keras_scaleattn.training import save_config
from keras_scaleattn.training import train
from keras_scaleattn.training.paper_comparison import DEFAULT_VARIANTS
from keras_scaleattn.training.paper_comparison import VARIANTS
from keras_scaleattn.training.paper_comparison import check_variant_scales
from keras_scaleattn.training.paper_comparison import run_comparison
from keras_scaleattn.training.paper_comparison import run_seeded_comparison
from keras_scaleattn.training.paper_comparison import variant_config
from training_helpers import run_python
from training_helpers import tiny_config

MULTI_SCALE = [v for v in DEFAULT_VARIANTS if v != "single"]


def _refuse(_):
    raise AssertionError("trained")


def _quick(model_dir, **sections):
    sections["optimization"] = {"steps": 1, **sections.get("optimization", {})}
    return tiny_config(model_dir, **sections)


@pytest.mark.parametrize("compare", ["once", "seeded"])
def test_single_scale_config_refuses_the_multi_scale_variants(tmp_path, compare):
    config = _quick(tmp_path / "base", model={"scales": [1.0]})
    out = tmp_path / "out"
    with pytest.raises(ValueError) as info:
        if compare == "once":
            run_comparison(config, out, train_fn=_refuse, verbose=0)
        else:
            run_seeded_comparison(config, out, seeds=(0, 1), train_fn=_refuse,
                                  verbose=0)
    message = str(info.value)
    assert "model.scales=[1.0]" in message
    assert str(MULTI_SCALE) in message
    assert not out.exists()
    check_variant_scales(config, ["single"])  # the single variant alone is fine


def test_compare_script_refuses_a_single_scale_experiment(tmp_path):
    result = run_python(
        ["training/compare.py", "--config",
         os.path.join("training", "configs", "voc2012_single.yaml"),
         "--out-dir", str(tmp_path / "out"), "--variants", "single,max,attention"],
        timeout=300)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "model.scales=[1.0]" in errors[0] and "['max', 'attention']" in errors[0]
    assert not (tmp_path / "out").exists()


def test_per_scale_loss_weights_are_reset_without_extra_supervision(tmp_path):
    config = _quick(tmp_path / "base",
                    optimization={"scale_loss_weights": [0.5, 2.0]})
    for variant in VARIANTS:
        cfg = variant_config(config, variant, tmp_path / "out")
        if cfg.model.extra_supervision:
            assert cfg.optimization.scale_loss_weights == [0.5, 2.0]
            assert cfg.model.scales == [1.0, 0.5]
        else:
            assert cfg.optimization.scale_loss_weights is None
        assert cfg.optimization.base_lr == config.optimization.base_lr
    assert variant_config(config, "single", tmp_path / "out").model.scales == [1.0]


def test_variants_of_another_recipe_are_not_reused(tmp_path):
    out = tmp_path / "out"
    # max/ holds a finished single-scale model (trained with scales [1.0]).
    train(_quick(out / "max", model={"scales": [1.0], "merge": "max",
                                     "extra_supervision": False}))
    # average/ holds an unfinished run of another learning rate.
    config = _quick(tmp_path / "base")
    other = variant_config(_quick(tmp_path / "base",
                                  optimization={"base_lr": 0.01}),
                           "average", out)
    os.makedirs(out / "average" / "backup")
    save_config(other, out / "average" / "config.yaml")
    keras.utils.clear_session()
    with pytest.raises(ValueError) as info:
        run_comparison(config, out, variants=("max", "average", "attention"),
                       train_fn=_refuse, num_pictures=0, verbose=0)
    message = str(info.value)
    assert f"max ({out / 'max'}): model.scales: [1.0] -> [1.0, 0.5]" in message
    assert (f"average ({out / 'average'}): optimization.base_lr: 0.01 -> 0.001"
            in message)
    assert "attention (" not in message  # nothing there yet
    assert "--out-dir" in message and "delete" in message
    assert not (out / "results.md").exists()

    # A model without the config it was trained with cannot be checked.
    os.makedirs(out / "single")
    (out / "single" / "model.keras").write_bytes(b"")
    with pytest.raises(ValueError, match="config.yaml"):
        run_comparison(config, out, variants=("single",), train_fn=_refuse,
                       num_pictures=0, verbose=0)


def test_a_variant_is_reused_when_only_weight_neutral_keys_changed(tmp_path):
    out = tmp_path / "out"
    config = _quick(tmp_path / "base")
    trained = train(variant_config(config, "single", out))
    keras.utils.clear_session()
    evaluated = _quick(tmp_path / "base",
                       data={"class_names": ["bg", "a", "b", "c", "d"]},
                       runtime={"verbose": 1, "validation_steps": 2})
    results = run_comparison(evaluated, out, variants=("single",),
                             train_fn=_refuse, num_pictures=0,
                             size_thresholds=(100, 400), verbose=0)
    assert list(results["single"]["per_class_iou"]) == ["bg", "a", "b", "c", "d"]
    assert trained.paths.model == str(out / "single" / "model.keras")


def test_compare_script_refuses_a_negative_number_of_pictures(tmp_path):
    result = run_python(
        ["training/compare.py", "--config",
         os.path.join("training", "configs", "synthetic_tiny.yaml"),
         "--out-dir", str(tmp_path / "out"), "--pictures", "-1"], timeout=300)
    assert result.returncode == 2
    assert "--pictures must be >= 0. Received: -1" in result.stderr
    assert not (tmp_path / "out").exists()
