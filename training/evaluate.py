"""Evaluates a trained model as the paper does: mIoU at full resolution.

    python training/evaluate.py --model runs/synthetic_tiny/model.keras --config training/configs/synthetic_tiny.yaml

The evaluation split and dataset come from the config (`data.eval_split`,
overridable: `data.eval_split=val`). Prints mIoU, per-class IoU, mIoU by
object size (`data.size_thresholds`), for attention models the mean
weight of each scale by object size, and for models with extra supervision
each scale's own accuracy and score level by object size; `--json` and
`--markdown` write them (atomically), the JSON with the confusion matrix
(pixels; rows ground truth, columns prediction). `--flip` averages with
mirrored images (the paper does not).

`--model` may also be an exported model (SavedModel directory, `.tflite`,
`.onnx`, TensorRT `.engine` / `.plan`): the mIoU the deployed artifact gets,
at its own precision (int8, float16), on the same data. A fixed-size TFLite
model letterboxes images of other sizes (`SegmentationRuntime(...,
fit="letterbox")`).

`--fit letterbox|tile|exact` (with `--max-size N`, `--tile-overlap F`,
`--tile-blend gaussian|mean`) runs
any model, a `.keras` file too, through `SegmentationRuntime` with that fit,
as `deploy/predict.py` does: the mIoU of letterboxed or tiled inference on
large images (docs/deployment.md, "Tiling"):

    python training/evaluate.py --model runs/demo/attention_esupv/model.keras \
        --config training/configs/synthetic_tiny.yaml --fit tile --max-size 129 \
        data.image_size=257
"""

import argparse
import os
import sys

from keras_scaleattn.cli import FIT_FLAGS
from keras_scaleattn.cli import add_fit_arguments
from keras_scaleattn.cli import run_script
from keras_scaleattn.data.validation import check_int
from keras_scaleattn.evaluation import evaluate_segmenter
from keras_scaleattn.evaluation import format_markdown_table
from keras_scaleattn.evaluation import write_json_atomic
from keras_scaleattn.evaluation import write_text_atomic
from keras_scaleattn.training import load_config
from keras_scaleattn.training.config import background_class_for
from keras_scaleattn.training.trainer import build_eval_dataset
from keras_scaleattn.training.trainer import build_sources
from keras_scaleattn.training.trainer import class_names_for

# The flags SegmentationRuntime's errors name.
RUNTIME_FLAGS = {"path": "--model", **FIT_FLAGS}


