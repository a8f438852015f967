"""Achieved FLOP/s of a full-width forward pass over the same process's matmul FLOP/s.

    python benchmarks/efficiency.py --size 513 --repeats 5 --json runs/bench/efficiency.json

Counts the FLOPs of the three-scale attention model (full VGG-16 width, 21
classes) at `--size`, and times one forward pass on every CPU runtime:
TensorFlow graph (`tf.function`), TensorFlow with XLA (`jit_compile=True`),
ONNX Runtime and LiteRT (float32, fixed size) on the package's exports, and
JAX/XLA (`KERAS_BACKEND=jax`, in a subprocess); `--previous-ops` adds the
TF graph with the package's previous implementations patched back in. A float32
`tf.linalg.matmul` of `--matmul-size`^3 runs in the same rounds of the same
process, and each runtime's efficiency is its FLOP/s over the matmul's. The
target is >= 0.75 on the best runtime.

Efficiency is given two ways: from wall-clock time (per round, the
forward's FLOP/s over the matmul's in that round; what a user sees, but on
a shared machine it moves with the load) and from process CPU time (FLOPs
per CPU-second over the matmul's FLOPs per CPU-second; steady under load,
and a lower bound, since threads that spin while waiting are counted).

ONNX Runtime and LiteRT run the package's deployed graph (full-resolution
outputs: x8 upsampling, softmax and arg-max after the forward pass);
`tf-graph serving` times that same graph in TensorFlow, to show how much
that extra, uncounted work costs. Exports are cached (see
`keras_scaleattn.profiling.runtimes.ArtifactCache`); the first run converts
the model (minutes). `--quick` is a smoke run on a tiny model.
"""

import argparse
import os
import sys

# Before TensorFlow loads (the package imports it): no C++ start-up logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_scaleattn.evaluation.report import format_markdown_table  # noqa: E402
from keras_scaleattn.profiling.cli import add_common_arguments  # noqa: E402
from keras_scaleattn.profiling.cli import add_previous_ops_argument  # noqa: E402
from keras_scaleattn.profiling.cli import apply_quick  # noqa: E402
from keras_scaleattn.profiling.cli import build_segmenter  # noqa: E402
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402
from keras_scaleattn.profiling.cli import random_images  # noqa: E402
from keras_scaleattn.profiling.memory import emit_result  # noqa: E402
from keras_scaleattn.profiling.memory import run_worker  # noqa: E402
from keras_scaleattn.profiling.timing import interleaved_timings  # noqa: E402
from keras_scaleattn.profiling.timing import machine_load  # noqa: E402
from keras_scaleattn.profiling.timing import matmul_flops  # noqa: E402

RUNTIMES = ("tf-graph", "tf-xla", "onnxruntime", "litert", "jax")
TARGET = 0.75


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=5)
    parser.add_argument("--runtimes", default=",".join(RUNTIMES),
                        help=f"comma-separated subset of {','.join(RUNTIMES)}")
    parser.add_argument("--matmul-size", type=int, default=2048,
                        help="side of the reference matmul (default 2048)")
    add_previous_ops_argument(
        parser, "comma-separated previous implementations (see "
                "keras_scaleattn.profiling.previous_ops) timed together as "
                "one more tf-graph variant")
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime / LiteRT threads (default: theirs)")
    parser.add_argument("--worker", choices=("jax",), default=None,
                        help=argparse.SUPPRESS)
    args = apply_quick(parser.parse_args(argv))
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = set(args.runtimes) - set(RUNTIMES)
    if unknown:
        parser.error(f"unknown runtimes {sorted(unknown)}; known: {RUNTIMES}")
    return args


def matmul_variant(size):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), np.float32))
    b = tf.constant(rng.standard_normal((size, size), np.float32))
    # Eager CPU ops return once computed: only the product is timed.
    return lambda: tf.linalg.matmul(a, b)


