"""Exported CPU runtimes (ONNX Runtime, LiteRT) against the compiled TF graph, with parity.

    python benchmarks/deployment.py --size 513 --repeats 5 --json runs/bench/deployment.json

Exports the three-scale attention model (full VGG-16 width, 21 classes) with
the package's exporters (`keras_scaleattn.export`: ONNX with dynamic sizes,
LiteRT float32 and full-int8 at a fixed `--size`), times every runtime and
the same graph as a compiled TF graph (`tf.function`, and with XLA),
interleaved, and prints each runtime's speed-up over the TF graph (target:
1.5x or better for the best runtime) with its parity: the largest absolute
difference of every float output and the fraction of pixels whose class
agrees.

`--graph logits` exports only the forward pass (logits at output stride 8
and their arg-max) with tf2onnx and the TFLite converter directly, so that
the logits themselves are compared; the default, `serving`, is what the
package deploys (full-resolution class map, probabilities, attention).
Parity images are synthetic-dataset images; the weights are the seeded
random initialisation (no trained weights on this machine), whose logits
are small and close to one another, so class-map agreement is a strict test
here. Exports are cached between runs; the first run converts (minutes).
"""

import argparse
import os
import sys

# Before TensorFlow loads (the package imports it): no C++ start-up logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_scaleattn.evaluation.report import format_markdown_table  # noqa: E402
from keras_scaleattn.profiling.cli import add_common_arguments  # noqa: E402
from keras_scaleattn.profiling.cli import apply_quick  # noqa: E402
from keras_scaleattn.profiling.cli import build_segmenter  # noqa: E402
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402
from keras_scaleattn.profiling.cli import random_images  # noqa: E402
from keras_scaleattn.profiling.timing import interleaved_timings  # noqa: E402
from keras_scaleattn.profiling.timing import paired_ratio  # noqa: E402

