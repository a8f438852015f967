"""Benchmark: structure of the results (no timing assertions)."""

import shutil

import numpy as np
import pytest

from keras_scaleattn.export.benchmark import benchmark
from keras_scaleattn.export.benchmark import benchmark_table
from keras_scaleattn.export.benchmark import latency_summary
from keras_scaleattn.export.benchmark import run_benchmark
from keras_scaleattn.export.benchmark import time_callable


def test_time_callable_counts_calls():
    calls = []
    times = time_callable(calls.append, "x", repeats=3, warmup=2)
    assert len(times) == 3 and len(calls) == 5
    assert all(t >= 0 for t in times)
    with pytest.raises(ValueError, match="repeats"):
        time_callable(calls.append, "x", repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        time_callable(calls.append, "x", warmup=-1)


def test_latency_summary_against_numpy():
    seconds = [0.004, 0.001, 0.003, 0.002, 0.010]
    summary = latency_summary(seconds)
    ms = np.array(seconds) * 1000
    assert summary == pytest.approx({
        "median_ms": 3.0, "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": 4.0, "min_ms": 1.0, "repeats": 5})


def test_benchmark_ratios_and_errors():
    def broken(images):
        raise RuntimeError("no GPU")

    results = benchmark({"keras:compiled": lambda x: x, "other": lambda x: x,
                         "broken": broken}, np.zeros(1), repeats=2)
    assert results["keras:compiled"]["ratio_to_reference"] == pytest.approx(
        1.0)
    assert results["other"]["repeats"] == 2
    assert results["broken"] == {"error": "RuntimeError: no GPU"}
    table = benchmark_table({"results": results, "skipped": {"t": "why"}})
    assert "| broken | error: RuntimeError: no GPU |" in table
    assert "| t | skipped: why |" in table


@pytest.mark.slow
def test_run_benchmark_with_a_tiny_model(exports, tiny_model_path, tmp_path):
    for key in ("onnx", "tflite_fixed", "tflite_int8"):
        shutil.copy(exports[key], tmp_path)
    report = run_benchmark(tiny_model_path, str(tmp_path), size=41, batch=2,
                           repeats=2, warmup=1)
    assert set(report["results"]) == {
        "keras:eager", "keras:compiled", "onnxruntime:model.onnx",
        "litert:model_41.tflite", "litert:model_int8.tflite"}
    for summary in report["results"].values():
        assert set(summary) == {"median_ms", "p90_ms", "mean_ms", "min_ms",
                                "repeats", "ratio_to_reference"}
        assert summary["repeats"] == 2
    assert report["config"]["size"] == 41 and report["config"]["batch"] == 2
    small = run_benchmark(tiny_model_path, str(tmp_path), size=33, repeats=1,
                          warmup=0)
    assert "fixed size (41, 41)" in small["skipped"]["litert:model_41.tflite"]