def jax_worker(args):
    """Runs in a KERAS_BACKEND=jax process: JAX forward and TF matmul rounds."""
    import jax

    from keras_scaleattn.profiling.flops import count_flops

    model = build_segmenter(args)
    images = jax.numpy.asarray(random_images(args))
    flops = count_flops(model, images.shape).total
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward(trainable, non_trainable, images):
        outputs, _ = model.stateless_call(trainable, non_trainable, images,
                                          training=False)
        return outputs["logits"]

    variants = {
        "matmul": matmul_variant(args.matmul_size),
        "jax": lambda: forward(trainable, non_trainable,
                               images).block_until_ready(),
    }
    times = interleaved_timings(variants, args.repeats, args.warmup)
    emit_result({"flops": flops, "wall": dict(times), "cpu": times.cpu,
                 "device": str(jax.devices()[0])})


def efficiency(flops, matmul, seconds, matmul_seconds):
    """Per-round FLOP/s ratio (wall) or ratio of median rates (cpu)."""
    forward = np.asarray(seconds)
    reference = np.asarray(matmul_seconds)
    per_round = (flops / forward) / (matmul / reference)
    return {"median": float(np.median(per_round)),
            "min": float(per_round.min()), "max": float(per_round.max()),
            "of_medians": float((flops / np.median(forward))
                                / (matmul / np.median(reference)))}


def tf_variants(args, model, images, graph):
    import tensorflow as tf

    from keras_scaleattn.profiling.previous_ops import apply_previous_ops
    from keras_scaleattn.profiling.runtimes import deployment_function

    x = tf.constant(images)
    variants = {}
    if "tf-graph" in args.runtimes:
        function = tf.function(lambda x: model(x, training=False)["logits"],
                               autograph=False)
        variants["tf-graph"] = lambda: function(x).numpy()
    if "tf-xla" in args.runtimes:
        xla = tf.function(lambda x: model(x, training=False)["logits"],
                          jit_compile=True, autograph=False)
        variants["tf-xla"] = lambda: xla(x).numpy()
    if args.previous_ops:
        previous = apply_previous_ops(build_segmenter(args), args.previous_ops)
        before = tf.function(lambda x: previous(x, training=False)["logits"],
                             autograph=False)
        variants[f"tf-graph +{'+'.join(args.previous_ops)}"] = (
            lambda: before(x).numpy())
    if graph == "serving" and {"onnxruntime", "litert"} & set(args.runtimes):
        serve = deployment_function(model, "serving", "float32")
        variants["tf-graph serving"] = lambda: {
            k: v.numpy() for k, v in serve(x).items()}
    return variants


def export_variants(args, cache, model, images, graph):
    from keras_scaleattn.profiling.runtimes import LiteRTRunner
    from keras_scaleattn.profiling.runtimes import OnnxRunner
    from keras_scaleattn.profiling.runtimes import export_onnx_graph
    from keras_scaleattn.profiling.runtimes import export_tflite_graph

    variants = {}
    if "onnxruntime" in args.runtimes:
        path, reused = cache.get(f"{graph}.onnx", lambda tmp: export_onnx_graph(
            model, graph, tmp))
        print(f"ONNX model: {path} ({'cached' if reused else 'converted'})")
        runner = OnnxRunner(path, args.threads)
        variants["onnxruntime"] = lambda: runner(images)
    if "litert" in args.runtimes:
        size = (args.size, args.size)
        path, reused = cache.get(
            f"{graph}_{args.size}_float32.tflite",
            lambda tmp: export_tflite_graph(model, graph, tmp, "float32",
                                            size))
        print(f"LiteRT model: {path} ({'cached' if reused else 'converted'})")
        runner_l = LiteRTRunner(path, args.threads or os.cpu_count())
        uint8 = images.astype(np.uint8)
        variants["litert"] = lambda: runner_l(uint8)
    return variants


