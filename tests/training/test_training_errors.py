"""Bad input: each a clear error naming the key, the value or the file."""

import importlib.util
import os
import types

import pytest

from keras_scaleattn.training import make_strategy
from keras_scaleattn.training import train
from keras_scaleattn.training.trainer import choose_training_loop
from training_helpers import tiny_config


def test_missing_dataset_folder_names_the_folder(tmp_path):
    missing = tmp_path / "VOCdevkit" / "VOC2012"
    config = tiny_config(tmp_path / "run",
                         data={"dataset": "voc2012", "num_classes": 21,
                               "data_dir": str(missing)})
    with pytest.raises(FileNotFoundError, match="data_dir") as info:
        train(config)
    assert str(missing) in str(info.value)
    assert not (tmp_path / "run").exists()  # nothing written


def test_missing_imagenet_weights_names_the_key_and_file(tmp_path):
    weights = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    config = tiny_config(tmp_path / "run", model={"trunk_width": 1.0,
                                                  "imagenet_weights": str(weights)})
    with pytest.raises(FileNotFoundError, match="model.imagenet_weights") as info:
        train(config)
    assert str(weights) in str(info.value)
    assert not (tmp_path / "run").exists()


def test_unknown_dataset_name_lists_the_known_ones(tmp_path):
    config = tiny_config(tmp_path / "run", data={"dataset": "cityscapes"})
    with pytest.raises(ValueError, match="cityscapes") as info:
        train(config)
    assert "voc2012" in str(info.value)


def test_tensorboard_without_the_package(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else find_spec(name, *a))
    config = tiny_config(tmp_path / "run", runtime={"tensorboard": True})
    with pytest.raises(ValueError, match="runtime.tensorboard"):
        train(config)


def test_multi_worker_without_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multi_worker")


def test_unknown_strategy_name():
    with pytest.raises(ValueError, match="runtime.strategy"):
        make_strategy("tpu")


def test_fit_cannot_accumulate_over_replicas(tmp_path):
    two_replicas = types.SimpleNamespace(num_replicas_in_sync=2)
    config = tiny_config(tmp_path, optimization={"gradient_accumulation_steps": 2},
                         runtime={"training_loop": "fit"})
    with pytest.raises(ValueError, match="runtime.training_loop"):
        choose_training_loop(config, two_replicas)
    config.runtime.training_loop = "auto"
    assert choose_training_loop(config, two_replicas) == "custom"
    one_replica = types.SimpleNamespace(num_replicas_in_sync=1)
    assert choose_training_loop(config, one_replica) == "fit"


def test_overrides_file_is_not_touched_on_error(tmp_path):
    # A run that fails validation writes nothing.
    config = tiny_config(tmp_path / "run")
    config.optimization.schedule = "cosine"
    with pytest.raises(ValueError, match="optimization.schedule"):
        train(config)
    assert not os.path.exists(tmp_path / "run")
