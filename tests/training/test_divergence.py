"""A diverged run: one clear error, and no checkpoint or backup of NaNs."""

import json
import os

import keras
import numpy as np
import pytest

from keras_scaleattn.cli import run_script
from keras_scaleattn.training import TrainingDivergedError
from keras_scaleattn.training import train
from training_helpers import tiny_config


class AlterWeights(keras.callbacks.Callback):
    """Replaces every trainable weight `w` by `new_value(w)` after the first
    batch of epoch `epoch` (0-based), as a diverging update would."""

    def __init__(self, epoch, new_value):
        super().__init__()
        self.epoch = epoch
        self.new_value = new_value
        self.current = None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 0:
            for weight in self.model.trainable_variables:
                weight.assign(self.new_value(weight))


def poison_weights(epoch):
    """Sets the weights to NaN."""
    return AlterWeights(epoch, lambda w: np.full(w.shape, np.nan, w.dtype))


def overflow_weights(epoch):
    """Scales the weights up until float16 activations overflow: the loss is
    NaN, and the loss-scaling optimizer skips the non-finite updates, so the
    (float32) weights stay finite, as in a mixed-float16 run that diverges."""
    return AlterWeights(epoch, lambda w: w * 1e3)


def test_diverged_run_keeps_the_last_finite_epoch(tmp_path):
    config = tiny_config(tmp_path / "run",
                         optimization={"steps": 6, "steps_per_epoch": 2},
                         runtime={"checkpoint_every_epochs": 1})
    with pytest.warns(UserWarning, match="Epoch 2: the loss or the weights are not finite"):
        with pytest.raises(TrainingDivergedError, match="Lower optimization"):
            train(config, callbacks=[poison_weights(epoch=1)])
    run = tmp_path / "run"
    assert not (run / "model.keras").exists()
    assert sorted(os.listdir(run / "checkpoints")) == ["epoch-0001.keras"]
    checkpoint = keras.models.load_model(run / "checkpoints" / "epoch-0001.keras")
    assert all(np.all(np.isfinite(w)) for w in checkpoint.get_weights())
    backup = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert backup["epoch"] == 1
    # The script's line, exit status 1 (not bad input).
    def main(argv):
        train(tiny_config(tmp_path / "again",
                          optimization={"steps": 6, "steps_per_epoch": 2}),
              callbacks=[poison_weights(epoch=0)])
    assert run_script(main, []) == 1


def test_a_nan_loss_with_finite_weights_is_divergence_too(tmp_path):
    config = tiny_config(tmp_path / "run",
                         optimization={"steps": 6, "steps_per_epoch": 2,
                                       "mixed_precision": "mixed_float16"},
                         runtime={"checkpoint_every_epochs": 1})
    overflow = overflow_weights(epoch=1)
    with pytest.warns(UserWarning, match="Epoch 2: the loss or the weights"):
        with pytest.raises(TrainingDivergedError):
            train(config, callbacks=[overflow])
    # The case a check of the weights alone misses.
    assert all(np.all(np.isfinite(w)) for w in overflow.model.get_weights())
    run = tmp_path / "run"
    assert not (run / "model.keras").exists()
    assert sorted(os.listdir(run / "checkpoints")) == ["epoch-0001.keras"]
    backup = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert backup["epoch"] == 1
