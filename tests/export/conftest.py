"""Shared, session-scoped artifacts: one tiny model, exported once.

Exporting is the slow part (a few seconds per format on two cores), so every
format is written once per test session and the tests read the files.
"""

import keras
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.data import synthetic_scale_arrays
from tests.export.export_helpers import FIXED_SIZE
from tests.export.export_helpers import TINY

# Exports trace TensorFlow graphs (tf.function, TFLite, tf2onnx): the JAX
# run of `make test` does not collect this folder.
if keras.backend.backend() != "tensorflow":
    collect_ignore_glob = ["test_*.py"]

@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = ScaleAttentionSegmenter(**TINY)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    # Reloaded, never called: the state in which ONNX export used to fail.
    import keras_scaleattn  # noqa: F401

    return keras.models.load_model(tiny_model_path)


@pytest.fixture(scope="session")
def calibration_images():
    images, _ = synthetic_scale_arrays("train", num_examples=4, image_size=97)
    return list(images)


@pytest.fixture(scope="session")
def test_images():
    """Images of 33-65 pixels: crops of synthetic validation images."""
    images, _ = synthetic_scale_arrays("val", num_examples=3, image_size=97)
    return [images[0][:41, :57], images[1][10:43, 20:85],
            images[2][30:79, 40:89]]


@pytest.fixture(scope="session")
def exports(tiny_model, calibration_images, tmp_path_factory):
    """Every format (TFLite also at FIXED_SIZE): format name -> path."""
    from keras_scaleattn.export.exporter import export_artifacts

    out_dir = tmp_path_factory.mktemp("exports")
    artifacts = export_artifacts(
        tiny_model, out_dir, fixed_size=FIXED_SIZE,
        representative_images=calibration_images)
    paths = {}
    for artifact in artifacts:
        key = artifact["format"]
        if artifact["image_size"]:
            key += "_fixed"
        paths[key] = artifact["path"]
    paths["dir"] = str(out_dir)
    return paths


@pytest.fixture(scope="session")
def keras_runtime(tiny_model_path):
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    return SegmentationRuntime(tiny_model_path)

