"""Peak resident memory of inference and of a training step, and a 1,000-prediction leak check.

    python benchmarks/memory_usage.py --size 513 --crop 321 --batch 2 --leak-calls 1000 --json runs/bench/memory_usage.json

Each measurement runs in its own subprocess, so that every peak (the
process's resident high-water mark, `ru_maxrss`) belongs to one workload:

- inference: the three-scale attention model (full VGG-16 width, 21
  classes) and single-scale LargeFOV, `predict_on_batch` on one
  `--size` image (two calls: the first traces);
- training: one `train_on_batch` of the three-scale model (the `compile()`
  defaults) on a `--batch` x `--crop` batch, then a second step;
- leak check: `--leak-calls` consecutive predictions of a tiny model (1/16
  width, 65x65 images, so that 1,000 calls take about a minute) through
  `predict_on_batch`, `predict` and a compiled `tf.function`, RSS sampled
  every `--sample-every` calls, after `gc.collect()` (so that cyclic
  garbage Python has not collected yet does not pass for a leak;
  `--no-collect-garbage` samples the raw RSS); reports RSS at start, middle
  and end and the slope over the second half (the first calls fill caches).
"""

import argparse
import os
import sys

# Before TensorFlow loads (the package imports it): no C++ start-up logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_scaleattn.evaluation.report import format_markdown_table  # noqa: E402
from keras_scaleattn.profiling.cli import add_common_arguments  # noqa: E402
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402
from keras_scaleattn.profiling.memory import MIB  # noqa: E402
from keras_scaleattn.profiling.memory import emit_result  # noqa: E402
from keras_scaleattn.profiling.memory import run_worker  # noqa: E402

LEAK_APIS = ("predict_on_batch", "predict", "tf_function")
# Growth over the second half of the leak check that counts as a leak.
LEAK_THRESHOLD_MIB = 5.0
QUICK = {"size": 65, "crop": 65, "width": 0.0625, "batch": 2,
         "leak_calls": 40, "sample_every": 5, "leak_apis": "predict_on_batch"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=1, batch=2)
    parser.add_argument("--crop", type=int, default=321,
                        help="training crop (default 321)")
    parser.add_argument("--leak-calls", type=int, default=1000,
                        help="consecutive predictions (default 1000)")
    parser.add_argument("--sample-every", type=int, default=10,
                        help="RSS sample period in calls (default 10)")
    parser.add_argument("--leak-apis", default=",".join(LEAK_APIS),
                        help=f"comma-separated subset of {','.join(LEAK_APIS)}")
    parser.add_argument("--no-collect-garbage", action="store_true",
                        help="leak check: sample RSS without gc.collect()")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="1.0,0.75,0.5",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    args.leak_apis = [a.strip() for a in args.leak_apis.split(",") if a]
    return args


def _model(args, width=None, scales=(1.0, 0.75, 0.5)):
    import keras

    from keras_scaleattn import ScaleAttentionSegmenter

    keras.utils.set_random_seed(args.seed)
    return ScaleAttentionSegmenter(num_classes=args.classes, scales=scales,
                                   trunk_width=width or args.width)


