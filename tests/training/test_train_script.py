"""`training/train.py` end to end: the run's files, TensorBoard, reloading."""

import glob
import os

import pytest
import tensorflow as tf

from keras_scaleattn.training import load_config
from training_helpers import run_python

CONFIG = os.path.join("training", "configs", "synthetic_tiny.yaml")
TINY_OVERRIDES = [
    "data.num_train_examples=8", "data.num_eval_examples=1", "data.crop_size=49",
    "data.batch_size=2", "model.trunk_width=0.0625", "model.attention_filters=8",
    "optimization.steps=2", "optimization.steps_per_epoch=1",
    "runtime.validation_steps=1", "runtime.keep_checkpoints=1", "runtime.verbose=2",
]

_RELOAD = """
import sys
import keras
import numpy as np
import keras_scaleattn.training  # registers CaffeSGD and the schedules
model = keras.models.load_model(sys.argv[1])
outputs = model.predict(np.zeros((1, 41, 41, 3)), verbose=0)
assert all(np.all(np.isfinite(v)) for v in outputs.values())
schedule = model.optimizer.get_config()["learning_rate"]["class_name"]
print(type(model.optimizer).__name__, int(model.optimizer.iterations), schedule)
"""


def _tags(log_dir):
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.mark.slow
def test_train_script_writes_a_complete_run(tmp_path):
    model_dir = tmp_path / "run"
    # The paper's optimizer, whose reload is checked below.
    overrides = TINY_OVERRIDES + [f"runtime.model_dir={model_dir}",
                                  "optimization.optimizer=caffe_sgd"]
    result = run_python(["training/train.py", "--config", CONFIG, *overrides],
                        timeout=480)
    assert result.returncode == 0, result.stderr[-4000:]
    out = result.stdout
    assert out.startswith("Resolved config:\n")
    assert f"model:       {model_dir / 'model.keras'}" in out
    assert "Epoch 2/2" in out

    # The resolved config, as printed, next to the model.
    assert load_config(model_dir / "config.yaml") == load_config(CONFIG, overrides)
    assert sorted(os.listdir(model_dir)) == ["checkpoints", "config.yaml", "logs",
                                             "model.keras"]
    assert os.listdir(model_dir / "checkpoints") == ["epoch-0002.keras"]
    assert {"epoch_loss", "epoch_logits_loss", "epoch_scale_logits_1_loss",
            "epoch_learning_rate"} <= _tags(model_dir / "logs" / "train")
    assert "epoch_loss" in _tags(model_dir / "logs" / "validation")
    assert _tags(model_dir / "logs" / "attention") == {"attention"}

    reload = run_python(["-c", _RELOAD, str(model_dir / "model.keras")], timeout=300)
    assert reload.returncode == 0, reload.stderr[-4000:]
    assert reload.stdout.split() == ["CaffeSGD", "2", "PolyDecay"]


@pytest.mark.parametrize("args, words", [
    (["--config", CONFIG, "optimization.stepz=3"], ["optimization.stepz"]),
    (["--config", "training/configs/nope.yaml"], ["nope.yaml"]),
])
def test_bad_command_lines_exit_with_a_message(args, words):
    result = run_python(["training/train.py", *args], timeout=300)
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_script_under_jax(tmp_path):
    # The fit loop on one device, with the validation losses (compiled with
    # jax.jit), TensorBoard and the attention images; the saved model loads
    # on TensorFlow.
    model_dir = tmp_path / "run"
    result = run_python(["training/train.py", "--config", CONFIG, *TINY_OVERRIDES,
                         f"runtime.model_dir={model_dir}"],
                        timeout=480, KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Epoch 2/2" in result.stdout
    assert "val_loss" in result.stdout
    assert "epoch_loss" in _tags(model_dir / "logs" / "validation")
    assert _tags(model_dir / "logs" / "attention") == {"attention"}
    reload = run_python(["-c", _RELOAD, str(model_dir / "model.keras")], timeout=300)
    assert reload.returncode == 0, reload.stderr[-4000:]
    assert reload.stdout.split()[1] == "2"


@pytest.mark.parametrize("override, key", [
    ("runtime.strategy=multi_worker", "runtime.strategy"),
    ("runtime.training_loop=custom", "runtime.training_loop"),
])
def test_tensorflow_only_settings_are_refused_under_jax(tmp_path, override, key):
    result = run_python(["training/train.py", "--config", CONFIG, "--dry-run",
                         f"runtime.model_dir={tmp_path / 'run'}", override],
                        timeout=300, KERAS_BACKEND="jax")
    assert result.returncode == 2
    assert key in result.stderr and "KERAS_BACKEND='jax'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
