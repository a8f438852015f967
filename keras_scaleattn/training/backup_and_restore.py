"""`keras.callbacks.BackupAndRestore` that also restores the dropout RNG."""

import json
import os
import warnings

import keras
import numpy as np

from keras_scaleattn.evaluation.report import write_json_atomic

_RNG_FILE = "rng_state.json"
_METADATA_FILE = "training_metadata.json"


def _seed_states(model):
    # Keras 3 leaves SeedGenerator states out of weights files
    # (`Layer.save_own_variables` saves trainable and non-trainable
    # variables only), but they are in `model.non_trainable_variables`.
    return [v for v in model.non_trainable_variables
            if v.path.split("/")[-1] == "seed_generator_state"]


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up the training state every epoch and restores it on restart.

    Keras' `BackupAndRestore` (weights, optimizer state and epoch, in
    `backup_dir`), plus the state of every `SeedGenerator` of the model
    (the dropout masks' RNG), which Keras' weights files leave out: without
    it a resumed run draws the dropout masks of its first epochs again and
    ends with different weights from an uninterrupted run.

    The backup is written at the end of every epoch, so a run killed in
    epoch `e` restarts at the beginning of epoch `e`.

    Args:
        backup_dir: str. Folder of the backup; used by nothing else.
        write: bool. Whether this process writes the backup. False for the
            non-chief workers of a multi-worker run: they restore the
            chief's backup (a shared file system) but never write it, so
            that no two processes write the same file. Defaults to True.
        double_checkpoint: bool. Keep the previous backup too, used if the
            latest one cannot be read (see Keras). Defaults to True.
        delete_checkpoint: bool. Delete the backup when `fit` ends. Defaults
            to True.

    Example:

    ```python
    backup = BackupAndRestore("/tmp/run/backup")
    model.fit(data, epochs=4, steps_per_epoch=10, callbacks=[backup])
    ```
    """

    def __init__(self, backup_dir, write=True, double_checkpoint=True,
                 delete_checkpoint=True):
        super().__init__(backup_dir, save_freq="epoch",
                         double_checkpoint=double_checkpoint,
                         delete_checkpoint=delete_checkpoint)
        self.write = bool(write)
        self._rng_path = os.path.join(backup_dir, _RNG_FILE)

    def backed_up_epoch(self):
        """Epochs completed according to the backup (0 when there is none)."""
        path = os.path.join(self.backup_dir, _METADATA_FILE)
        if not os.path.isfile(path):
            return 0
        with open(path) as f:
            return int(json.load(f)["epoch"])

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        epoch = self.backed_up_epoch()
        if not epoch or not os.path.isfile(self._rng_path):
            return
        with open(self._rng_path) as f:
            saved = json.load(f)
        states = _seed_states(self.model)
        paths = [v.path for v in states]
        if saved.get("epoch") != epoch or saved.get("paths") != paths:
            warnings.warn(
                f"{self._rng_path} does not match the restored epoch {epoch} "
                "or the model's RNG states; dropout masks will not continue "
                "those of the interrupted run.", stacklevel=2)
            return
        for variable, value in zip(states, saved["states"]):
            variable.assign(np.asarray(value, dtype=variable.dtype))

    def on_epoch_end(self, epoch, logs=None):
        if not self.write:
            return
        super().on_epoch_end(epoch, logs)
        states = _seed_states(self.model)
        write_json_atomic(self._rng_path, {
            "epoch": epoch + 1,
            "paths": [v.path for v in states],
            "states": [np.asarray(v.numpy()).tolist() for v in states],
        })

    def on_train_batch_end(self, batch, logs=None):
        if self.write:
            super().on_train_batch_end(batch, logs)

    def on_train_end(self, logs=None):
        if self.write:
            super().on_train_end(logs)
