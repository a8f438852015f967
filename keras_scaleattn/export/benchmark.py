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
listed as skipped with the reason; a file that does not load (truncated,
corrupt) is listed as an error and the others are still timed.
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


def _int_at_least(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f"`{name}` must be an int >= {low}. Received: {name}={value!r}")


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
    _int_at_least("repeats", repeats, 1)
    _int_at_least("warmup", warmup, 0)
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


def check_benchmark_settings(size, batch=1, repeats=10, warmup=1,
                             num_threads=None, min_input_size=None,
                             argument_names=None):
    """Raises a `ValueError` for settings no runtime could be timed with.

    Checked before anything is exported or timed, so that a bad setting
    is one error, not a table of errors.

    Args:
        size: int. Height and width of the images; at least
            `min_input_size` when that is given.
        batch: int >= 1. Defaults to 1.
        repeats: int >= 1. Defaults to 10.
        warmup: int >= 0. Defaults to 1.
        num_threads: None or a positive int. Defaults to None.
        min_input_size: int or None. The model's smallest side.
        argument_names: None or a dict argument name -> the name errors
            use (`deploy/benchmark.py` passes its flags, e.g.
            `{"size": "--size"}`). Defaults to None.

    Example:

    >>> try:
    ...     check_benchmark_settings(20, repeats=5, min_input_size=33)
    ... except ValueError as error:
    ...     print(error)
    `size` must be at least the model's min_input_size (33). Received: size=20
    """
    from keras_scaleattn.export.segmentation_runtime import (
        check_num_threads,
    )

    names = argument_names or {}

    def arg(name):
        return names.get(name, name)

    for name, value, low in (("size", size, 1), ("batch", batch, 1),
                             ("repeats", repeats, 1), ("warmup", warmup, 0)):
        _int_at_least(arg(name), value, low)
    check_num_threads(num_threads, arg("num_threads"))
    if min_input_size and size < min_input_size:
        raise ValueError(
            f"`{arg('size')}` must be at least the model's min_input_size "
            f"({min_input_size}). Received: {arg('size')}={size!r}")


def load_keras_runtime(model_path, argument="model_path"):
    """The `.keras` model to benchmark, as a `SegmentationRuntime`.

    Args:
        model_path: str or os.PathLike. The `.keras` model.
        argument: str. The name errors give `model_path` (`deploy/
            benchmark.py` passes `"--model"`). Defaults to `"model_path"`.

    Returns:
        `SegmentationRuntime` of kind `"keras"` (the `keras:compiled`
        runner; `.metadata["min_input_size"]` is the model's smallest side).

    Raises:
        FileNotFoundError: if `model_path` does not exist.
        ValueError: if it is not a `.keras` model or could not be loaded
            (truncated, corrupt or not a segmenter: `load_keras_model`'s
            errors).
    """
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )
    from keras_scaleattn.export.segmentation_runtime import detect_model_kind

    kind = detect_model_kind(model_path, argument)
    if kind != "keras":
        raise ValueError(
            f"`{argument}` must be a .keras model (the reference every "
            f"artifact is timed against). Received: "
            f"{argument}={os.fspath(model_path)!r} (a {kind!r} model)")
    return SegmentationRuntime(model_path, argument_names={"path": argument})


def _keras_runners(keras_runtime):
    from keras import ops

    from keras_scaleattn.export.images import prepare_images
    from keras_scaleattn.inference.full_resolution import (
        full_resolution_outputs,
    )

    model = keras_runtime.keras_model

    def eager(images):
        batch, _ = prepare_images(images)
        outputs = full_resolution_outputs(model, batch)
        return {k: ops.convert_to_numpy(v) for k, v in outputs.items()}

    return {"keras:eager": eager, REFERENCE: keras_runtime}


def find_artifacts(export_dir, argument="export_dir"):
    """The artifacts in an export directory that the benchmark can time.

    Args:
        export_dir: str or os.PathLike. A directory written by
            `export_artifacts` (and `build_engine`).
        argument: str. The name errors give `export_dir` (`deploy/
            benchmark.py` passes `"--export-dir"`). Defaults to
            `"export_dir"`.

    Returns:
        list of `(name, path)`: `("saved_model", dir)`, then
        `("onnxruntime:<file>", path)`, `("litert:<file>", path)` and
        `("tensorrt:<file>", path)` for each `.onnx`, `.tflite`, `.plan`
        and `.engine`, sorted by file name.

    Raises:
        FileNotFoundError: if `export_dir` is not a directory.
        ValueError: if it holds no artifact at all.
    """
    export_dir = os.fspath(export_dir)
    if not os.path.isdir(export_dir):
        raise FileNotFoundError(
            f"`{argument}` is not a directory. Received: "
            f"{argument}={export_dir!r}")
    candidates = []
    saved_model = os.path.join(export_dir, "saved_model")
    if os.path.isdir(saved_model):
        candidates.append(("saved_model", saved_model))
    for pattern, kind in (("*.onnx", "onnxruntime"), ("*.tflite", "litert"),
                          ("*.plan", "tensorrt"), ("*.engine", "tensorrt")):
        for path in sorted(glob.glob(os.path.join(export_dir, pattern))):
            candidates.append((f"{kind}:{os.path.basename(path)}", path))
    if not candidates:
        raise ValueError(
            f"`{argument}` holds no artifact to benchmark (saved_model/, "
            "*.onnx, *.tflite, *.plan, *.engine). Received: "
            f"{argument}={export_dir!r}")
    return candidates


