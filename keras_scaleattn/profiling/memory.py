"""Resident memory: peaks, samples over time, and the slope of a leak.

A peak is only meaningful for one workload per process (the high-water mark
never goes down), so the benchmarks run each workload in its own subprocess
(`run_worker`) and read `peak_rss_bytes` there. `RssSampler` records the
resident set size every few milliseconds from a background thread, for a
curve or for the peak of one phase; `leak_summary` fits a line to RSS
samples taken over many calls of the same function.
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np

MIB = 1024 * 1024
# Marks the line of a worker's stdout that holds its JSON result.
RESULT_PREFIX = "PROFILING_RESULT "


def current_rss_bytes():
    """The resident set size of this process now, in bytes (psutil)."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes():
    """The process's resident high-water mark so far, in bytes.

    `getrusage(RUSAGE_SELF).ru_maxrss` (kilobytes on Linux, bytes on
    macOS): the true peak, including spikes shorter than any sampling
    interval.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class RssSampler:
    """Samples this process's RSS from a background thread.

    Use as a context manager; afterwards `samples` holds `(seconds since
    start, rss bytes)` pairs and `peak` the largest sample.

    Args:
        interval: float. Seconds between samples. Defaults to 0.01.

    Example:

    >>> with RssSampler(interval=0.005) as sampler:
    ...     block = bytearray(50 * 1024 * 1024)
    >>> sampler.peak > 50 * 1024 * 1024
    True
    """

    def __init__(self, interval=0.01):
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(
                "`interval` must be a positive number of seconds. "
                f"Received: interval={interval!r}")
        self.interval = float(interval)
        self.samples = []
        self._stop = threading.Event()
        self._thread = None
        self._start = None

    def _sample(self):
        self.samples.append((time.perf_counter() - self._start,
                             current_rss_bytes()))

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self.samples = []
        self._stop.clear()
        self._start = time.perf_counter()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        return False

    @property
    def peak(self):
        """The largest sampled RSS in bytes (0 before any sample)."""
        return max((rss for _, rss in self.samples), default=0)


def linear_slope(xs, ys):
    """Least-squares slope of `ys` against `xs`.

    Example:

    >>> round(linear_slope([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0]), 9)
    2.0
    """
    xs = np.asarray(list(xs), np.float64)
    ys = np.asarray(list(ys), np.float64)
    if xs.size < 2 or xs.shape != ys.shape:
        raise ValueError(
            "`xs` and `ys` must have the same length, at least 2. "
            f"Received lengths {xs.size} and {ys.size}")
    return float(np.polyfit(xs, ys, 1)[0])


def leak_summary(calls, rss):
    """Start, middle and end RSS of a repeated call, and its growth rate.

    The slope is fitted on the second half of the samples: the first calls
    allocate caches (traced graphs, the allocator's pools) that are not a
    leak.

    Args:
        calls: sequence of call counts at which RSS was sampled (increasing).
        rss: sequence of RSS bytes, same length, at least 4.

    Returns:
        dict with `"start_mib"`, `"middle_mib"`, `"end_mib"`,
        `"growth_second_half_mib"` (end minus middle) and
        `"slope_kib_per_1000_calls"` (over the second half).

    Example:

    >>> summary = leak_summary([0, 10, 20, 30], [100 * MIB] * 4)
    >>> round(summary["slope_kib_per_1000_calls"], 6)
    0.0
    """
    calls = list(calls)
    rss = list(rss)
    if len(calls) < 4 or len(calls) != len(rss):
        raise ValueError(
            "`calls` and `rss` must have the same length, at least 4. "
            f"Received lengths {len(calls)} and {len(rss)}")
    middle = len(calls) // 2
    slope = linear_slope(calls[middle:], rss[middle:])
    return {
        "start_mib": rss[0] / MIB,
        "middle_mib": rss[middle] / MIB,
        "end_mib": rss[-1] / MIB,
        "growth_second_half_mib": (rss[-1] - rss[middle]) / MIB,
        "slope_kib_per_1000_calls": slope * 1000 / 1024,
    }


def emit_result(result):
    """Prints a worker's result where `run_worker` finds it (one line)."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_worker(argv, env=None, timeout=None):
    """Runs a Python worker in a fresh process and returns its result.

    Args:
        argv: list of str, the arguments after the interpreter
            (`["benchmarks/memory_usage.py", "--worker", "inference"]`).
        env: dict of extra environment variables, or None.
        timeout: float seconds or None.

    Returns:
        The object the worker passed to `emit_result` (its last one).

    Raises:
        RuntimeError: if the worker fails or prints no result; the message
            holds the end of its output.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    process = subprocess.run([sys.executable, *argv], env=full_env,
                             capture_output=True, text=True, timeout=timeout)
    results = [line[len(RESULT_PREFIX):] for line in process.stdout.splitlines()
               if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not results:
        tail = (process.stdout + process.stderr)[-3000:]
        raise RuntimeError(
            f"Worker {argv} exited with {process.returncode} and "
            f"{'no' if not results else 'a'} result. Output ends with:\n{tail}")
    return json.loads(results[-1])
