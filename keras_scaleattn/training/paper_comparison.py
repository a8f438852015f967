"""The paper's comparison: single scale, max, average and attention merging.

Tables 1-3 of the paper compare, on one dataset and one training recipe,
the single-scale DeepLab-LargeFOV with the multi-scale network merged by
max pooling, average pooling or attention over scales, each with and
without extra supervision (E-Supv). `run_comparison` trains and evaluates
such a set of variants from one `ExperimentConfig` and writes the table.
"""

import dataclasses
import os

import keras

from keras_scaleattn.evaluation.evaluator import evaluate_segmenter
from keras_scaleattn.evaluation.report import format_markdown_table
from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.evaluation.report import write_text_atomic
from keras_scaleattn.training.config import config_from_dict
from keras_scaleattn.training.trainer import build_eval_dataset
from keras_scaleattn.training.trainer import build_sources
from keras_scaleattn.training.trainer import class_names_for
from keras_scaleattn.training.trainer import train

# name -> (table label, config overrides). The multi-scale variants keep the
# experiment's scales; "single" is scale 1 only.
VARIANTS = {
    "single": ("single scale", ["model.scales=[1.0]",
                                "model.extra_supervision=false"]),
    "max": ("max", ["model.merge=max", "model.extra_supervision=false"]),
    "max_esupv": ("max + E-Supv", ["model.merge=max",
                                   "model.extra_supervision=true"]),
    "average": ("average", ["model.merge=average",
                            "model.extra_supervision=false"]),
    "average_esupv": ("average + E-Supv", ["model.merge=average",
                                           "model.extra_supervision=true"]),
    "attention": ("attention", ["model.merge=attention",
                                "model.extra_supervision=false"]),
    "attention_esupv": ("attention + E-Supv", ["model.merge=attention",
                                               "model.extra_supervision=true"]),
}
# The paper's tables: every merge without and with extra supervision.
DEFAULT_VARIANTS = ("single", "max", "max_esupv", "average", "average_esupv",
                    "attention", "attention_esupv")


def check_variants(variants):
    """Validates variant names; returns them as a tuple."""
    variants = tuple(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(
            f"`variants` must be names among {sorted(VARIANTS)}. "
            f"Received: variants={list(variants)}"
        )
    return variants


def variant_config(config, variant, out_dir):
    """The experiment `config` changed into `variant`, writing to out_dir."""
    overrides = list(VARIANTS[variant][1]) + [
        f"runtime.model_dir={os.path.join(os.path.abspath(out_dir), variant)}"]
    return config_from_dict(dataclasses.asdict(config), overrides,
                            origin=f"variant {variant!r}")


def _finest_and_coarsest(scales):
    return max(scales), min(scales)


def comparison_row(label, results):
    """One table row: mIoU, mIoU by size, and where attention looks."""
    row = {"mIoU": 100 * results["miou"]}
    for bucket in ("small", "medium", "large"):
        row[bucket] = 100 * results["by_size"][bucket]["miou"]
    weights = results.get("attention_by_size")
    if weights:
        finest, coarsest = _finest_and_coarsest(list(weights["small"]))
        row["w(finest) small"] = weights["small"][finest]
        row["w(coarsest) large"] = weights["large"][coarsest]
    return label, row


def comparison_markdown(rows):
    """The comparison as a Markdown table (sizes as in `comparison_row`)."""
    columns = ["mIoU", "small", "medium", "large", "w(finest) small",
               "w(coarsest) large"]
    return format_markdown_table(rows, columns, row_header="merge")


SCALE_COLUMNS = ["acc small", "acc large", "acc background", "level small",
                 "level large", "level background"]


def scale_rows(label, results):
    """Rows of each scale's own score map (E-Supv variants; else none).

    Accuracy (%) of the scale's own argmax and its mean score level
    (log-sum-exp over classes) on small and large objects and background,
    from `results["scales_by_size"]` (see `ScaleScoresBySize`).
    """
    per_bucket = results.get("scales_by_size")
    if not per_bucket:
        return []
    rows = []
    for scale in per_bucket["small"]:
        row = {}
        for bucket in ("small", "large", "background"):
            values = per_bucket.get(bucket, {}).get(scale)
            if values is not None:
                row[f"acc {bucket}"] = 100 * values["accuracy"]
                row[f"level {bucket}"] = values["level"]
        rows.append((f"{label}, scale {float(scale):g}", row))
    return rows


def scales_markdown(rows):
    """Each scale's own score map as a Markdown table (see `scale_rows`)."""
    return format_markdown_table(rows, SCALE_COLUMNS,
                                 row_header="merge, scale's own scores")


def run_comparison(config, out_dir, variants=DEFAULT_VARIANTS,
                   size_thresholds=(32**2, 96**2), num_pictures=4,
                   train_fn=train, verbose=1):
    """Trains and evaluates each variant; writes results.json and results.md.

    results.md holds the comparison table and, for the variants with extra
    supervision, a second table of each scale's own score map by object
    size (`scale_rows`): where each scale is right, and how high its scores
    stand, which is what a max merge compares.

    A variant whose `<out_dir>/<variant>/model.keras` already exists is not
    trained again (an interrupted comparison resumes; each training run
    itself resumes from its backup).

    Args:
        config: `ExperimentConfig`, the shared recipe and dataset.
        out_dir: str. One model dir per variant, the tables and pictures.
        variants: names of `VARIANTS`. Defaults to all of them: single
            scale, and max, average and attention without and with E-Supv.
        size_thresholds: pair of object areas (pixels) splitting small /
            medium / large.
        num_pictures: int. Attention pictures written per attention variant.
        train_fn: callable `config -> TrainingResult` (tests pass a stub).
        verbose: int.

    Returns:
        dict `variant -> evaluation results` (see `evaluate_segmenter`).
    """
    from keras_scaleattn.visualization.attention_pictures import (
        write_attention_pictures,
    )

    variants = check_variants(variants)
    os.makedirs(out_dir, exist_ok=True)
    all_results, rows, own_rows = {}, [], []
    for variant in variants:
        label = VARIANTS[variant][0]
        cfg = variant_config(config, variant, out_dir)
        model_path = os.path.join(cfg.runtime.model_dir, "model.keras")
        if os.path.exists(model_path):
            if verbose:
                print(f"[{variant}] reusing {model_path}")
            model = keras.models.load_model(model_path)
        else:
            if verbose:
                print(f"[{variant}] training -> {cfg.runtime.model_dir}")
            model = train_fn(cfg).model
        _, eval_source = build_sources(cfg)
        class_names = class_names_for(cfg)
        results = evaluate_segmenter(
            model, build_eval_dataset(cfg, eval_source),
            cfg.data.num_classes, class_names=class_names,
            size_thresholds=size_thresholds, verbose=verbose)
        if "attention" in model.output_names and num_pictures:
            examples = eval_source.take(num_pictures).as_numpy_iterator()
            write_attention_pictures(
                model, examples, os.path.join(out_dir, "pictures"),
                class_names=class_names, prefix=variant)
        all_results[variant] = results
        rows.append(comparison_row(label, results))
        own_rows.extend(scale_rows(label, results))
        if verbose:
            print(f"[{variant}] mIoU {100 * results['miou']:.2f}")
    table = comparison_markdown(rows)
    if own_rows:
        table += "\n\n" + scales_markdown(own_rows)
    write_json_atomic(os.path.join(out_dir, "results.json"), all_results)
    write_text_atomic(os.path.join(out_dir, "results.md"), table + "\n")
    if verbose:
        print(table)
    return all_results

