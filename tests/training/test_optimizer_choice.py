import keras
import pytest

from keras_scaleattn.training import CaffeSGD
from keras_scaleattn.training import LayerwiseAdam
from keras_scaleattn.training import build_optimizer
from tests.training.training_helpers import tiny_config


def test_default_is_the_papers_sgd_and_adam_can_be_chosen(tmp_path):
    assert isinstance(build_optimizer(tiny_config(tmp_path)), CaffeSGD)
    adam = build_optimizer(tiny_config(
        tmp_path, optimization={"optimizer": "adam", "base_lr": 3e-4,
                                "head_lr_multiplier": 0.1}))
    assert isinstance(adam, keras.optimizers.Adam)
    assert isinstance(adam, LayerwiseAdam)
    # The config's schedule and multipliers drive Adam too.
    assert float(adam.learning_rate) == pytest.approx(3e-4)
    assert adam.lr_multiplier("scale_attention/att_fc/kernel") == pytest.approx(0.1)


@pytest.mark.parametrize("section, values, key", [
    ("optimization", {"optimizer": "rmsprop"}, "optimization.optimizer"),
    ("data", {"size_thresholds": [400, 100]}, "data.size_thresholds"),
    ("data", {"size_thresholds": [400]}, "data.size_thresholds"),
])
def test_bad_values_name_the_key(tmp_path, section, values, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        tiny_config(tmp_path, **{section: values})
