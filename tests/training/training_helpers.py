"""Helpers for the training tests: tiny configs and subprocess plumbing."""

import copy
import os
import socket
import subprocess
import sys

import keras

from keras_scaleattn.training import config_from_dict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A model and data small enough for 2 shared CPU cores: 1/16 trunk, 49 px
# crops of 97 px synthetic images, batches of 4, no dropout (determinism
# across strategies: replicas would draw different dropout masks).
TINY = {
    "data": {"dataset": "synthetic", "num_classes": 5, "image_size": 97,
             "num_train_examples": 8, "num_eval_examples": 2,
             "crop_size": 49, "batch_size": 4, "shuffle_buffer": 8},
    "model": {"scales": [1.0, 0.5], "trunk_width": 0.0625,
              "attention_filters": 8, "dropout": 0.0},
    "optimization": {"steps": 4, "steps_per_epoch": 1, "base_lr": 1e-3,
                     "gradient_accumulation_steps": 1},
    "runtime": {"model_dir": "unset", "strategy": "default",
                "tensorboard": False, "checkpoint_every_epochs": 0,
                "attention_image_every_epochs": 0, "verbose": 0},
}


# Bad per-layer rate arguments, and the name each error must give, for every
# optimizer built on `LayerLearningRates` (CaffeSGD, LayerwiseAdam).
BAD_LAYER_RATE_ARGUMENTS = [
    (dict(head_lr_multiplier=0.0), "head_lr_multiplier"),
    (dict(bias_lr_multiplier="2"), "bias_lr_multiplier"),
    (dict(head_layers="fc8"), "head_layers"),
]


def tiny_values(model_dir, **sections):
    """TINY with `model_dir` set and `sections` (dicts) merged in."""
    values = copy.deepcopy(TINY)
    values["runtime"]["model_dir"] = str(model_dir)
    for section, updates in sections.items():
        values[section].update(updates)
    return values


def tiny_config(model_dir, **sections):
    """A validated `ExperimentConfig` of TINY (see `tiny_values`)."""
    return config_from_dict(tiny_values(model_dir, **sections))


def free_port():
    """A TCP port on localhost that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def subprocess_env(**extra):
    """The environment of a child Python: repo on the path, quiet TF."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def run_python(args, timeout, **env):
    """Runs `python args...` in the repo, returns the CompletedProcess."""
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=subprocess_env(**env))


class SimulatedKill(Exception):
    pass


class KillAtEpoch(keras.callbacks.Callback):
    """Raises when epoch `epoch` (0-based) begins: a process killed there."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise SimulatedKill(f"killed at epoch {epoch}")
