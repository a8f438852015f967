"""What every script in `benchmarks/` shares: flags, models, reporting.

Each benchmark takes the same model flags (`--size`, `--width`,
`--classes`, `--batch`), timing flags (`--repeats`, `--warmup`) and
`--quick`, which swaps in a tiny model on small images and one or two
rounds, so that the tests run every script in seconds. Results are printed
as Markdown tables and, with `--json`, written to a file.
"""

import argparse
import json
import os
import sys
import time

from keras_scaleattn.profiling.timing import machine_load

# --quick: a 1/16-width trunk on 65x65 images (the three-scale minimum is 33).
QUICK = {"size": 65, "width": 0.0625, "repeats": 2, "warmup": 1}
PAPER_SCALES = (1.0, 0.75, 0.5)


def add_common_arguments(parser, size=513, repeats=5, batch=1):
    """Adds the model, timing and output flags to an argparse parser."""
    parser.add_argument("--size", type=int, default=size,
                        help=f"image height and width (default {size})")
    parser.add_argument("--width", type=float, default=1.0,
                        help="trunk width multiplier (1.0 = the paper's VGG-16)")
    parser.add_argument("--classes", type=int, default=21,
                        help="number of classes (default 21, PASCAL VOC)")
    parser.add_argument("--batch", type=int, default=batch,
                        help=f"batch size (default {batch})")
    parser.add_argument("--repeats", type=int, default=repeats,
                        help=f"timed rounds (default {repeats})")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed rounds first (default 1)")
    parser.add_argument("--seed", type=int, default=0,
                        help="weights and images seed (default 0)")
    parser.add_argument("--inter-op-threads", type=int, default=None,
                        help="TensorFlow inter-op threads (default: TF's, one "
                             "per core)")
    parser.add_argument("--intra-op-threads", type=int, default=None,
                        help="TensorFlow intra-op threads (default: TF's)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny model, small images, 2 rounds")
    parser.add_argument("--json", default=None,
                        help="also write the results to this JSON file")
    return parser


def _previous_ops_list(text):
    from keras_scaleattn.profiling.previous_ops import PREVIOUS_OPS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(PREVIOUS_OPS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown previous ops {unknown}; known: {sorted(PREVIOUS_OPS)}")
    return names


def add_previous_ops_argument(parser, help_text):
    """Adds `--previous-ops`: a checked, comma-separated list of the keys
    of `keras_scaleattn.profiling.previous_ops.PREVIOUS_OPS` (default
    none), parsed into `args.previous_ops`."""
    parser.add_argument("--previous-ops", type=_previous_ops_list, default="",
                        help=help_text)
    return parser


def apply_quick(args):
    """Overrides the flags `--quick` replaces; applies thread flags."""
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    return apply_threads(args)


def apply_threads(args):
    """Sets TensorFlow's thread pools from the flags, before any op runs."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return args
    import tensorflow as tf

    if getattr(args, "inter_op_threads", None):
        tf.config.threading.set_inter_op_parallelism_threads(
            args.inter_op_threads)
    if getattr(args, "intra_op_threads", None):
        tf.config.threading.set_intra_op_parallelism_threads(
            args.intra_op_threads)
    return args


def build_segmenter(args, scales=PAPER_SCALES, **kwargs):
    """A `ScaleAttentionSegmenter` from the common flags, seeded."""
    import keras

    from keras_scaleattn import ScaleAttentionSegmenter

    keras.utils.set_random_seed(args.seed)
    return ScaleAttentionSegmenter(num_classes=args.classes, scales=scales,
                                   trunk_width=args.width, **kwargs)


def random_images(args, dtype="float32"):
    """A batch `[batch, size, size, 3]` of uniform pixels in [0, 255]."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    shape = (args.batch, args.size, args.size, 3)
    return rng.integers(0, 256, size=shape).astype(dtype)


def header(title, args):
    """The lines every report starts with: what ran, where, under what load."""
    load = machine_load()
    config = {k: v for k, v in sorted(vars(args).items()) if k != "json"}
    return (f"# {title}\n\n"
            f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}\n"
            f"config: {config}\n"
            f"machine: {load['cpu_count']} CPUs ({load['processor']}), "
            f"load average at start {load['loadavg']}, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")


def finish(args, result):
    """Prints the load at the end and writes `result` to `--json`."""
    load = machine_load()
    result = dict(result)
    result["loadavg_end"] = load["loadavg"]
    print(f"\nload average at end: {load['loadavg']}")
    if args.json:
        directory = os.path.dirname(os.path.abspath(args.json))
        os.makedirs(directory, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
        print(f"wrote {args.json}")
    return result