FORMATS = ("onnxruntime", "litert-float32", "litert-int8")
REFERENCE = "tf-graph"
TARGET = 1.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=5)
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated subset of {','.join(FORMATS)}")
    parser.add_argument("--graph", choices=("serving", "logits"),
                        default=None,
                        help="exported graph (default: serving if the "
                             "package's exporters import, else logits)")
    parser.add_argument("--calibration-images", type=int, default=2,
                        help="int8 calibration images (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime / LiteRT threads (default: theirs; "
                             "LiteRT: one per CPU)")
    parser.add_argument("--no-xla", action="store_true",
                        help="skip the tf-xla row")
    args = apply_quick(parser.parse_args(argv))
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(args.formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats {sorted(unknown)}; known: {FORMATS}")
    return args


def parity_images(args):
    """Synthetic-dataset images (random pixels below its 97-pixel minimum)."""
    from keras_scaleattn.data import synthetic_scale_arrays

    if args.size < 97:
        return random_images(args, "uint8")
    images, _ = synthetic_scale_arrays("val", num_examples=args.batch,
                                       image_size=args.size, seed=args.seed)
    return images


def main(argv=None):
    args = parse_args(argv)
    print(header("Deployment: exported CPU runtimes over the compiled TF graph",
                 args))
    import tensorflow as tf

    from keras_scaleattn.data import synthetic_scale_arrays
    from keras_scaleattn.profiling.runtimes import ArtifactCache
    from keras_scaleattn.profiling.runtimes import LiteRTRunner
    from keras_scaleattn.profiling.runtimes import OnnxRunner
    from keras_scaleattn.profiling.runtimes import deployment_function
    from keras_scaleattn.profiling.runtimes import export_onnx_graph
    from keras_scaleattn.profiling.runtimes import export_tflite_graph
    from keras_scaleattn.profiling.runtimes import package_exporters_available
    from keras_scaleattn.profiling.runtimes import parity

    graph = args.graph or (
        "serving" if package_exporters_available() else "logits")
    cache = ArtifactCache({"classes": args.classes, "width": args.width,
                           "seed": args.seed, "scales": [1.0, 0.75, 0.5]})
    model, reused = cache.model(lambda: build_segmenter(args))
    print(f"graph: {graph}; artifacts in {cache.directory}")
    images = parity_images(args)
    size = (args.size, args.size)

    reference_fn = deployment_function(model, graph, "float32")
    x = tf.constant(images.astype(np.float32))
    runners = {REFERENCE: lambda: {k: v.numpy()
                                   for k, v in reference_fn(x).items()}}
    if not args.no_xla:
        xla_fn = tf.function(reference_fn.python_function, jit_compile=True,
                             input_signature=reference_fn.input_signature)
        runners["tf-xla"] = lambda: {k: v.numpy()
                                     for k, v in xla_fn(x).items()}
    if "onnxruntime" in args.formats:
        path, reused = cache.get(f"{graph}.onnx", lambda tmp: export_onnx_graph(
            model, graph, tmp))
        print(f"onnxruntime: {path} ({'cached' if reused else 'converted'})")
        onnx_runner = OnnxRunner(path, args.threads)
        runners["onnxruntime"] = lambda: onnx_runner(images.astype(np.float32))
    threads = args.threads or os.cpu_count()
    for quantization in ("float32", "int8"):
        name = f"litert-{quantization}"
        if name not in args.formats:
            continue
        calibration = None
        if quantization == "int8":
            source_size = max(args.size, 97)
            calibration, _ = synthetic_scale_arrays(
                "train", num_examples=args.calibration_images,
                image_size=source_size, seed=args.seed)
            calibration = [c[:args.size, :args.size] for c in calibration]
        path, reused = cache.get(
            f"{graph}_{args.size}_{quantization}.tflite",
            lambda tmp, q=quantization, c=calibration: export_tflite_graph(
                model, graph, tmp, q, size, c))
        print(f"{name}: {path} ({'cached' if reused else 'converted'})")
        runner = LiteRTRunner(path, threads)
        runners[name] = lambda runner=runner: runner(images)

    reference = runners[REFERENCE]()
    parities = {}
    for name, runner in runners.items():
        if name != REFERENCE:
            parities[name] = parity(reference, runner())
    times = interleaved_timings(runners, args.repeats, args.warmup)

    rows, results = [], {}
    for name in runners:
        wall = paired_ratio(times[REFERENCE], times[name])
        cpu = paired_ratio(times.cpu[REFERENCE], times.cpu[name])
        row = {"wall median ms": np.median(times[name]) * 1e3,
               "cpu median ms": np.median(times.cpu[name]) * 1e3,
               "speed-up (wall)": wall["median"],
               "wall range": f"{wall['min']:.2f}-{wall['max']:.2f}",
               "speed-up (cpu)": cpu["of_medians"]}
        for output, check in parities.get(name, {}).items():
            key, value = next(iter(check.items()))
            if key == "agreement":
                row[f"{output} agreement"] = f"{value:.4%}"
            else:
                row[f"{output} max|d|"] = f"{value:.2e}"
        if name != REFERENCE:
            row["target met (cpu)"] = cpu["of_medians"] >= TARGET
        rows.append((name, row))
        results[name] = {"wall_s": times[name], "cpu_s": times.cpu[name],
                         "speedup_wall": wall, "speedup_cpu": cpu,
                         "parity": parities.get(name)}
    columns = ["wall median ms", "cpu median ms", "speed-up (wall)",
               "wall range", "speed-up (cpu)"]
    for _, row in rows:
        for key in row:
            if key not in columns and key != "target met (cpu)":
                columns.append(key)
    columns.append("target met (cpu)")
    print(f"\n## Speed-up over {REFERENCE} (target {TARGET}x) and parity "
          "with it\n")
    print(format_markdown_table(rows, columns, row_header="runtime",
                                float_format="{:.2f}"))
    exported = [n for n in results if n not in (REFERENCE, "tf-xla")]
    if exported:
        best = max(exported,
                   key=lambda n: results[n]["speedup_cpu"]["of_medians"])
        best_float = max(
            [n for n in exported if "int8" not in n] or exported,
            key=lambda n: results[n]["speedup_cpu"]["of_medians"])
        print(f"\nbest exported runtime: {best} "
              f"({results[best]['speedup_cpu']['of_medians']:.2f}x cpu); "
              f"best float32 export: {best_float} "
              f"({results[best_float]['speedup_cpu']['of_medians']:.2f}x cpu)")
    return finish(args, {"config": vars(args), "graph": graph,
                         "cache": cache.directory, "results": results})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
