"""Latency of every available runtime on the same model and inputs.

The library behind `deploy/benchmark.py`. Each runner is a callable taking
one uint8 batch `[B, H, W, 3]` and returning the output dict; it is called
`warmup` times untimed, then `repeats` times under `time.perf_counter`. The
time is what an application pays per call: input validation, dtype
conversion, the forward pass and the copy of the full-resolution outputs.

Runners (`collect_runners`): the Keras model eagerly (`keras:eager`, op by
op) and as a `tf.function` graph (`keras:compiled`, the reference for the
ratios), then every artifact found in an export directory
(`saved_model`, `onnxruntime:model*.onnx`, `litert:model*.tflite`, and
`tensorrt:*.plan` / `*.engine` where TensorRT and a GPU exist); fixed-size
TFLite models of another size, and formats whose runtime is missing, are
listed as skipped with the reason.
"""

import glob
import os
import platform
import time

import numpy as np

from keras_scaleattn.evaluation.report import format_markdown_table

REFERENCE = "keras:compiled"
TABLE_COLUMNS = ("median ms", "p90 ms", "mean ms", "min ms", "repeats",
                 "x keras")


def time_callable(function, inputs, repeats=10, warmup=1):
    """Wall-clock seconds of `repeats` calls of `function(inputs)`.

    Args:
        function: callable.
        inputs: its argument.
        repeats: int >= 1. Timed calls. Defaults to 10.
        warmup: int >= 0. Untimed calls first (graph tracing, allocation).
            Defaults to 1.

    Returns:
        list of float seconds, one per timed call.

    Example:

    >>> len(time_callable(lambda x: x + 1, 1, repeats=3))
    3
    """
    for name, value, low in (("repeats", repeats, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                f"`{name}` must be an int >= {low}. Received: {name}={value!r}")
    for _ in range(warmup):
        function(inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(inputs)
        times.append(time.perf_counter() - start)
    return times


def latency_summary(seconds):
    """Median, 90th percentile, mean and minimum in milliseconds.

    Args:
        seconds: non-empty sequence of float seconds.

    Returns:
        dict with `"median_ms"`, `"p90_ms"`, `"mean_ms"`, `"min_ms"` and
        `"repeats"`.

    Example:

    >>> latency_summary([0.010, 0.020, 0.030])["median_ms"]
    20.0
    """
    ms = np.asarray(seconds, np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("`seconds` must not be empty.")
    return {"median_ms": float(np.median(ms)),
            "p90_ms": float(np.percentile(ms, 90)),
            "mean_ms": float(ms.mean()), "min_ms": float(ms.min()),
            "repeats": int(ms.size)}


def benchmark(runners, images, repeats=10, warmup=1, reference=REFERENCE):
    """Times every runner on the same batch.

    Args:
        runners: dict name -> callable(batch) (see `collect_runners`).
        images: uint8 array `[B, H, W, 3]`.
        repeats: int. Timed calls per runner. Defaults to 10.
        warmup: int. Untimed calls first. Defaults to 1.
        reference: str. The runner the ratios are relative to (missing:
            no ratios). Defaults to `"keras:compiled"`.

    Returns:
        dict name -> `latency_summary` plus `"ratio_to_reference"`
        (median / reference median; None without the reference) or, for a
        runner that raised, `{"error": message}`.
    """
    results = {}
    for name, runner in runners.items():
        try:
            results[name] = latency_summary(
                time_callable(runner, images, repeats, warmup))
        except Exception as error:  # one broken runtime must not end the run
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    base = results.get(reference, {}).get("median_ms")
    for summary in results.values():
        if "median_ms" in summary:
            summary["ratio_to_reference"] = (
                summary["median_ms"] / base if base else None)
    return results


def _keras_runners(model_path):
    import keras
    import tensorflow as tf

    import keras_scaleattn  # noqa: F401  (registers the layers)
    from keras_scaleattn.export.images import prepare_images
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )
    from keras_scaleattn.export.serving import segmentation_outputs

    model = keras.models.load_model(model_path)

    def eager(images):
        batch, _ = prepare_images(images)
        outputs = segmentation_outputs(model, tf.constant(batch))
        return {k: v.numpy() for k, v in outputs.items()}

    return {"keras:eager": eager,
            "keras:compiled": SegmentationRuntime(model_path)}


def collect_runners(model_path, export_dir=None, image_size=None,
                    num_threads=None):
    """The runners `benchmark` times, and the ones skipped with a reason.

    Args:
        model_path: str. The `.keras` model.
        export_dir: str or None. A directory written by `export_artifacts`
            (and `build_engine`); None: Keras only.
        image_size: None or `(height, width)` of the benchmark images, to
            skip fixed-size TFLite models of another size.
        num_threads: int or None. LiteRT threads.

    Returns:
        tuple `(runners, skipped)`: dict name -> callable and dict name ->
        reason.
    """
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    runners = _keras_runners(model_path)
    skipped = {}
    if export_dir is None:
        return runners, skipped
    candidates = []
    saved_model = os.path.join(export_dir, "saved_model")
    if os.path.isdir(saved_model):
        candidates.append(("saved_model", saved_model))
    for pattern, kind in (("*.onnx", "onnxruntime"), ("*.tflite", "litert"),
                          ("*.plan", "tensorrt"), ("*.engine", "tensorrt")):
        for path in sorted(glob.glob(os.path.join(export_dir, pattern))):
            candidates.append((f"{kind}:{os.path.basename(path)}", path))
    for name, path in candidates:
        try:
            runtime = SegmentationRuntime(path, num_threads=num_threads)
        except ImportError as error:
            skipped[name] = str(error).split(":")[0]
            continue
        if (runtime.fixed_size and image_size
                and tuple(runtime.fixed_size) != tuple(image_size)):
            skipped[name] = (f"fixed size {runtime.fixed_size}, benchmark "
                             f"size {tuple(image_size)}")
            continue
        runners[name] = runtime
    return runners, skipped


def run_benchmark(model_path, export_dir=None, size=513, batch=1, repeats=10,
                  warmup=1, num_threads=None, seed=0):
    """Benchmarks the Keras model and every artifact on one random batch.

    Args:
        model_path: str. The `.keras` model.
        export_dir: str or None. Artifacts to time as well.
        size: int. Height and width of the images. Defaults to 513.
        batch: int. Batch size. Defaults to 1.
        repeats: int. Defaults to 10.
        warmup: int. Defaults to 1.
        num_threads: int or None. LiteRT threads.
        seed: int. Seed of the random uint8 images. Defaults to 0.

    Returns:
        dict: `"config"` (sizes, repeats, machine), `"results"` (see
        `benchmark`) and `"skipped"` (name -> reason).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"`size` must be a positive int. Received: size={size!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(
            f"`batch` must be a positive int. Received: batch={batch!r}")
    runners, skipped = collect_runners(model_path, export_dir, (size, size),
                                       num_threads)
    images = np.random.default_rng(seed).integers(
        0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    results = benchmark(runners, images, repeats, warmup)
    return {
        "config": {"model": os.fspath(model_path), "export_dir": export_dir,
                   "size": size, "batch": batch, "repeats": repeats,
                   "warmup": warmup, "reference": REFERENCE,
                   "machine": platform.machine(),
                   "processor": platform.processor(),
                   "cpu_count": os.cpu_count()},
        "results": results,
        "skipped": skipped,
    }


def benchmark_table(report):
    """Formats `run_benchmark`'s results (and skips) as a Markdown table."""
    rows = []
    for name, summary in report["results"].items():
        if "error" in summary:
            rows.append((name, {"median ms": "error: " + summary["error"]}))
            continue
        ratio = summary.get("ratio_to_reference")
        rows.append((name, {
            "median ms": summary["median_ms"], "p90 ms": summary["p90_ms"],
            "mean ms": summary["mean_ms"], "min ms": summary["min_ms"],
            "repeats": summary["repeats"],
            "x keras": None if ratio is None else f"{ratio:.2f}"}))
    for name, reason in report.get("skipped", {}).items():
        rows.append((name, {"median ms": "skipped: " + reason}))
    return format_markdown_table(rows, TABLE_COLUMNS, row_header="runtime",
                                 float_format="{:.1f}")
