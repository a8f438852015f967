"""A run killed after 2 of 4 epochs resumes at epoch 3 and ends identical
(TensorFlow and JAX: `make test` runs this file under both)."""

import json
import os

import keras
import numpy as np
import pytest

from keras_scaleattn.training import train
from training_helpers import KillAtEpoch
from training_helpers import SimulatedKill
from training_helpers import tiny_config


def _config(model_dir, loop):
    # Dropout on: its RNG state must be restored too. Two accumulated
    # batches per update: the skipped data counts micro-batches.
    return tiny_config(
        model_dir,
        model={"dropout": 0.5},
        optimization={"steps": 4, "steps_per_epoch": 1,
                      "gradient_accumulation_steps": 2},
        runtime={"training_loop": loop, "checkpoint_every_epochs": 1,
                 "keep_checkpoints": 2},
    )


@pytest.mark.parametrize("loop", ["fit", pytest.param("custom", marks=[
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                       reason="the custom loop is tf.distribute code")])])
def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path, loop):
    killed_dir = tmp_path / "killed"
    config = _config(killed_dir, loop)
    with pytest.raises(SimulatedKill):
        train(config, callbacks=[KillAtEpoch(2)])
    with open(killed_dir / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 2
    assert sorted(os.listdir(killed_dir / "checkpoints")) == [
        "epoch-0001.keras", "epoch-0002.keras"]
    assert not (killed_dir / "model.keras").exists()

    keras.utils.clear_session()
    resumed = train(config)  # the same command again
    assert resumed.initial_epoch == 2
    assert len(resumed.history["loss"]) == 2  # epochs 3 and 4 only
    assert (killed_dir / "model.keras").exists()
    assert not (killed_dir / "backup").exists()
    assert sorted(os.listdir(killed_dir / "checkpoints")) == [
        "epoch-0003.keras", "epoch-0004.keras"]

    keras.utils.clear_session()
    whole = train(_config(tmp_path / "whole", loop))
    assert whole.initial_epoch == 0 and len(whole.history["loss"]) == 4
    # Same data in epochs 3-4 (same losses), same final weights: exact on
    # CPU (deterministic tf.data and kernels, restored dropout RNG state),
    # under JAX as under TensorFlow.
    np.testing.assert_array_equal(resumed.history["loss"], whole.history["loss"][2:])
    for a, b in zip(resumed.model.get_weights(), whole.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.model.optimizer.iterations) == 4


def test_a_finished_run_is_not_trained_again(tmp_path):
    config = tiny_config(tmp_path, optimization={"steps": 1})
    train(config)
    keras.utils.clear_session()
    with pytest.raises(FileExistsError, match="runtime.model_dir"):
        train(config)
