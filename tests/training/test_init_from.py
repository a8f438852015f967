"""`model.init_from`: a run fine-tuned from another run's `model.keras`.

Reference: the source run's saved model, read with Keras's own API
(`keras.models.load_model`, `get_layer(...).get_weights()`), against the
weights the new run starts from (recorded by a callback at the start of
`fit`, after everything the trainer does to the model).
"""

import numpy as np
import pytest

import keras

from keras_scaleattn.training import config_from_dict
from keras_scaleattn.training import train
from training_helpers import tiny_config
from training_helpers import tiny_values


# VGG-16's 13 convolutions and DeepLab-LargeFOV's fc6-fc8.
TRUNK_LAYERS = [f"block{block}_conv{index}"
                for block, repeats in enumerate((2, 2, 3, 3, 3), start=1)
                for index in range(1, repeats + 1)] + ["fc6", "fc7", "fc8"]


class _StartingWeights(keras.callbacks.Callback):
    """The model's weights when training begins, by layer."""

    def on_train_begin(self, logs=None):
        trunk = self.model.get_layer("trunk")
        self.trunk = {name: [np.array(w)
                             for w in trunk.get_layer(name).get_weights()]
                      for name in TRUNK_LAYERS}
        head = self.model.get_layer("scale_attention")
        self.head = [np.array(w) for w in head.get_weights()]


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("source") / "run"
    train(tiny_config(model_dir))
    import keras_scaleattn  # noqa: F401  (registers the layers)

    return str(model_dir / "model.keras"), keras.models.load_model(
        model_dir / "model.keras")


@pytest.mark.slow
def test_a_run_starts_from_the_source_runs_weights(source_run, tmp_path):
    path, source = source_run
    # Three scales: the trunk and classifier come from the source, the
    # attention head (which reads 3 x fc7 here, 2 x fc7 there) does not.
    config = tiny_config(tmp_path / "run",
                         model={"init_from": path,
                                "scales": [1.0, 0.75, 0.5]},
                         data={"crop_size": 65},  # 32k + 1 for 0.75
                         optimization={"steps": 1})
    recorder = _StartingWeights()
    train(config, callbacks=[recorder])
    source_trunk = source.get_layer("trunk")
    for name, weights in recorder.trunk.items():
        expected = source_trunk.get_layer(name).get_weights()
        for got, want in zip(weights, expected):
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert recorder.head[0].shape != source.get_layer(
        "scale_attention").get_weights()[0].shape
    assert (tmp_path / "run" / "model.keras").exists()


def test_a_missing_source_fails_before_anything_is_written(tmp_path):
    missing = tmp_path / "nowhere" / "model.keras"
    config = tiny_config(tmp_path / "run", model={"init_from": str(missing)})
    with pytest.raises(FileNotFoundError, match="model.init_from") as info:
        train(config)
    assert str(missing) in str(info.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_source_of_another_trunk_width_is_refused(source_run, tmp_path):
    path, _ = source_run
    config = tiny_config(tmp_path / "run", model={"init_from": path,
                                                  "trunk_width": 0.125})
    with pytest.raises(ValueError, match=r"`model.init_from` has another "
                                         r"trunk than this model"):
        train(config)


def test_init_from_replaces_imagenet_weights(tmp_path):
    values = tiny_values(tmp_path, model={"init_from": "runs/a/model.keras",
                                          "trunk_width": 1.0,
                                          "imagenet_weights": "/w.h5"})
    with pytest.raises(ValueError, match=(
            r"`model.init_from` cannot be combined with "
            r"model.imagenet_weights='/w.h5'.*Received: "
            r"model.init_from='runs/a/model.keras'")):
        config_from_dict(values)
