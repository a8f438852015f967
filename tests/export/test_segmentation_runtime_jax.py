"""SegmentationRuntime and the benchmark on a `.keras` model under JAX.

This folder runs under TensorFlow only (its conftest), so the JAX run is a
subprocess with KERAS_BACKEND=jax, compared with the TensorFlow runtime.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.export.export_helpers import ROOT

_SCRIPT = """
import sys
import keras
import numpy as np
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
assert keras.backend.backend() == "jax", keras.backend.backend()
images = np.load(sys.argv[2])
runtime = SegmentationRuntime(sys.argv[1])
outputs = runtime(images)
single = runtime(images[0])
np.savez(sys.argv[3], single_class_map=single["class_map"], **outputs)
"""


@pytest.mark.slow
def test_keras_runtime_runs_under_jax(tiny_model_path, keras_runtime,
                                      tmp_path, rng):
    pytest.importorskip("jax")
    images = rng.integers(0, 256, size=(2, 41, 50, 3), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, tiny_model_path,
         str(tmp_path / "images.npy"), str(tmp_path / "out.npz")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    jax_out = dict(np.load(tmp_path / "out.npz"))
    ref = keras_runtime(images)
    assert sorted(jax_out) == sorted(ref) + ["single_class_map"]
    for name in ref:
        assert jax_out[name].dtype == ref[name].dtype, name
        assert jax_out[name].shape == ref[name].shape, name
    np.testing.assert_allclose(jax_out["probabilities"], ref["probabilities"],
                               atol=1e-4)
    np.testing.assert_allclose(jax_out["attention"], ref["attention"],
                               atol=1e-4)
    np.testing.assert_array_equal(jax_out["single_class_map"],
                                  jax_out["class_map"][0])


_BENCHMARK = """
import json, sys
from keras_scaleattn.export.benchmark import run_benchmark
report = run_benchmark(sys.argv[1], size=33, batch=1, repeats=1, warmup=0)
print(json.dumps(report["results"]))
"""


@pytest.mark.slow
def test_benchmark_times_the_keras_model_under_jax(tiny_model_path, tmp_path):
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", _BENCHMARK, tiny_model_path], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.splitlines()[-1])
    assert sorted(results) == ["keras:compiled", "keras:eager"]
    for summary in results.values():
        assert summary.get("repeats") == 1, summary


@pytest.mark.slow
def test_benchmark_script_under_jax_needs_an_export_dir(tiny_model_path,
                                                        tmp_path):
    # Exporting traces TensorFlow graphs: under JAX the script says so before
    # loading anything; timing an existing export folder works.
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT))
    script = str(ROOT / "deploy" / "benchmark.py")
    base = [sys.executable, script, "--model", tiny_model_path, "--size", "33",
            "--repeats", "1", "--warmup", "0",
            "--json", str(tmp_path / "b.json")]
    refused = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "Traceback" not in refused.stderr
    assert ("error: Export needs the TensorFlow Keras backend"
            in refused.stderr)
    assert "Received: Keras backend 'jax'" in refused.stderr
    (tmp_path / "exports").mkdir()
    import keras

    from keras_scaleattn.export import export_onnx

    # An export folder holding one ONNX model.
    export_onnx(keras.models.load_model(tiny_model_path),
                tmp_path / "exports" / "model.onnx")
    timed = subprocess.run(base + ["--export-dir", str(tmp_path / "exports")],
                           cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert timed.returncode == 0, timed.stderr[-3000:]
    results = json.loads((tmp_path / "b.json").read_text())["results"]
    assert "onnxruntime:model.onnx" in results
    assert "error" not in results["onnxruntime:model.onnx"]