def collect_runners(model_path, export_dir=None, image_size=None,
                    num_threads=None, keras_runtime=None):
    """The runners `benchmark` times, the ones skipped and the ones broken.

    Args:
        model_path: str. The `.keras` model.
        export_dir: str or None. A directory written by `export_artifacts`
            (and `build_engine`); None: Keras only.
        image_size: None or `(height, width)` of the benchmark images, to
            skip fixed-size TFLite models of another size.
        num_threads: int or None. LiteRT threads.
        keras_runtime: `SegmentationRuntime` already loaded from
            `model_path` (`load_keras_runtime`), or None to load it.

    Returns:
        tuple `(runners, skipped, failed)`: dict name -> callable, dict
        name -> reason (runtime not installed, other fixed size) and dict
        name -> error message for files in `export_dir` that could not be
        loaded (truncated, corrupt): one broken file does not end the run.

    Raises:
        FileNotFoundError: if `export_dir` is not a directory.
        ValueError: if `export_dir` holds no artifact at all
            (`find_artifacts`).
    """
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    runners = _keras_runners(keras_runtime or load_keras_runtime(model_path))
    skipped, failed = {}, {}
    if export_dir is None:
        return runners, skipped, failed
    for name, path in find_artifacts(export_dir):
        try:
            runtime = SegmentationRuntime(path, num_threads=num_threads)
        except ImportError as error:
            skipped[name] = str(error).split(":")[0]
            continue
        except Exception as error:  # one broken file must not end the run
            failed[name] = f"{type(error).__name__}: {error}"
            continue
        if (runtime.fixed_size and image_size
                and tuple(runtime.fixed_size) != tuple(image_size)):
            skipped[name] = (f"fixed size {runtime.fixed_size}, benchmark "
                             f"size {tuple(image_size)}")
            continue
        runners[name] = runtime
    return runners, skipped, failed


def run_benchmark(model_path, export_dir=None, size=513, batch=1, repeats=10,
                  warmup=1, num_threads=None, seed=0, keras_runtime=None):
    """Benchmarks the Keras model and every artifact on one random batch.

    The settings are checked (`check_benchmark_settings`, `size` against
    the model's `min_input_size`) before anything is timed.

    Args:
        model_path: str. The `.keras` model.
        export_dir: str or None. Artifacts to time as well.
        size: int. Height and width of the images. Defaults to 513.
        batch: int. Batch size. Defaults to 1.
        repeats: int >= 1. Defaults to 10.
        warmup: int >= 0. Defaults to 1.
        num_threads: int or None. LiteRT threads.
        seed: int. Seed of the random uint8 images. Defaults to 0.
        keras_runtime: `SegmentationRuntime` already loaded from
            `model_path` (`load_keras_runtime`), or None to load it.

    Returns:
        dict: `"config"` (sizes, repeats, machine), `"results"` (see
        `benchmark`; an artifact that could not be loaded is an
        `{"error": message}` entry) and `"skipped"` (name -> reason).

    Raises:
        FileNotFoundError: if `model_path` or `export_dir` does not exist.
        ValueError: for a bad setting, a `model_path` that is not a
            loadable `.keras` model, or an `export_dir` without artifacts.
    """
    check_benchmark_settings(size, batch, repeats, warmup, num_threads)
    keras_runtime = keras_runtime or load_keras_runtime(model_path)
    check_benchmark_settings(size, batch, repeats, warmup, num_threads,
                             keras_runtime.min_input_size)
    runners, skipped, failed = collect_runners(
        model_path, export_dir, (size, size), num_threads, keras_runtime)
    images = np.random.default_rng(seed).integers(
        0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    results = benchmark(runners, images, repeats, warmup)
    results.update({name: {"error": "could not load: " + message}
                    for name, message in failed.items()})
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
