"""`keras.callbacks.BackupAndRestore`, crash-consistent, with the dropout RNG.

Layout of `backup_dir` (used by nothing else):

```
training_metadata.json      the backup: {"epoch", "weights", "seed_generator_states"}
training_metadata.json.bkp  the previous backup (double_checkpoint)
epoch-NNNN.weights.h5       the weights and optimizer state each of them names
```

An epoch's backup is written in this order: its weights to a new
`epoch-NNNN.weights.h5` (through a hidden temporary file renamed into place),
the previous backup's metadata to `training_metadata.json.bkp`, then the new
`training_metadata.json`, atomically (`os.replace`), which names the weights
file and holds the epoch and the RNG states; weights files that neither
metadata file names are deleted last. The replacement of
`training_metadata.json` is the commit: a process killed at any point leaves
either the old or the new backup whole, never the weights of one epoch with
the epoch count of another (Keras' own callback overwrites
`latest.weights.h5` and then `training_metadata.json` in place).
"""

import json
import os
import warnings

import keras
import numpy as np

from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.export.atomic import atomic_file
from keras_scaleattn.training.epoch_checkpoint import epoch_is_finite

_METADATA_FILE = "training_metadata.json"
_WEIGHTS_NAME = "epoch-{epoch:04d}.weights.h5"
# Written by earlier versions of this callback (Keras' layout plus the RNG
# file): a run interrupted under one of them still resumes.
_LEGACY_WEIGHTS_FILE = "latest.weights.h5"
_LEGACY_RNG_FILE = "rng_state.json"