def results_markdown(results):
    """Per-class IoU, IoU by size, attention and each scale by size as Markdown."""
    per_class = format_markdown_table(
        [(name, {"IoU": 100 * iou}) for name, iou in
         results["per_class_iou"].items()], ["IoU"], row_header="class")
    by_size = format_markdown_table(
        [(bucket, {"mIoU": 100 * r["miou"], "objects": r["num_objects"],
                   "pixels": r["num_pixels"]})
         for bucket, r in results["by_size"].items()],
        ["mIoU", "objects", "pixels"], row_header="object size")
    text = (f"mIoU {100 * results['miou']:.2f} over {results['num_images']} "
            f"images\n\n{per_class}\n\n{by_size}\n")
    if "attention_by_size" in results:
        weights = results["attention_by_size"]
        scales = list(next(iter(weights.values())))
        text += "\n" + format_markdown_table(
            [(bucket, {f"scale {s}": w[s] for s in scales})
             for bucket, w in weights.items()],
            [f"scale {s}" for s in scales], row_header="mean attention weight",
            float_format="{:.3f}") + "\n"
    if "scales_by_size" in results:
        own = results["scales_by_size"]
        scales = list(next(iter(own.values())))
        columns = [f"{what} scale {s}" for what in ("accuracy", "level")
                   for s in scales]
        text += "\n" + format_markdown_table(
            [(bucket, {**{f"accuracy scale {s}": 100 * v[s]["accuracy"]
                          for s in scales},
                       **{f"level scale {s}": v[s]["level"] for s in scales}})
             for bucket, v in own.items()],
            columns, row_header="each scale's own scores") + "\n"
    if "merge_ceiling" in results:
        # What a perfect per-pixel choice (or attention weight) over the
        # model's own per-scale maps would reach (MergeCeiling).
        rows = [("model", {"mIoU": 100 * results["miou"],
                           "pixel accuracy": 100 * results["pixel_accuracy"]})]
        for name, ceiling in results["merge_ceiling"].items():
            if ceiling is not None:
                rows.append((name.replace("_", " "), {
                    "mIoU": 100 * ceiling["miou"],
                    "pixel accuracy": 100 * ceiling["pixel_accuracy"],
                    "model's errors fixed %": 100 * ceiling["recovered"]}))
        text += "\n" + format_markdown_table(
            rows, ["mIoU", "pixel accuracy", "model's errors fixed %"],
            row_header="merge ceiling") + "\n"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Evaluate a trained ScaleAttentionSegmenter.")
    parser.add_argument("--model", required=True,
                        help="a .keras file, or an exported model (SavedModel "
                             "dir, .tflite, .onnx, .engine, .plan)")
    parser.add_argument("--config", required=True,
                        help="the YAML experiment naming the dataset")
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--json", help="write the results as JSON")
    parser.add_argument("--markdown", help="write the tables as Markdown")
    add_fit_arguments(
        parser, None,
        "run the model through SegmentationRuntime with this fit (default: "
        "a .keras model runs directly, an exported one letterboxed)")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    if args.max_size is not None:
        check_int(args.max_size, "--max-size", minimum=1)
    # A missing file or a bad key or value: run_script prints it, exit 2.
    config = load_config(args.config, args.overrides)
    if not os.path.exists(args.model):
        parser.exit(2, f"error: --model does not exist: {args.model!r}\n")
    # Checked before the evaluation, which may take hours.
    for flag, path in (("--json", args.json), ("--markdown", args.markdown)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            parser.exit(2, f"error: {flag}: the folder of {path!r} does not "
                           "exist\n")

    import keras

    import keras_scaleattn  # noqa: F401  (registers the model's classes)
    from keras_scaleattn.export.keras_file import load_keras_model
    from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
    from keras_scaleattn.export.segmentation_runtime import detect_model_kind

    # A truncated, corrupt or non-segmenter file: one line naming --model,
    # as the deploy scripts say it (run_script prints it, exit 2).
    if detect_model_kind(args.model, "--model") == "keras" and not (
            args.fit or args.max_size is not None):
        model = load_keras_model(args.model, "--model")
    else:
        model = SegmentationRuntime(
            args.model, fit=args.fit or "letterbox", max_size=args.max_size,
            tile_overlap=args.tile_overlap, tile_blend=args.tile_blend,
            tile_batch_size=args.tile_batch_size,
            argument_names=RUNTIME_FLAGS)
        exported = "" if model.kind == "keras" else "exported "
        print(f"Evaluating the {exported}{model.kind} model "
              f"({model.metadata.get('precision', 'unknown')} precision), "
              f"fit={model.fit!r}.")
    model_classes = (getattr(model, "num_classes", None)
                     if isinstance(model, keras.Model)
                     else (model.metadata or {}).get("num_classes"))
    if model_classes is not None and model_classes != config.data.num_classes:
        parser.exit(2, f"error: --model {args.model!r} predicts "
                       f"{model_classes} classes but the config's "
                       f"data.num_classes is {config.data.num_classes}\n")
    _, source = build_sources(config)
    results = evaluate_segmenter(
        model, build_eval_dataset(config, source), config.data.num_classes,
        class_names=class_names_for(config), flip=args.flip,
        size_thresholds=tuple(config.data.size_thresholds),
        background_class=background_class_for(config))
    text = results_markdown(results)
    print(text)
    if args.json:
        write_json_atomic(args.json, results)
    if args.markdown:
        write_text_atomic(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
