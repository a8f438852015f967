"""The model imports and runs under JAX where TensorFlow is not installed.

A GPU machine with JAX but no TensorFlow is where the H100 benchmark runs
(benchmarks/gpu_throughput.py); only training, tf.data and export need
TensorFlow.
"""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = """
import sys
sys.modules["tensorflow"] = None  # any `import tensorflow` now fails
import numpy as np
import keras_scaleattn
model = keras_scaleattn.ScaleAttentionSegmenter(
    3, scales=(1.0, 0.5), trunk_width=0.0625, attention_filters=8)
out = model.predict(np.zeros((1, 65, 65, 3), "float32"), verbose=0)
print(sorted(out), out["attention"].shape, hasattr(keras_scaleattn, "training"))
"""


def test_package_imports_and_predicts_without_tensorflow():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[-2] == (
        "['attention', 'logits', 'scale_logits_0', 'scale_logits_1'] "
        "(1, 9, 9, 2) False")


_LOAD_SCRIPT = """
import sys
sys.modules["tensorflow"] = None  # any `import tensorflow` now fails
import keras_scaleattn
from keras_scaleattn.export.keras_file import load_keras_model
path = sys.argv[1] + "/m.keras"
keras_scaleattn.ScaleAttentionSegmenter(
    3, scales=(1.0, 0.5), trunk_width=0.0625, attention_filters=8).save(path)
print(type(load_keras_model(path)).__name__)
open(sys.argv[1] + "/bad.keras", "w").write("not a model")
try:
    load_keras_model(sys.argv[1] + "/bad.keras", "--model")
except ValueError as error:
    print(str(error).split(":")[0])
"""


def test_keras_loader_needs_no_tensorflow(tmp_path):
    # The one `.keras` loader (and its errors) serves JAX without TensorFlow.
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(tmp_path)], cwd=REPO,
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[-3:] == [
        "ScaleAttentionSegmenter",
        "`--model` could not be loaded as a Keras model (truncated, corrupt "
        "or another kind of file)", ""]
