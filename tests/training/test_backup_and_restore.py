"""The resume backup is consistent whenever the run is killed, even mid-write.

A kill between writing the backup's weights and its epoch must not resume
with the weights of one epoch and the epoch count of another, and a damaged
backup file must fall back to the previous backup or fail naming the file.
The reference of every resumed run is an uninterrupted run of the same
config: on CPU both end with bit-identical weights.
"""

import json
import os

import keras
import numpy as np
import pytest

from keras_scaleattn.training import backup_and_restore
from keras_scaleattn.training import train
from training_helpers import KillAtEpoch
from training_helpers import SimulatedKill
from training_helpers import tiny_config

EPOCHS = 3


def _config(model_dir):
    # Dropout on: the RNG state is part of the backup too.
    return tiny_config(
        model_dir, model={"dropout": 0.5},
        optimization={"steps": EPOCHS, "steps_per_epoch": 1},
        runtime={"training_loop": "fit"})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Losses and final weights of the run never interrupted."""
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    result = train(_config(tmp_path_factory.mktemp("whole")))
    assert result.initial_epoch == 0
    return result.history["loss"], [np.array(w) for w in result.model.get_weights()]


def _resume_and_compare(config, uninterrupted, initial_epoch):
    keras.utils.clear_session()
    resumed = train(config)  # the same command again
    assert resumed.initial_epoch == initial_epoch
    losses, weights = uninterrupted
    np.testing.assert_array_equal(resumed.history["loss"], losses[initial_epoch:])
    for a, b in zip(resumed.model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.model.optimizer.iterations) == EPOCHS
    assert not os.path.exists(os.path.join(config.runtime.model_dir, "backup"))


def test_killed_after_writing_the_weights_resumes_consistently(
        tmp_path, monkeypatch, uninterrupted):
    # The weights of epoch 2 are written, then the process dies before the
    # backup records epoch 2: the resumed run must restart from epoch 1's
    # weights (not train epoch 2 twice).
    original = keras.Model.save_weights
    calls = []

    def save_weights_then_die(self, filepath, *args, **kwargs):
        original(self, filepath, *args, **kwargs)
        calls.append(filepath)
        if len(calls) == 2:
            raise SimulatedKill("killed after the weights of epoch 2")

    monkeypatch.setattr(keras.Model, "save_weights", save_weights_then_die)
    config = _config(tmp_path / "run")
    with pytest.raises(SimulatedKill):
        train(config)
    monkeypatch.setattr(keras.Model, "save_weights", original)
    _resume_and_compare(config, uninterrupted, initial_epoch=1)


def test_killed_while_committing_the_epoch_resumes_consistently(
        tmp_path, monkeypatch, uninterrupted):
    # Killed at the last write of epoch 2's backup (whatever the backup
    # writes last with the epoch in it): the backup is epoch 1's or epoch
    # 2's, wholly.
    original = backup_and_restore.write_json_atomic

    def die_at_epoch_2(path, obj, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:
            raise SimulatedKill(f"killed before writing {path}")
        return original(path, obj, *args, **kwargs)

    monkeypatch.setattr(backup_and_restore, "write_json_atomic", die_at_epoch_2)
    config = _config(tmp_path / "run")
    with pytest.raises(SimulatedKill):
        train(config)
    monkeypatch.setattr(backup_and_restore, "write_json_atomic", original)
    _resume_and_compare(config, uninterrupted, initial_epoch=1)


def _truncate(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def test_damaged_epoch_file_falls_back_to_the_previous_backup(
        tmp_path, uninterrupted):
    config = _config(tmp_path / "run")
    with pytest.raises(SimulatedKill):
        train(config, callbacks=[KillAtEpoch(2)])  # backups of epochs 1, 2
    assert sorted(os.listdir(tmp_path / "run" / "backup")) == [
        "epoch-0001.weights.h5", "epoch-0002.weights.h5",
        "training_metadata.json", "training_metadata.json.bkp"]
    _truncate(tmp_path / "run" / "backup" / "training_metadata.json")
    with pytest.warns(UserWarning, match="training_metadata.json"):
        _resume_and_compare(config, uninterrupted, initial_epoch=1)


def test_damaged_epoch_file_without_a_previous_backup_names_the_file(tmp_path):
    config = _config(tmp_path / "run")
    with pytest.raises(SimulatedKill):
        train(config, callbacks=[KillAtEpoch(1)])  # one backup: epoch 1
    path = tmp_path / "run" / "backup" / "training_metadata.json"
    _truncate(path)
    keras.utils.clear_session()
    with pytest.raises(ValueError, match="training_metadata.json") as info:
        train(config)
    message = str(info.value)
    assert str(tmp_path / "run" / "backup") in message
    assert "delete" in message.lower()


def test_a_backup_of_the_earlier_layout_still_resumes(tmp_path, uninterrupted):
    # Written by the package before the crash-consistent layout: Keras'
    # latest.weights.h5 and training_metadata.json, and rng_state.json.
    config = _config(tmp_path / "run")
    with pytest.raises(SimulatedKill):
        train(config, callbacks=[KillAtEpoch(2)])
    backup = tmp_path / "run" / "backup"
    metadata = json.loads((backup / "training_metadata.json").read_text())
    for name in os.listdir(backup):
        if name != "epoch-0002.weights.h5":
            os.remove(backup / name)
    os.rename(backup / "epoch-0002.weights.h5", backup / "latest.weights.h5")
    (backup / "training_metadata.json").write_text(
        json.dumps({"epoch": 2, "batch": 0}))
    (backup / "rng_state.json").write_text(json.dumps(
        {"epoch": 2, **metadata["seed_generator_states"]}))
    _resume_and_compare(config, uninterrupted, initial_epoch=2)
