"""Segment a folder of images with any exported model; write masks and overlays.

    python deploy/predict.py --model exports/model_fp16.onnx --images photos/ \
        --out-dir predictions/

`--model` is a `.keras` file, a SavedModel directory, a `.tflite`, an `.onnx`
or a TensorRT `.engine` / `.plan`. For each image `photos/x.jpg` it writes
`predictions/x_mask.png` (palette PNG, pixel value = class id) and
`predictions/x_overlay.png`, at the image's own size. Images of a size the
model does not take (a fixed-size TFLite model, a TensorRT engine's profile,
below the smallest size) are letterboxed: resized keeping their aspect ratio
and padded to fit, and the masks mapped back (`--fit exact` makes them an
error instead); `--max-size N` also shrinks photos larger than N pixels on a
side, to bound a dynamic model's memory and time.

`--fit tile` keeps a large photo's resolution instead of shrinking it: it is
segmented in overlapping windows of the model's size (a fixed-size model's,
a TensorRT profile's largest, or `--max-size N` for a model of any size),
`--tile-overlap` (default 1/3) of each window shared with its neighbour,
and the windows' probabilities averaged where they overlap, weighted by a
Gaussian on each window (`--tile-blend mean`: evenly); `--tile-batch-size k`
runs `k` windows per model call (faster on a GPU, `k` times the memory):

    python deploy/predict.py --model exports/model_513_int8.tflite \
        --images photos/ --out-dir predictions/ --fit tile

Photos are read upright (their EXIF orientation applied). When two images
share a stem (`x.jpg`, `x.png`) their outputs keep the extension
(`x.jpg_mask.png`, `x.png_mask.png`). Hidden files (`.*`) and files named
`*_mask.png` / `*_overlay.png` (outputs of an earlier run, say with
`--out-dir` the images folder) are skipped. An image that cannot be read
(corrupt, truncated) is reported and the others still run; the exit status
is then 1, after the summary.
"""

import argparse
import os
import sys

from keras_scaleattn.cli import FIT_FLAGS
from keras_scaleattn.cli import add_fit_arguments
from keras_scaleattn.cli import check_num_threads_flag
from keras_scaleattn.cli import run_script
from keras_scaleattn.data.validation import check_int
from keras_scaleattn.export.folder_prediction import predict_folder
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime


# The flags errors name instead of the library's arguments.
FLAGS = {"path": "--model", "num_threads": "--num-threads",
         "folder": "--images", **FIT_FLAGS}


def check_flags(args):
    """Raises a `ValueError` naming the flag, before the model loads.

    `--alpha` would otherwise fail at the first image (as `alpha`), an
    `--out-dir` that is a file with the operating system's message,
    `--max-size` as `max_size`, "an int or a pair (height, width)", and
    `--num-threads 0` with the library's "None (LiteRT's default)".
    """
    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError("`--alpha` must be in [0, 1]. "
                         f"Received: --alpha={args.alpha!r}")
    if args.max_size is not None:
        check_int(args.max_size, "--max-size", minimum=1)
    check_num_threads_flag(args.num_threads)
    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise ValueError(
            "`--out-dir` must be a directory (created if missing), not a "
            f"file. Received: --out-dir={args.out_dir!r}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help=".keras, SavedModel dir, .tflite, .onnx, "
                             ".engine or .plan")
    parser.add_argument("--images", required=True, help="folder of images")
    parser.add_argument("--out-dir", required=True,
                        help="folder for the masks and overlays (created if "
                             "missing; may be --images)")
    parser.add_argument("--alpha", type=float, default=0.5,
                        help="overlay opacity in [0, 1] (default: 0.5)")
    parser.add_argument("--num-threads", type=int, default=None,
                        help="LiteRT threads (default: LiteRT's)")
    add_fit_arguments(
        parser, "letterbox",
        "images of a size the model does not take: resize and pad them "
        "(letterbox, the default), stop with an error (exact), or segment "
        "large ones in overlapping windows (tile)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_flags(args)
    runtime = SegmentationRuntime(args.model, num_threads=args.num_threads,
                                  fit=args.fit, max_size=args.max_size,
                                  tile_overlap=args.tile_overlap,
                                  tile_blend=args.tile_blend,
                                  tile_batch_size=args.tile_batch_size,
                                  argument_names=FLAGS)
    result = predict_folder(runtime, args.images, args.out_dir,
                            alpha=args.alpha, log=print, skip_unreadable=True,
                            argument_names=FLAGS)
    summary = (f"{len(result.written)} images segmented with {runtime.kind} "
               f"({args.model}) into {args.out_dir}")
    if result.skipped:
        summary += (f"; {len(result.skipped)} files named like outputs "
                    "skipped")
    if result.failed:
        summary += f"; {len(result.failed)} unreadable images skipped"
    print(summary)
    if result.failed:
        total = len(result.written) + len(result.failed)
        print(f"error: {len(result.failed)} of {total} images could not be "
              "read: " + ", ".join(path for path, _ in result.failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
