"""Whole-model checkpoints every N epochs, written atomically."""

import os
import re
import warnings

import keras
import numpy as np

from keras_scaleattn.export.atomic import atomic_file

_CHECKPOINT_NAME = "epoch-{epoch:04d}.keras"
_CHECKPOINT_PATTERN = re.compile(r"^epoch-(\d+)\.keras$")


def save_model_atomic(model, path):
    """Saves `model` as a `.keras` file that is either complete or absent.

    The model is saved to a hidden temporary `.keras` file in the same
    folder, then renamed over `path` (`export.atomic.atomic_file`, atomic on
    one file system): a run killed while saving leaves the previous file
    intact.

    Args:
        model: a Keras model.
        path: str. Destination ending in `.keras`; its folder is created.

    Returns:
        str: `path`.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"`path` must end in '.keras'. Received: path={path!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path, suffix="tmp.keras") as tmp_path:
        model.save(tmp_path)
    return path


def weights_are_finite(model):
    """True when none of `model`'s weights is NaN or infinite."""
    return all(np.all(np.isfinite(w)) for w in model.get_weights())


def epoch_is_finite(model, logs):
    """True when an epoch ended with finite weights and a finite loss.

    Both are needed: under mixed float16 the loss-scaling optimizer skips
    the updates whose gradients overflow, so a NaN loss can leave the
    weights finite while `TerminateOnNaN` cuts the epoch short.

    Args:
        model: the trained model.
        logs: dict or None, the epoch's logs (`"loss"`).
    """
    loss = (logs or {}).get("loss")
    if loss is not None and not np.isfinite(float(loss)):
        return False
    return weights_are_finite(model)


def list_checkpoints(directory):
    """`(epoch, path)` of the checkpoints in `directory`, oldest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _CHECKPOINT_PATTERN.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (with the optimizer) every `every_epochs` epochs.

    Files are `directory/epoch-NNNN.keras` (NNNN = epochs completed), each
    written atomically (`save_model_atomic`); only the `keep` most recent
    are kept. Unlike `BackupAndRestore`'s backup, which is deleted when a
    run ends, these stay: load one with `keras.models.load_model` after
    `import keras_scaleattn.training`.

    Args:
        directory: str. Folder of the checkpoints (created if needed).
        every_epochs: int > 0. Epochs between two checkpoints. Defaults to 1.
        keep: int >= 0. Checkpoints kept; 0 keeps all. Defaults to 3.

    Example:

    ```python
    model.fit(data, epochs=4, steps_per_epoch=10,
              callbacks=[EpochCheckpoint("/tmp/run/checkpoints")])
    ```
    """

    def __init__(self, directory, every_epochs=1, keep=3):
        super().__init__()
        if isinstance(every_epochs, bool) or not isinstance(every_epochs, int) or every_epochs < 1:
            raise ValueError(
                "`every_epochs` must be a positive int. "
                f"Received: every_epochs={every_epochs!r}"
            )
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"`keep` must be an int >= 0. Received: keep={keep!r}")
        self.directory = os.fspath(directory)
        self.every_epochs = every_epochs
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        completed = epoch + 1
        if completed % self.every_epochs:
            return
        if not epoch_is_finite(self.model, logs):
            # A diverged epoch (TerminateOnNaN stops it, and the epoch still
            # ends): keep the last good checkpoints rather than one of NaNs.
            warnings.warn(f"Epoch {completed}: the loss or the weights are not "
                          "finite; no checkpoint written.", stacklevel=2)
            return
        path = os.path.join(self.directory, _CHECKPOINT_NAME.format(epoch=completed))
        save_model_atomic(self.model, path)
        if self.keep:
            for _, old in list_checkpoints(self.directory)[: -self.keep]:
                os.unlink(old)
