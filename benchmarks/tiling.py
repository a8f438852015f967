"""Tiled inference: windows batched into one model call against one at a time.

    python benchmarks/tiling.py --size 321 --image-size 641 --tile-batch-sizes 1,3,9 --json runs/bench/tiling.json

Segments one `--image-size` square photo with `SegmentationRuntime(model,
fit="tile", max_size=--size)` (the three-scale attention model, full VGG-16
width, 21 classes, seeded random weights, in memory), overlap 1/3: a photo
twice the window's side is 3 x 3 = 9 windows. Each `--tile-batch-sizes`
entry `k` runs `k` windows per model call; all are timed interleaved, round
by round, and reported as the speed-up of each over one window per call
(the default), with the largest difference of the blended probabilities
from it (batching changes only the kernels' summation order). Runs under
any Keras backend: `KERAS_BACKEND=jax` on a GPU is where batching should
pay most (small windows leave a GPU idle between calls); on a CPU one
window already fills the cores. `--quick` is a smoke run on a tiny model.
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
from keras_scaleattn.profiling.timing import interleaved_timings  # noqa: E402
from keras_scaleattn.profiling.timing import paired_ratio  # noqa: E402


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated ints >= 1, e.g. 1,3,9; got {text!r}")
    return sizes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=321, repeats=3)
    parser.add_argument("--image-size", type=int, default=None,
                        help="the photo's height and width (default: twice "
                             "--size minus one, 3 x 3 windows)")
    parser.add_argument("--tile-batch-sizes", type=_sizes, default=[1, 3, 9],
                        help="windows per model call to compare, the first "
                             "the reference (default 1,3,9)")
    args = apply_quick(parser.parse_args(argv))
    if args.image_size is None:
        args.image_size = 2 * args.size - 1
    if args.image_size < args.size:
        parser.error(f"--image-size must be at least --size ({args.size}); "
                     f"got {args.image_size}")
    return args


def main(argv=None):
    args = parse_args(argv)
    print(header("Tiled inference: windows per model call", args))
    import keras

    from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime

    model = build_segmenter(args)
    rng = np.random.default_rng(args.seed)
    image = rng.integers(0, 256, size=(args.batch, args.image_size,
                                       args.image_size, 3), dtype=np.uint8)
    runtimes = {k: SegmentationRuntime(model, fit="tile", max_size=args.size,
                                       tile_batch_size=k)
                for k in args.tile_batch_sizes}
    reference_k = args.tile_batch_sizes[0]
    note = runtimes[reference_k].fit_note(args.image_size, args.image_size)
    print(f"backend: {keras.backend.backend()}; {note or 'one window'}")
    outputs = {k: runtime(image) for k, runtime in runtimes.items()}
    times = interleaved_timings(
        {k: (lambda runtime=runtime: runtime(image))
         for k, runtime in runtimes.items()}, args.repeats, args.warmup)

    rows, results = [], {}
    reference = outputs[reference_k]["probabilities"]
    for k in runtimes:
        speed = paired_ratio(times[reference_k], times[k])
        difference = float(np.abs(outputs[k]["probabilities"]
                                  - reference).max())
        rows.append((f"{k} per call", {
            "wall median ms": np.median(times[k]) * 1e3,
            "cpu median ms": np.median(times.cpu[k]) * 1e3,
            "speed-up (wall)": speed["median"],
            "wall range": f"{speed['min']:.2f}-{speed['max']:.2f}",
            "probabilities max|d|": f"{difference:.1e}"}))
        results[str(k)] = {"wall_s": times[k], "cpu_s": times.cpu[k],
                           "speedup_wall": speed,
                           "probabilities_max_abs_diff": difference}
    print(f"\n## Speed-up over {reference_k} window(s) per call\n")
    print(format_markdown_table(
        rows, ["wall median ms", "cpu median ms", "speed-up (wall)",
               "wall range", "probabilities max|d|"],
        row_header="windows", float_format="{:.2f}"))
    return finish(args, {"config": vars(args), "fit_note": note,
                         "backend": keras.backend.backend(),
                         "results": results})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
