"""Memory helpers: sampler, peak, leak summary and subprocess workers."""

import pytest

from keras_scaleattn.profiling import RssSampler
from keras_scaleattn.profiling import current_rss_bytes
from keras_scaleattn.profiling import leak_summary
from keras_scaleattn.profiling import linear_slope
from keras_scaleattn.profiling import peak_rss_bytes
from keras_scaleattn.profiling import run_worker
from keras_scaleattn.profiling.memory import MIB


def test_sampler_records_samples_and_sees_an_allocation():
    with RssSampler(interval=0.002) as sampler:
        block = bytearray(64 * MIB)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        del block
    assert len(sampler.samples) >= 2
    times = [t for t, _ in sampler.samples]
    assert times == sorted(times)
    assert sampler.peak >= 64 * MIB
    with pytest.raises(ValueError, match="interval"):
        RssSampler(interval=0)


def test_peak_is_at_least_current():
    assert peak_rss_bytes() >= current_rss_bytes() > 0


def test_slope_and_leak_summary():
    assert linear_slope([0, 1, 2], [5.0, 5.0, 5.0]) == pytest.approx(0.0)
    calls = list(range(0, 1001, 100))
    # 1 MiB of caches at first, then 2 KiB per call.
    rss = [100 * MIB + (MIB if c else 0) + 2048 * c for c in calls]
    summary = leak_summary(calls, rss)
    assert summary["start_mib"] == pytest.approx(100.0)
    assert summary["slope_kib_per_1000_calls"] == pytest.approx(2000.0)
    assert summary["growth_second_half_mib"] == pytest.approx(
        2048 * 500 / MIB)
    with pytest.raises(ValueError, match="at least 4"):
        leak_summary([0, 1], [1, 2])


def test_run_worker_returns_the_last_result():
    code = ("from keras_scaleattn.profiling import emit_result; "
            "print('noise'); emit_result({'a': 1}); emit_result({'a': 2})")
    assert run_worker(["-c", code]) == {"a": 2}


def test_run_worker_failure_shows_output():
    with pytest.raises(RuntimeError, match="boom"):
        run_worker(["-c", "import sys; print('boom'); sys.exit(3)"])
