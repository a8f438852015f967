"""Export a trained model to SavedModel, TFLite and ONNX and check parity.

    python deploy/export.py --model runs/model.keras --out-dir exports/ \
        --formats saved_model,tflite,tflite_fp16,tflite_int8,onnx,onnx_fp16,onnx_int8 \
        --fixed-size 513 --parity-images 8

Writes each artifact atomically into `--out-dir` (names in
`keras_scaleattn/export/exporter.py`), runs every artifact and the Keras
model on the same images (`--images DIR`, or the synthetic validation set),
prints a parity table (max |delta probability|, max |delta attention|, pixel
agreement of the class maps) and writes `<out-dir>/parity_report.json`.
int8 formats are calibrated on `--calibration-images` images of
`--images DIR` (or the synthetic training set): other files than the
parity images whenever the folder has more than `--parity-images` (the
report lists both). Exits with status 1 if an artifact is outside its
precision's tolerance (`export/parity.py`).

`--class-names background,cat,dog` (or `--config` of the training run,
whose `data.class_names` or dataset's names are taken) stores the class
names in every artifact's metadata.

Runs Keras on TensorFlow whatever `KERAS_BACKEND` says (the exporters
trace TensorFlow graphs).

`--fixed-size` is a side (`513`) or `HEIGHTxWIDTH` (`385x513`, a 3:4 camera
frame), for phone delegates that want one input shape; other image sizes
are letterboxed to it by `SegmentationRuntime(..., fit="letterbox")`.
"""

import argparse
import os
import sys

if "keras" not in sys.modules:
    # Export traces TensorFlow graphs (tf.function, the TFLite converter,
    # tf2onnx): Keras must run on TensorFlow, whatever KERAS_BACKEND or
    # ~/.keras/keras.json say. Set before keras_scaleattn imports Keras.
    os.environ["KERAS_BACKEND"] = "tensorflow"

from keras_scaleattn.cli import run_script  # noqa: E402
from keras_scaleattn.export.exporter import FORMATS  # noqa: E402
from keras_scaleattn.export.exporter import export_and_check  # noqa: E402
from keras_scaleattn.export.exporter import parse_formats  # noqa: E402
from keras_scaleattn.export.exporter import split_image_files  # noqa: E402
from keras_scaleattn.export.images import list_image_files  # noqa: E402
from keras_scaleattn.export.images import read_images  # noqa: E402
from keras_scaleattn.export.images import sample_images  # noqa: E402
from keras_scaleattn.export.parity import parity_table  # noqa: E402


def fixed_size(text):
    """`"513"` -> 513, `"385x513"` -> (385, 513); argparse reports errors."""
    parts = text.lower().split("x")
    if len(parts) in (1, 2) and all(p.isdigit() and int(p) > 0 for p in parts):
        sizes = [int(p) for p in parts]
        return sizes[0] if len(sizes) == 1 else tuple(sizes)
    raise argparse.ArgumentTypeError(
        f"must be a side (513) or HEIGHTxWIDTH (385x513) in pixels, got {text!r}")


def count(minimum):
    """An argparse type: an int of at least `minimum`."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an int >= {minimum}, got {text!r}")
        return value
    return parse


# The flags errors name instead of export_and_check's arguments
# (class_names: the flag that gave them).
FLAGS = {"model_path": "--model", "out_dir": "--out-dir",
         "formats": "--formats", "fixed_size": "--fixed-size",
         "parity_images": "--images", "representative_images": "--images",
         "report_path": "--report"}


def read_named(paths):
    """`{path: image}` of image files."""
    return dict(zip(paths, read_images(paths)))


def synthetic(args, num_images, split):
    """`{name: image}` of the synthetic split (val: parity, train: int8)."""
    images = sample_images(None, num_images, args.synthetic_size, split)
    return {f"synthetic {split} #{i}": image for i, image in enumerate(images)}


def parity_and_calibration(args, int8):
    """`({name: image}, {name: image} or None)`: parity and int8 images.

    From `--images`, disjoint whenever the folder has more files than
    `--parity-images` (`split_image_files`); else the synthetic val and
    train splits.
    """
    num_calibration = args.calibration_images if int8 else 0
    if args.images is None:
        parity = (synthetic(args, args.parity_images, "val")
                  if args.parity_images else {})
        return parity, (synthetic(args, num_calibration, "train")
                        if int8 else None)
    if not os.path.isdir(args.images):
        raise ValueError("`--images` must be a folder of images. "
                         f"Received: --images={args.images!r}")
    parity, calibration = split_image_files(
        list_image_files(args.images, argument="--images"),
        args.parity_images, num_calibration)
    return read_named(parity), read_named(calibration) if int8 else None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained .keras file")
    parser.add_argument("--out-dir", required=True,
                        help="output directory (created if missing)")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated subset of {','.join(FORMATS)} "
                             "(default: all)")
    parser.add_argument("--fixed-size", type=fixed_size, default=None,
                        help="also write TFLite models for this size: a side "
                             "(513) or HEIGHTxWIDTH (385x513)")
    parser.add_argument("--parity-images", type=count(0), default=8,
                        help="images for the parity check (0: skip; "
                             "default: 8)")
    parser.add_argument("--images", default=None,
                        help="folder of images for parity and calibration "
                             "(default: the synthetic dataset)")
    parser.add_argument("--synthetic-size", type=count(97), default=129,
                        help="side of synthetic images (>= 97; default: "
                             "129)")
    parser.add_argument("--calibration-images", type=count(1), default=100,
                        help="images for int8 calibration (default: 100)")
    parser.add_argument("--report", default=None,
                        help="JSON report path (default: "
                             "<out-dir>/parity_report.json)")
    names = parser.add_mutually_exclusive_group()
    names.add_argument("--class-names", default=None,
                       help="comma-separated class names, one per class, "
                            "stored in every artifact's metadata")
    names.add_argument("--config", default=None,
                       help="experiment YAML (e.g. the run's config.yaml) "
                            "whose data.class_names (or its dataset's "
                            "names) are stored in the metadata")
    return parser.parse_args(argv)


def class_names(args):
    """`(names or None, flag)`: from `--class-names` or `--config`."""
    if args.class_names is not None:
        return ([name.strip() for name in args.class_names.split(",")],
                "--class-names")
    if args.config is None:
        return None, None
    if not os.path.isfile(args.config):
        raise FileNotFoundError("`--config` does not exist. "
                                f"Received: --config={args.config!r}")
    from keras_scaleattn.training import load_config
    from keras_scaleattn.training.trainer import class_names_for

    names = class_names_for(load_config(args.config))
    if names is None:
        print(f"note: {args.config} names no classes (data.class_names), "
              "so the metadata holds none")
    return names, "--config's data.class_names"


def main(argv=None):
    args = parse_args(argv)
    formats = parse_formats(args.formats, FLAGS["formats"])
    names, names_flag = class_names(args)
    parity, calibration = parity_and_calibration(
        args, any(f.endswith("int8") for f in formats))
    # Checks the model, --fixed-size, every image and --report before any
    # artifact is written.
    report = export_and_check(
        args.model, args.out_dir, formats, args.fixed_size, parity,
        calibration, args.calibration_images, args.report, log=print,
        argument_names=dict(FLAGS, class_names=names_flag or "class_names"),
        class_names=names)
    if parity:
        print()
        print(parity_table(report["artifacts"]), end="")
    print(f"\nreport: {report['report_path']}")
    if not report["passed"]:
        print("FAILED: an artifact is outside its tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