def main(argv=None):
    args = parse_args(argv)
    if args.worker == "jax":
        return jax_worker(args)
    print(header("Efficiency: achieved FLOP/s over matmul FLOP/s", args))
    from keras_scaleattn.profiling.flops import count_flops
    from keras_scaleattn.profiling.runtimes import ArtifactCache
    from keras_scaleattn.profiling.runtimes import package_exporters_available

    graph = "serving" if package_exporters_available() else "logits"
    cache = ArtifactCache({"classes": args.classes, "width": args.width,
                           "seed": args.seed, "scales": [1.0, 0.75, 0.5]})
    model, _ = cache.model(lambda: build_segmenter(args))
    images = random_images(args)
    flops = count_flops(model, images.shape).total
    matmul = matmul_flops(args.matmul_size, args.matmul_size, args.matmul_size)
    print(f"forward: {flops / 1e9:.3f} GFLOP (convolutions); reference: "
          f"{args.matmul_size}^3 float32 matmul, {matmul / 1e9:.3f} GFLOP")

    variants = {"matmul": matmul_variant(args.matmul_size)}
    variants.update(tf_variants(args, model, images, graph))
    variants.update(export_variants(args, cache, model, images, graph))
    times = interleaved_timings(variants, args.repeats, args.warmup)
    results = {}
    for name in variants:
        if name == "matmul":
            continue
        results[name] = {
            "wall_s": times[name], "cpu_s": times.cpu[name],
            "wall": efficiency(flops, matmul, times[name], times["matmul"]),
            "cpu": efficiency(flops, matmul, times.cpu[name],
                              times.cpu["matmul"])}
    matmul_rate = {"wall_gflops": matmul / np.median(times["matmul"]) / 1e9,
                   "cpu_gflops": matmul / np.median(times.cpu["matmul"]) / 1e9}

    if "jax" in args.runtimes:
        forwarded = list(argv if argv is not None else sys.argv[1:])
        if "--json" in forwarded:
            index = forwarded.index("--json")
            del forwarded[index:index + 2]
        forwarded = [a for a in forwarded if not a.startswith("--json=")]
        worker = run_worker([os.path.abspath(__file__), *forwarded,
                             "--worker", "jax"],
                            env={"KERAS_BACKEND": "jax"})
        results["jax"] = {
            "wall_s": worker["wall"]["jax"], "cpu_s": worker["cpu"]["jax"],
            "wall": efficiency(worker["flops"], matmul, worker["wall"]["jax"],
                               worker["wall"]["matmul"]),
            "cpu": efficiency(worker["flops"], matmul, worker["cpu"]["jax"],
                              worker["cpu"]["matmul"]),
            "note": "own process; efficiency against that process's matmul"}

    rows = []
    for name, r in results.items():
        rows.append((name, {
            "wall median ms": np.median(r["wall_s"]) * 1e3,
            "GFLOP/s (wall)": flops / np.median(r["wall_s"]) / 1e9,
            "efficiency (wall)": r["wall"]["median"],
            "wall range": f"{r['wall']['min']:.2f}-{r['wall']['max']:.2f}",
            "GFLOP/cpu-s": flops / np.median(r["cpu_s"]) / 1e9,
            "efficiency (cpu)": r["cpu"]["of_medians"],
            "target met (cpu)": r["cpu"]["of_medians"] >= TARGET}))
    print(f"\nmatmul {args.matmul_size}^3: {matmul_rate['wall_gflops']:.1f} "
          f"GFLOP/s wall (median), {matmul_rate['cpu_gflops']:.1f} GFLOP per "
          "CPU-second\n")
    print(format_markdown_table(
        rows, ["wall median ms", "GFLOP/s (wall)", "efficiency (wall)",
               "wall range", "GFLOP/cpu-s", "efficiency (cpu)",
               "target met (cpu)"],
        row_header="runtime", float_format="{:.2f}"))
    best = max(results, key=lambda n: results[n]["cpu"]["of_medians"])
    print(f"\nbest runtime (cpu efficiency): {best}, "
          f"{results[best]['cpu']['of_medians']:.2f} (target >= {TARGET}); "
          "by wall-clock: "
          f"{max(results, key=lambda n: results[n]['wall']['median'])}")
    if graph == "serving":
        print("onnxruntime and litert run the deployed graph (with x8 "
              "upsampling, softmax, arg-max): compare them with "
              "'tf-graph serving'; their FLOP/s count the forward pass only.")
    return finish(args, {"config": vars(args), "flops": flops,
                         "matmul_flops": matmul, "matmul": matmul_rate,
                         "graph": graph, "results": results,
                         "loadavg": machine_load()["loadavg"]})


if __name__ == "__main__":
    main()
