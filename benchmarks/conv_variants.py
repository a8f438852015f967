"""The two convolutions changed for speed, each in its previous and current form.

    python benchmarks/conv_variants.py --repeats 7 --json runs/bench/conv_variants.json

Micro-benchmarks behind the package changes A and B of
docs/performance.md ("Applied changes"), each variant timed interleaved in one process (wall and
CPU time, GFLOP per CPU-second):

- the attention head's `att_conv1`: a 3x3 convolution of the concatenated
  fc7 maps (3 x 1024 channels) to 512 filters at 65x65, as one convolution
  (previous), as three 1024-channel convolutions on slices of the same
  kernel, summed (current), and under XLA;
- fc6, the 3x3 convolution with dilation 12 (512 -> 1024 channels), at the
  map sizes of the three scales of a 513 image (65, 49, 33), through
  `tf.nn.convolution` (TF's SpaceToBatchND lowering, previous), as one
  `Conv2D` with `dilations` (current), and under XLA.

Outputs are checked to agree between variants. `--quick` uses 1/16 of the
channels.
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
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402
from keras_scaleattn.profiling.flops import conv_flops  # noqa: E402
from keras_scaleattn.profiling.timing import interleaved_timings  # noqa: E402
from keras_scaleattn.profiling.timing import paired_ratio  # noqa: E402

FC7_CHANNELS, ATTENTION_FILTERS = 1024, 512
FC6_IN, FC6_OUT, FC6_RATE = 512, 1024, 12


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=7)
    return apply_quick(parser.parse_args(argv))


def attention_variants(tf, rng, side, channels, filters):
    features = tf.constant(rng.standard_normal(
        (1, side, side, 3 * channels)).astype(np.float32))
    kernel = tf.Variable(rng.standard_normal(
        (3, 3, 3 * channels, filters)).astype(np.float32) * 0.01)

    def concat(x):
        return tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))

    def split(x):
        total = None
        for i in range(3):
            part = kernel[:, :, i * channels:(i + 1) * channels, :]
            y = tf.nn.conv2d(x[..., i * channels:(i + 1) * channels], part,
                             1, "SAME")
            total = y if total is None else total + y
        return tf.nn.relu(total)

    functions = {
        "att_conv1: one conv, 3072 ch (previous)": tf.function(concat),
        "att_conv1: 3 convs of 1024 ch, summed (current)": tf.function(split),
        "att_conv1: one conv, XLA": tf.function(concat, jit_compile=True),
    }
    flops = conv_flops((1, side, side, 3 * channels),
                       (1, side, side, filters), tuple(kernel.shape))
    return functions, features, flops


def fc6_variants(tf, rng, side, channels_in, channels_out, rate):
    padded = side + 2 * rate
    features = tf.constant(rng.standard_normal(
        (1, padded, padded, channels_in)).astype(np.float32))
    kernel = tf.constant(rng.standard_normal(
        (3, 3, channels_in, channels_out)).astype(np.float32) * 0.01)

    def space_to_batch(x):
        return tf.nn.relu(tf.nn.convolution(x, kernel, padding="VALID",
                                            dilations=rate))

    def native(x):
        return tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "VALID",
                                       dilations=rate))

    functions = {
        f"fc6 @{side}: SpaceToBatchND (previous)": tf.function(space_to_batch),
        f"fc6 @{side}: one dilated Conv2D (current)": tf.function(native),
        f"fc6 @{side}: XLA": tf.function(space_to_batch, jit_compile=True),
    }
    flops = conv_flops((1, padded, padded, channels_in),
                       (1, side, side, channels_out), tuple(kernel.shape))
    return functions, features, flops


def main(argv=None):
    args = parse_args(argv)
    print(header("Convolution variants: previous form against the current one",
                 args))
    import tensorflow as tf

    from keras_scaleattn.ops.resize import scaled_size

    rng = np.random.default_rng(args.seed)
    width = args.width
    side = -(-args.size // 8)
    groups = [attention_variants(
        tf, rng, side, max(1, int(FC7_CHANNELS * width)),
        max(1, int(ATTENTION_FILTERS * width)))]
    for scale in (1.0, 0.75, 0.5):
        scaled_side = -(-scaled_size(args.size, scale) // 8)
        groups.append(fc6_variants(
            tf, rng, scaled_side, max(1, int(FC6_IN * width)),
            max(1, int(FC6_OUT * width)), FC6_RATE))

    variants, flops, checks, firsts = {}, {}, {}, {}
    for functions, features, group_flops in groups:
        outputs = []
        first = next(iter(functions))
        for name, function in functions.items():
            outputs.append(function(features).numpy())
            variants[name] = (lambda f=function, x=features: f(x).numpy())
            flops[name] = group_flops
            firsts[name] = first
        scale = float(np.abs(outputs[0]).max()) or 1.0
        checks[first] = max(float(np.abs(o - outputs[0]).max()) / scale
                            for o in outputs[1:])
    times = interleaved_timings(variants, args.repeats, args.warmup)

    rows, results = [], {}
    for name in variants:
        cpu = float(np.median(times.cpu[name]))
        reference = firsts[name]
        ratio = paired_ratio(times.cpu[name], times.cpu[reference])
        results[name] = {"wall_s": times[name], "cpu_s": times.cpu[name],
                         "flops": flops[name],
                         "cpu_time_vs_previous": ratio["of_medians"]}
        rows.append((name, {
            "wall median ms": np.median(times[name]) * 1e3,
            "cpu median ms": cpu * 1e3,
            "GFLOP/cpu-s": flops[name] / cpu / 1e9,
            "cpu time vs previous": ratio["of_medians"]}))
    print("\n## Interleaved timings (FLOPs of the useful output only)\n")
    print(format_markdown_table(
        rows, ["wall median ms", "cpu median ms", "GFLOP/cpu-s",
               "cpu time vs previous"],
        row_header="variant", float_format="{:.2f}"))
    print("\nlargest difference from the previous form, relative to its largest "
          "output: " + ", ".join(f"{k.split(':')[0]} {v:.1e}"
                                 for k, v in checks.items()))
    return finish(args, {"config": vars(args), "results": results,
                         "max_relative_difference": checks})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
