"""Timing helpers: structure and arithmetic only (no timing asserts)."""

import pytest

from keras_scaleattn.profiling import interleaved_timings
from keras_scaleattn.profiling import machine_load
from keras_scaleattn.profiling import matmul_flops
from keras_scaleattn.profiling import matmul_peak
from keras_scaleattn.profiling import paired_ratio
from keras_scaleattn.profiling import summarize
from tests.conftest import requires_tensorflow


def test_interleaved_rounds_alternate_order_and_record_both_clocks():
    calls = []
    variants = {name: (lambda name=name: calls.append(name))
                for name in ("a", "b", "c")}
    times = interleaved_timings(variants, repeats=3, warmup=2)
    # Two warm-up rounds in order, then timed rounds forward, back, forward.
    assert calls == list("abc" * 2) + list("abc") + list("cba") + list("abc")
    assert list(times) == ["a", "b", "c"]
    assert all(len(v) == 3 for v in times.values())
    assert sorted(times.cpu) == ["a", "b", "c"]
    assert all(len(v) == 3 and min(v) >= 0 for v in times.cpu.values())


@pytest.mark.parametrize("kwargs, match", [
    ({"variants": {}}, "variants"),
    ({"variants": {"a": 1}}, "callable"),
    ({"variants": {"a": lambda: None}, "repeats": 0}, "repeats"),
    ({"variants": {"a": lambda: None}, "warmup": -1}, "warmup"),
])
def test_interleaved_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        interleaved_timings(**kwargs)


def test_summarize_and_paired_ratio_arithmetic():
    summary = summarize([0.010, 0.030, 0.020, 0.040])
    assert summary["median_ms"] == pytest.approx(25.0)
    assert summary["min_ms"] == pytest.approx(10.0)
    assert summary["max_ms"] == pytest.approx(40.0)
    assert summary["repeats"] == 4
    ratio = paired_ratio([2.0, 9.0, 3.0], [1.0, 3.0, 1.0])
    assert ratio["median"] == pytest.approx(3.0)
    assert ratio["min"] == pytest.approx(2.0)
    assert ratio["of_medians"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="equal"):
        paired_ratio([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_machine_load_fields():
    load = machine_load()
    assert len(load["loadavg"]) == 3
    assert load["cpu_count"] >= 1
    assert matmul_flops(2, 3, 4) == 48


@requires_tensorflow
def test_matmul_peak_structure():
    peak = matmul_peak(size=64, repeats=2, warmup=1)
    assert peak["size"] == 64
    assert len(peak["seconds"]) == 2
    assert peak["best_flops_per_s"] >= peak["flops_per_s"] > 0
