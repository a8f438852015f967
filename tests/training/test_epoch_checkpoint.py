"""Checkpoints: atomic writes, every N epochs, the last K kept, loadable."""

import os

import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training import CaffeSGD
from keras_scaleattn.training import EpochCheckpoint
from keras_scaleattn.training import save_model_atomic


def _model():
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8)
    model.compile(optimizer=CaffeSGD())
    return model


def test_every_second_epoch_and_the_last_two_kept(tmp_path, rng):
    model = _model()
    images = rng.uniform(0, 255, (2, 33, 33, 3)).astype("float32")
    labels = rng.integers(0, 3, (2, 33, 33))
    callback = EpochCheckpoint(tmp_path / "ckpt", every_epochs=2, keep=2)
    model.fit(images, labels, epochs=6, batch_size=2, verbose=0,
              callbacks=[callback])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch-0004.keras",
                                                      "epoch-0006.keras"]
    loaded = keras.models.load_model(tmp_path / "ckpt" / "epoch-0006.keras")
    assert isinstance(loaded.optimizer, CaffeSGD)
    assert int(loaded.optimizer.iterations) == 6
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "model.keras"
    save_model_atomic(model, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model_atomic(model, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.keras"]  # no temporary left


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="every_epochs"):
        EpochCheckpoint(tmp_path, every_epochs=0)
    with pytest.raises(ValueError, match="keep"):
        EpochCheckpoint(tmp_path, keep=-1)
    with pytest.raises(ValueError, match="path"):
        save_model_atomic(_model(), tmp_path / "model.h5")
