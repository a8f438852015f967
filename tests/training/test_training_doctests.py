"""The docstring examples of keras_scaleattn.training run and print what they say."""

import doctest

import numpy as np
import pytest

from keras_scaleattn.training import caffe_sgd
from keras_scaleattn.training import config
from keras_scaleattn.training import layer_learning_rates
from keras_scaleattn.training import layerwise_adam
from keras_scaleattn.training import schedules
from keras_scaleattn.training import strategy
from training_helpers import REPO

MODULES = [caffe_sgd, config, layer_learning_rates, layerwise_adam, schedules,
           strategy]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples(module, monkeypatch):
    monkeypatch.chdir(REPO)  # examples name training/configs/*.yaml
    globs = dict(vars(module), np=np)
    result = doctest.testmod(module, globs=globs, verbose=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0