def _images(batch, size, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")


def inference_worker(args):
    from keras_scaleattn.profiling.memory import current_rss_bytes
    from keras_scaleattn.profiling.memory import peak_rss_bytes

    scales = tuple(float(s) for s in args.scales.split(","))
    images = _images(1, args.size, args.seed)
    baseline = current_rss_bytes()
    model = _model(args, scales=scales)
    built = current_rss_bytes()
    model.predict_on_batch(images)
    first_peak = peak_rss_bytes()
    model.predict_on_batch(images)
    emit_result({"rss_before_model": baseline, "rss_after_build": built,
                 "peak_after_first_call": first_peak,
                 "peak": peak_rss_bytes(), "rss_end": current_rss_bytes(),
                 "params": model.count_params()})


def training_worker(args):
    import numpy as np

    from keras_scaleattn.profiling.memory import current_rss_bytes
    from keras_scaleattn.profiling.memory import peak_rss_bytes

    images = _images(args.batch, args.crop, args.seed)
    labels = np.random.default_rng(args.seed).integers(
        0, args.classes, (args.batch, args.crop, args.crop)).astype("int32")
    baseline = current_rss_bytes()
    model = _model(args)
    model.compile()
    built = current_rss_bytes()
    model.train_on_batch(images, labels)
    first_peak = peak_rss_bytes()
    model.train_on_batch(images, labels)
    emit_result({"rss_before_model": baseline, "rss_after_build": built,
                 "peak_after_first_call": first_peak,
                 "peak": peak_rss_bytes(), "rss_end": current_rss_bytes()})


def leak_worker(args):
    import gc

    import tensorflow as tf

    from keras_scaleattn.profiling.memory import current_rss_bytes
    from keras_scaleattn.profiling.memory import leak_summary

    api = args.worker.split(":", 1)[1]
    model = _model(args, width=0.0625)
    images = _images(1, 65, args.seed)
    if api == "predict_on_batch":
        def call():
            return model.predict_on_batch(images)
    elif api == "predict":
        def call():
            return model.predict(images, verbose=0)
    elif api == "tf_function":
        function = tf.function(lambda x: model(x, training=False)["logits"])
        tensor = tf.constant(images)

        def call():
            return function(tensor).numpy()
    else:
        raise ValueError(f"`--leak-apis` must name {LEAK_APIS}. Received: {api!r}")
    call()
    calls, rss = [0], [current_rss_bytes()]
    for index in range(1, args.leak_calls + 1):
        call()
        if index % args.sample_every == 0:
            if not args.no_collect_garbage:
                gc.collect()
            calls.append(index)
            rss.append(current_rss_bytes())
    emit_result({"calls": calls, "rss": rss,
                 "summary": leak_summary(calls, rss)})


def main(argv=None):
    args = parse_args(argv)
    if args.worker == "inference":
        return inference_worker(args)
    if args.worker == "training":
        return training_worker(args)
    if args.worker and args.worker.startswith("leak:"):
        return leak_worker(args)
    print(header("Memory: peak RSS and a leak check", args))
    script = os.path.abspath(__file__)
    common = ["--size", str(args.size), "--crop", str(args.crop),
              "--width", str(args.width), "--classes", str(args.classes),
              "--batch", str(args.batch), "--seed", str(args.seed),
              "--leak-calls", str(args.leak_calls),
              "--sample-every", str(args.sample_every)]
    if args.no_collect_garbage:
        common.append("--no-collect-garbage")
    peaks = {
        f"inference three-scale {args.size}x{args.size}": run_worker(
            [script, *common, "--worker", "inference"]),
        f"inference single-scale {args.size}x{args.size}": run_worker(
            [script, *common, "--worker", "inference", "--scales", "1.0"]),
        f"training step, batch {args.batch} x {args.crop}x{args.crop}":
            run_worker([script, *common, "--worker", "training"]),
    }
    rows = []
    for name, r in peaks.items():
        rows.append((name, {
            "RSS before model MiB": r["rss_before_model"] / MIB,
            "after build MiB": r["rss_after_build"] / MIB,
            "peak MiB": r["peak"] / MIB,
            "peak - build MiB": (r["peak"] - r["rss_after_build"]) / MIB,
            "end MiB": r["rss_end"] / MIB}))
    print("\n## Peak resident memory (one subprocess each)\n")
    print(format_markdown_table(
        rows, ["RSS before model MiB", "after build MiB", "peak MiB",
               "peak - build MiB", "end MiB"],
        row_header="workload", float_format="{:.0f}"))

    leaks = {}
    for api in args.leak_apis:
        leaks[api] = run_worker([script, *common, "--worker", f"leak:{api}"])
    rows = []
    for api, r in leaks.items():
        s = r["summary"]
        rows.append((api, {
            "start MiB": s["start_mib"], "middle MiB": s["middle_mib"],
            "end MiB": s["end_mib"],
            "end - middle MiB": s["growth_second_half_mib"],
            "slope KiB/1000 calls": s["slope_kib_per_1000_calls"],
            "no growth": s["growth_second_half_mib"] < LEAK_THRESHOLD_MIB}))
    print(f"\n## Leak check: {args.leak_calls} consecutive predictions, tiny "
          "model, 65x65 (RSS every "
          f"{args.sample_every} calls"
          f"{'' if args.no_collect_garbage else ', after gc.collect()'}; "
          f"'no growth': < {LEAK_THRESHOLD_MIB} MiB over the second half)\n")
    print(format_markdown_table(
        rows, ["start MiB", "middle MiB", "end MiB", "end - middle MiB",
               "slope KiB/1000 calls", "no growth"],
        row_header="API", float_format="{:.2f}"))
    return finish(args, {"config": vars(args), "peaks": peaks,
                         "leaks": leaks})


if __name__ == "__main__":
    sys.exit(0 if main() is not False else 1)
