"""Wall-clock timing that survives a shared, noisy machine.

The benchmarks run on CPUs that other jobs use at the same time, so an
absolute latency says little: what is reported is the *ratio* of two
variants measured in the same process, interleaved round by round (A, B, A,
B, ...), so that a load spike hits both. `interleaved_timings` does the
rounds; `paired_ratio` takes the median of the per-round ratios, which
cancels a slow drift of the load better than a ratio of medians.
`machine_load` records the load average next to every figure.
"""

import os
import platform
import statistics
import time

import numpy as np


def _check_count(value, name, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f"`{name}` must be an int >= {low}. Received: {name}={value!r}")
    return value


class Timings(dict):
    """`interleaved_timings`'s result: name -> wall seconds per round.

    A dict of wall-clock lists (what latency means), with the same rounds'
    process CPU seconds (every thread of this process) in `.cpu`. On a
    shared machine, CPU seconds move less with the load than wall seconds:
    a thread that is descheduled waits without using CPU time.
    """

    def __init__(self, wall, cpu):
        super().__init__(wall)
        self.cpu = dict(cpu)


def interleaved_timings(variants, repeats=5, warmup=1):
    """Times several callables round-robin.

    Each round calls every variant once, in the given order, then the order
    is reversed for the next round, so that no variant always runs right
    after the same other one (caches, CPU frequency).

    Args:
        variants: dict name -> callable taking no argument. A callable
            should block until its result is computed (call `.numpy()` or
            `block_until_ready()` inside).
        repeats: int >= 1. Timed rounds. Defaults to 5.
        warmup: int >= 0. Untimed rounds first (tracing, compilation,
            allocation). Defaults to 1.

    Returns:
        `Timings`: dict name -> list of `repeats` wall seconds, in round
        order, and `.cpu`, the same for process CPU seconds.

    Example:

    >>> times = interleaved_timings({"a": lambda: None, "b": lambda: None},
    ...                             repeats=3)
    >>> sorted(times), len(times["a"]), len(times.cpu["b"])
    (['a', 'b'], 3, 3)
    """
    if not isinstance(variants, dict) or not variants:
        raise ValueError(
            "`variants` must be a non-empty dict name -> callable. "
            f"Received: {type(variants).__name__}")
    for name, function in variants.items():
        if not callable(function):
            raise ValueError(
                f"`variants[{name!r}]` must be callable. "
                f"Received: {type(function).__name__}")
    _check_count(repeats, "repeats", 1)
    _check_count(warmup, "warmup", 0)
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for round_index in range(repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            cpu_start = time.process_time()
            start = time.perf_counter()
            variants[name]()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    return Timings(wall, cpu)


def summarize(seconds):
    """Median, min, max and spread of a list of seconds, in milliseconds.

    Args:
        seconds: non-empty sequence of float seconds.

    Returns:
        dict with `"median_ms"`, `"min_ms"`, `"max_ms"`, `"iqr_ms"`
        (interquartile range) and `"repeats"`.

    Example:

    >>> summarize([0.010, 0.020, 0.030])["median_ms"]
    20.0
    """
    ms = np.asarray(list(seconds), np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("`seconds` must not be empty.")
    q1, q3 = np.percentile(ms, [25, 75])
    return {"median_ms": float(np.median(ms)), "min_ms": float(ms.min()),
            "max_ms": float(ms.max()), "iqr_ms": float(q3 - q1),
            "repeats": int(ms.size)}


def paired_ratio(numerator, denominator):
    """Median over rounds of `numerator[i] / denominator[i]`.

    Args:
        numerator: sequence of seconds from `interleaved_timings`.
        denominator: sequence of the same length, same rounds.

    Returns:
        dict with `"median"` (the ratio reported), `"min"`, `"max"` and
        `"of_medians"` (median(numerator) / median(denominator)).

    Example:

    >>> paired_ratio([2.0, 4.0, 6.0], [1.0, 2.0, 2.0])["median"]
    2.0
    """
    num = np.asarray(list(numerator), np.float64)
    den = np.asarray(list(denominator), np.float64)
    if num.size == 0 or num.shape != den.shape:
        raise ValueError(
            "`numerator` and `denominator` must be non-empty and of equal "
            f"length. Received lengths {num.size} and {den.size}")
    ratios = num / den
    return {"median": float(np.median(ratios)), "min": float(ratios.min()),
            "max": float(ratios.max()),
            "of_medians": float(np.median(num) / np.median(den))}


def machine_load():
    """The machine and its load, to print next to every timing.

    Returns:
        dict with `"loadavg"` (1, 5 and 15 minute load averages),
        `"cpu_count"`, `"machine"` and `"processor"`.
    """
    return {"loadavg": [round(v, 2) for v in os.getloadavg()],
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine()}


def matmul_flops(m, n, k):
    """Floating-point operations of an `[m, k] @ [k, n]` product: 2 m n k."""
    return 2 * int(m) * int(n) * int(k)


def matmul_peak(size=2048, repeats=10, warmup=2):
    """Float32 matrix-multiply throughput of this process, in FLOP/s.

    The reference for "achieved FLOP/s": a large square `tf.linalg.matmul`
    is as close to the machine's usable peak as TensorFlow gets.

    Args:
        size: int. Side of the square matrices. Defaults to 2048.
        repeats: int. Timed products. Defaults to 10.
        warmup: int. Untimed products first. Defaults to 2.

    Returns:
        dict with `"flops_per_s"` (from the median time), `"best_flops_per_s"`
        (from the fastest), `"size"` and `"seconds"` (every timed product).
    """
    import tensorflow as tf

    _check_count(size, "size", 1)
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), np.float32))
    b = tf.constant(rng.standard_normal((size, size), np.float32))
    # Eager CPU ops return when their result is computed; no copy out, so
    # only the product is timed.
    seconds = interleaved_timings({"matmul": lambda: tf.linalg.matmul(a, b)},
                                  repeats, warmup)["matmul"]
    flops = matmul_flops(size, size, size)
    return {"flops_per_s": flops / statistics.median(seconds),
            "best_flops_per_s": flops / min(seconds), "size": size,
            "seconds": seconds}
