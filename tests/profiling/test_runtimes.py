"""Runtime helpers: parity, the artifact cache, the logits graph."""

import numpy as np
import pytest

from keras_scaleattn.profiling.runtimes import ArtifactCache
from keras_scaleattn.profiling.runtimes import parity
from tests.conftest import requires_tensorflow


def test_parity_reports_float_deltas_and_class_agreement():
    reference = {"logits": np.zeros((1, 2, 2, 3), np.float32),
                 "class_map": np.array([[1, 2], [0, 0]]),
                 "only_here": np.zeros(1)}
    outputs = {"logits": np.full((1, 2, 2, 3), 0.25, np.float32),
               "class_map": np.array([[1, 2], [0, 1]])}
    result = parity(reference, outputs)
    assert result == {"logits": {"max_abs_delta": 0.25},
                      "class_map": {"agreement": 0.75}}
    with pytest.raises(ValueError, match="shape"):
        parity({"a": np.zeros(2)}, {"a": np.zeros(3)})


def test_cache_makes_each_artifact_once(tmp_path):
    made = []

    def make(path):
        made.append(path)
        with open(path, "w") as f:
            f.write("x")

    cache = ArtifactCache({"width": 0.5}, root=str(tmp_path))
    first = cache.get("model.onnx", make)
    second = ArtifactCache({"width": 0.5}, root=str(tmp_path)).get(
        "model.onnx", make)
    assert first == (cache.path("model.onnx"), False)
    assert second == (cache.path("model.onnx"), True)
    assert len(made) == 1
    other = ArtifactCache({"width": 0.25}, root=str(tmp_path))
    assert other.directory != cache.directory


@requires_tensorflow
def test_logits_graph_outputs():
    import keras

    from keras_scaleattn import ScaleAttentionSegmenter
    from keras_scaleattn.profiling.runtimes import deployment_function

    keras.utils.set_random_seed(0)
    model = ScaleAttentionSegmenter(num_classes=3, trunk_width=0.0625)
    function = deployment_function(model, "logits", "uint8")
    images = np.zeros((1, 41, 49, 3), np.uint8)
    out = function(images)
    assert sorted(out) == ["class_map", "logits"]
    assert tuple(out["logits"].shape) == (1, 6, 7, 3)
    np.testing.assert_array_equal(out["class_map"].numpy(),
                                  np.argmax(out["logits"].numpy(), -1))
    with pytest.raises(ValueError, match="graph"):
        deployment_function(model, "other")


@pytest.mark.slow
@requires_tensorflow
def test_logits_graph_exports_match_tensorflow(tmp_path):
    import keras

    from keras_scaleattn import ScaleAttentionSegmenter
    from keras_scaleattn.profiling.runtimes import LiteRTRunner
    from keras_scaleattn.profiling.runtimes import OnnxRunner
    from keras_scaleattn.profiling.runtimes import deployment_function
    from keras_scaleattn.profiling.runtimes import export_onnx_graph
    from keras_scaleattn.profiling.runtimes import export_tflite_graph

    keras.utils.set_random_seed(0)
    model = ScaleAttentionSegmenter(num_classes=3, trunk_width=0.0625)
    images = np.random.default_rng(0).integers(
        0, 256, (1, 41, 41, 3)).astype(np.uint8)
    reference = {k: v.numpy() for k, v in deployment_function(
        model, "logits", "float32")(images.astype(np.float32)).items()}
    onnx_path = export_onnx_graph(model, "logits", tmp_path / "m.onnx")
    tflite_path = export_tflite_graph(model, "logits", tmp_path / "m.tflite",
                                      "float32", (41, 41))
    for runner in (OnnxRunner(onnx_path), LiteRTRunner(tflite_path)):
        result = parity(reference, runner(images))
        assert result["class_map"]["agreement"] == 1.0
        assert result["logits"]["max_abs_delta"] < 1e-4
