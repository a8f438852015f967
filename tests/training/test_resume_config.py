"""Resuming refuses a config that would train the rest of the run differently."""

import os
import shutil

import keras
import numpy as np
import pytest

from keras_scaleattn.training import train
from keras_scaleattn.training.trainer import WEIGHT_NEUTRAL_KEYS
from keras_scaleattn.training.trainer import config_differences
from training_helpers import TINY
from training_helpers import run_python
from training_helpers import KillAtEpoch
from training_helpers import SimulatedKill
from training_helpers import tiny_config

EPOCHS = 2


def _config(model_dir, **sections):
    sections.setdefault("optimization", {})
    sections["optimization"] = {"steps": EPOCHS, "steps_per_epoch": 1,
                                **sections["optimization"]}
    return tiny_config(model_dir, **sections)


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """A run of `_config` killed after its first epoch (a backup of epoch 1)."""
    model_dir = tmp_path_factory.mktemp("killed") / "run"
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    with pytest.raises(SimulatedKill):
        train(_config(model_dir), callbacks=[KillAtEpoch(1)])
    assert os.path.isdir(model_dir / "backup")
    return model_dir


def _copy_run(killed_run, tmp_path):
    model_dir = tmp_path / "run"
    shutil.copytree(killed_run, model_dir)
    return model_dir


def _snapshot(model_dir):
    files = {}
    for root, _, names in os.walk(model_dir):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, model_dir)] = f.read()
    return files


@pytest.mark.parametrize("changes, expected", [
    ({"data": {"batch_size": 2}, "optimization": {"base_lr": 0.01}},
     ["data.batch_size: 4 -> 2", "optimization.base_lr: 0.001 -> 0.01"]),
    ({"model": {"scales": [0.5, 1.0]}},
     ["model.scales: [1.0, 0.5] -> [0.5, 1.0]"]),
    # Other shapes: Keras alone would only say that objects were not loaded.
    ({"model": {"trunk_width": 0.125}}, ["model.trunk_width: 0.0625 -> 0.125"]),
    ({"runtime": {"seed": 3}}, ["runtime.seed: 0 -> 3"]),
])
def test_resuming_with_another_recipe_is_refused(killed_run, tmp_path, changes,
                                                 expected):
    model_dir = _copy_run(killed_run, tmp_path)
    before = _snapshot(model_dir)
    with pytest.raises(ValueError) as info:
        train(_config(model_dir, **changes))
    message = str(info.value)
    for difference in expected:
        assert difference in message
    assert "runtime.model_dir" in message and str(model_dir) in message
    assert message.count(" -> ") == len(expected)  # nothing else differs
    # Nothing was written: the interrupted run can still be resumed.
    assert _snapshot(model_dir) == before


def test_train_script_refuses_in_one_line(killed_run, tmp_path):
    model_dir = _copy_run(killed_run, tmp_path)
    before = _snapshot(model_dir)
    experiment = tmp_path / "experiment.yaml"
    shutil.copy(model_dir / "config.yaml", experiment)
    result = run_python(
        ["training/train.py", "--config", str(experiment),
         f"runtime.model_dir={model_dir}", "model.scales=[0.5,1.0]"],
        timeout=300)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "model.scales: [1.0, 0.5] -> [0.5, 1.0]" in errors[0]
    assert _snapshot(model_dir) == before


def test_a_backup_without_its_config_is_refused(killed_run, tmp_path):
    model_dir = _copy_run(killed_run, tmp_path)
    os.remove(model_dir / "config.yaml")
    with pytest.raises(ValueError, match="config.yaml"):
        train(_config(model_dir))
    assert not (model_dir / "config.yaml").exists()


def test_resuming_with_only_weight_neutral_changes_matches_the_original_run(
        killed_run, tmp_path):
    # Everything WEIGHT_NEUTRAL_KEYS allows to change, changed.
    neutral = {
        "data": {"eval_split": "test", "num_eval_examples": 1,
                 "eval_source_kwargs": {"markings": False},
                 "class_names": ["bg", "a", "b", "c", "d"],
                 "size_thresholds": [100, 400], "background_class": None},
        "runtime": {"checkpoint_every_epochs": 1, "keep_checkpoints": 1,
                    "tensorboard": True, "attention_image_every_epochs": 1,
                    "validation_steps": 1, "verbose": 2},
    }
    changed_keys = {f"{section}.{key}" for section, values in neutral.items()
                    for key in values}
    assert changed_keys | {"runtime.model_dir"} == set(WEIGHT_NEUTRAL_KEYS)
    model_dir = _copy_run(killed_run, tmp_path)
    resumed = train(_config(model_dir, **neutral))
    assert resumed.initial_epoch == 1
    # The new values are the run's config now.
    assert "verbose: 2" in (model_dir / "config.yaml").read_text()
    assert os.listdir(model_dir / "checkpoints") == ["epoch-0002.keras"]

    keras.utils.clear_session()
    whole = train(_config(tmp_path / "whole"))
    for a, b in zip(resumed.model.get_weights(), whole.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_config_differences_leave_out_what_cannot_change_the_weights(tmp_path):
    base = _config(tmp_path / "a")
    assert base.model.extra_supervision
    assert config_differences(base, base) == []
    other = _config(tmp_path / "b", runtime={"verbose": 2, "validation_steps": 3},
                    data={"size_thresholds": [10, 20], "crop_size": 33},
                    model={"merge": "max"})
    assert config_differences(base, other) == [
        ("data.crop_size", TINY["data"]["crop_size"], 33),
        ("model.merge", "attention", "max"),
    ]
    # Per-scale loss weights weigh nothing without extra supervision.
    plain = _config(tmp_path / "c", model={"extra_supervision": False})
    weighted = _config(tmp_path / "c", model={"extra_supervision": False},
                       optimization={"scale_loss_weights": [0.5, 2.0]})
    assert config_differences(plain, weighted) == []
    esupv = _config(tmp_path / "c", optimization={"scale_loss_weights": [0.5, 2.0]})
    assert config_differences(base, esupv) == [
        ("optimization.scale_loss_weights", None, [0.5, 2.0])]
