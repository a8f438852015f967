import os

import keras
import numpy as np
import pytest

# The tests build many tiny models: clearing between tests keeps layer names
# stable and memory flat.
@pytest.fixture(autouse=True)
def _clear_session():
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def backend():
    return keras.backend.backend()


requires_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="needs the TensorFlow backend (tf.function / tf.data / export)",
)