def _seed_states(model):
    # Keras 3 leaves SeedGenerator states out of weights files
    # (`Layer.save_own_variables` saves trainable and non-trainable
    # variables only), but they are in `model.non_trainable_variables`.
    return [v for v in model.non_trainable_variables
            if v.path.split("/")[-1] == "seed_generator_state"]


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up the training state every epoch and restores it on restart.

    What Keras' `BackupAndRestore` backs up (weights, optimizer state and
    epoch, in `backup_dir`), plus the state of every `SeedGenerator` of the
    model (the dropout masks' RNG), which Keras' weights files leave out:
    without it a resumed run draws the dropout masks of its first epochs
    again and ends with different weights from an uninterrupted run.

    Unlike Keras' callback, the backup is crash-consistent (see the module
    docstring): the epoch, the RNG states and the name of the weights file
    are one atomically replaced JSON file, written only once the weights
    file it names is complete.

    The backup is written at the end of every epoch, so a run killed in
    epoch `e` restarts at the beginning of epoch `e`. At `on_train_begin`
    the backup is restored; if it cannot be read (a damaged metadata or
    weights file) the previous backup is restored instead, with a warning,
    and if there is none a `ValueError` names the file.

    Args:
        backup_dir: str. Folder of the backup; used by nothing else.
        write: bool. Whether this process writes the backup. False for the
            non-chief workers of a multi-worker run: they restore the
            chief's backup (a shared file system) but never write it, so
            that no two processes write the same file. Defaults to True.
        double_checkpoint: bool. Keep the previous backup too, restored if
            the latest one cannot be read. Defaults to True.
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
        self._metadata_path = os.path.join(backup_dir, _METADATA_FILE)
        self._previous_metadata_path = self._metadata_path + ".bkp"
        # The metadata of the backup restored or last written: becomes the
        # previous backup when the next one is committed.
        self._committed = None
        self._restored_epoch = 0

    def backed_up_epoch(self):
        """Epochs completed by the backup restored at the last
        `on_train_begin` (0 when there was none)."""
        return self._restored_epoch

    def on_train_begin(self, logs=None):
        """Restores the backup, or the previous one if it cannot be read.

        Raises:
            ValueError: if the model is not built, or if a backup exists and
                neither it nor the previous one can be restored (the message
                names the files and the errors).
        """
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, the model must be built "
                f"before `fit()`. Received: an unbuilt model {self.model}")
        self._committed, self._restored_epoch = None, 0
        errors = []
        for path in (self._metadata_path, self._previous_metadata_path):
            if not os.path.exists(path):
                continue
            try:
                metadata = self._read_metadata(path)
                self._restore(metadata)
            except (OSError, ValueError, KeyError, TypeError) as error:
                errors.append(f"{path}: {type(error).__name__}: {error}")
                continue
            if errors:
                warnings.warn(
                    f"The backup could not be restored ({errors[0]}); restored "
                    f"the previous backup, of epoch {metadata['epoch']}, from "
                    f"{path}.", stacklevel=2)
            self._committed = metadata
            self._restored_epoch = metadata["epoch"]
            self.model._initial_epoch = metadata["epoch"]
            return
        if errors:
            raise ValueError(
                f"The backup in {self.backup_dir} cannot be restored ("
                + "; ".join(errors) + "). Delete that folder to train the run "
                "again from its first epoch.")

    def _read_metadata(self, path):
        """The metadata of `path`, checked, with the legacy layout filled in."""
        with open(path) as f:
            metadata = json.load(f)
        if not isinstance(metadata, dict):
            raise ValueError(f"expected a JSON object, got {metadata!r}")
        epoch = metadata["epoch"]
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"'epoch' must be an int >= 0, got {epoch!r}")
        if "weights" not in metadata:
            metadata = self._legacy_metadata(path, metadata)
        weights = metadata["weights"]
        if not isinstance(weights, str) or os.path.basename(weights) != weights:
            raise ValueError(f"'weights' must be a file name, got {weights!r}")
        return metadata

    def _legacy_metadata(self, path, metadata):
        # Keras' layout: only the latest copy names a loadable weights file
        # (Keras' `.bkp` weights do not end in `.weights.h5`).
        if path != self._metadata_path:
            raise ValueError("previous backup of an earlier layout")
        metadata = {"epoch": metadata["epoch"], "weights": _LEGACY_WEIGHTS_FILE}
        rng_path = os.path.join(self.backup_dir, _LEGACY_RNG_FILE)
        if os.path.isfile(rng_path):
            with open(rng_path) as f:
                saved = json.load(f)
            if saved.get("epoch") == metadata["epoch"]:
                metadata["seed_generator_states"] = {
                    "paths": saved.get("paths"), "states": saved.get("states")}
        return metadata

    def _restore(self, metadata):
        weights_path = os.path.join(self.backup_dir, metadata["weights"])
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(f"the weights file {weights_path} is missing")
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # Make sure the optimizer's variables exist before loading.
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights_path)
        states = _seed_states(self.model)
        saved = metadata.get("seed_generator_states") or {}
        if saved.get("paths") != [v.path for v in states]:
            warnings.warn(
                f"The backup of epoch {metadata['epoch']} in {self.backup_dir} "
                "holds no RNG states matching the model's; dropout masks will "
                "not continue those of the interrupted run.", stacklevel=3)
            return
        for variable, value in zip(states, saved["states"]):
            variable.assign(np.asarray(value, dtype=variable.dtype))

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.write and epoch_is_finite(self.model, logs):
            # A diverged epoch is not backed up: the last good one stays.
            self._save_model()

    def _save_model(self):
        """Writes the backup of `self._current_epoch` (see the module)."""
        os.makedirs(self.backup_dir, exist_ok=True)
        name = _WEIGHTS_NAME.format(epoch=self._current_epoch)
        with atomic_file(os.path.join(self.backup_dir, name),
                         suffix="tmp.weights.h5") as tmp:
            self.model.save_weights(tmp)
        states = _seed_states(self.model)
        metadata = {
            "epoch": self._current_epoch,
            "weights": name,
            "seed_generator_states": {
                "paths": [v.path for v in states],
                "states": [np.asarray(v.numpy()).tolist() for v in states],
            },
        }
        previous = self._committed
        keep = {_METADATA_FILE, name}
        if self.double_checkpoint and previous is not None:
            write_json_atomic(self._previous_metadata_path, previous)
            keep.update({os.path.basename(self._previous_metadata_path),
                         previous["weights"]})
        write_json_atomic(self._metadata_path, metadata)  # the commit
        self._committed = metadata
        for leftover in set(os.listdir(self.backup_dir)) - keep:
            path = os.path.join(self.backup_dir, leftover)
            if os.path.isfile(path):
                os.remove(path)

    def on_train_batch_end(self, batch, logs=None):
        pass  # backups at epoch ends only

    def on_train_end(self, logs=None):
        if self.write:
            super().on_train_end(logs)
