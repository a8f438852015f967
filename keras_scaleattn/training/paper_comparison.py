"""The paper's comparison: single scale, max, average and attention merging.

Tables 1-3 of the paper compare, on one dataset and one training recipe,
the single-scale DeepLab-LargeFOV with the multi-scale network merged by
max pooling, average pooling or attention over scales, each with and
without extra supervision (E-Supv). `run_comparison` trains and evaluates
such a set of variants from one `ExperimentConfig` and writes the table;
`run_seeded_comparison` repeats it over several seeds and summarises each
variant's mIoU across them (one run is rarely enough to rank the merges:
docs/results.md).
"""

import dataclasses
import os

import numpy as np
from scipy import stats

from keras_scaleattn.evaluation.evaluator import evaluate_segmenter
from keras_scaleattn.evaluation.report import format_markdown_table
from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.evaluation.report import write_text_atomic
from keras_scaleattn.training.config import background_class_for
from keras_scaleattn.training.config import config_from_dict
from keras_scaleattn.training.trainer import RunPaths
from keras_scaleattn.training.trainer import build_eval_dataset
from keras_scaleattn.training.trainer import build_sources
from keras_scaleattn.training.trainer import class_names_for
from keras_scaleattn.training.trainer import format_differences
from keras_scaleattn.training.trainer import stored_config_differences
from keras_scaleattn.training.trainer import train

# Without extra supervision no output has a per-scale loss: the per-scale
# loss weights are reset (for "single" they would not even fit its scales).
_NO_ESUPV = ["model.extra_supervision=false",
             "optimization.scale_loss_weights=null"]
_ESUPV = ["model.extra_supervision=true"]
# name -> (table label, config overrides). The multi-scale variants keep the
# experiment's scales (at least 2: `check_variant_scales`); "single" is
# scale 1 only.
VARIANTS = {
    "single": ("single scale", ["model.scales=[1.0]", *_NO_ESUPV]),
    "max": ("max", ["model.merge=max", *_NO_ESUPV]),
    "max_esupv": ("max + E-Supv", ["model.merge=max", *_ESUPV]),
    "average": ("average", ["model.merge=average", *_NO_ESUPV]),
    "average_esupv": ("average + E-Supv", ["model.merge=average", *_ESUPV]),
    "attention": ("attention", ["model.merge=attention", *_NO_ESUPV]),
    "attention_esupv": ("attention + E-Supv", ["model.merge=attention",
                                               *_ESUPV]),
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


def check_variant_scales(config, variants):
    """Fails if multi-scale variants are asked of a config with one scale.

    With fewer than 2 scales in `model.scales`, max, average and attention
    (with or without E-Supv) would all train the single-scale model under
    another label.

    Args:
        config: `ExperimentConfig`, the comparison's recipe.
        variants: names of `VARIANTS`.

    Raises:
        ValueError: naming `model.scales` and the multi-scale variants.
    """
    multi_scale = [v for v in variants if v != "single"]
    if multi_scale and len(config.model.scales) < 2:
        raise ValueError(
            "`model.scales` must hold at least 2 scales for the multi-scale "
            f"variants {multi_scale} (with one scale each would train the "
            "single-scale model under another label): give e.g. "
            "model.scales=[1.0,0.5], or compare the single variant only. "
            f"Received: model.scales={list(config.model.scales)}"
        )


def check_reusable_runs(config, out_dir, variants):
    """Fails if a variant's folder holds a run of another recipe.

    A variant whose `<out_dir>/<variant>/` holds a finished model is reused
    and one holding a backup resumes; either only if the run's config.yaml
    differs from the variant's config in no key that can change the
    trained weights (`trainer.config_differences`). Checked for every
    variant before any is trained.

    Args:
        config: `ExperimentConfig`, the comparison's recipe.
        out_dir: str.
        variants: names of `VARIANTS`.

    Raises:
        ValueError: naming each such variant, its folder and the keys that
            differ (stored -> new values), and what to do.
    """
    problems = []
    for variant in variants:
        cfg = variant_config(config, variant, out_dir)
        paths = RunPaths.from_model_dir(cfg.runtime.model_dir)
        if not (os.path.exists(paths.model) or os.path.isdir(paths.backup)):
            continue
        differences = stored_config_differences(cfg, paths.model_dir)
        if differences:
            problems.append(f"{variant} ({paths.model_dir}): "
                            f"{format_differences(differences)}")
    if problems:
        raise ValueError(
            "`out_dir` holds variants trained with another config than this "
            "comparison's, which would be reused or resumed: "
            + "; ".join(problems) + ". Choose another out_dir (--out-dir), or "
            "delete those variants' folders to train them again. Received: "
            f"out_dir={os.fspath(out_dir)!r}"
        )


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


CEILING_COLUMNS = ["mIoU", "best scale", "best mix", "best mix off edges",
                   "errors fixed %", "fixed off edges %"]


def ceiling_row(label, results):
    """A row of the merge ceilings (E-Supv variants; else None).

    The model's mIoU beside what a perfect per-pixel choice of scale (`best
    scale`) or attention weight (`best mix`, two scales) over the model's
    own per-scale score maps would reach, the same fixing only pixels away
    from label edges (`best mix off edges`), and the share of the model's
    wrong pixels each mix would fix, from `results["merge_ceiling"]` (see
    `MergeCeiling`; with three or more scales the hard choice stands in
    for the mix in the last two columns).
    """
    ceiling = results.get("merge_ceiling")
    if not ceiling:
        return None
    two_scales = ceiling["best_mix"] is not None
    best = ceiling["best_mix" if two_scales else "best_scale"]
    off_edges = ceiling["best_mix_off_edges" if two_scales
                        else "best_scale_off_edges"]
    row = {"mIoU": 100 * results["miou"],
           "best scale": 100 * ceiling["best_scale"]["miou"],
           "errors fixed %": 100 * best["recovered"],
           "fixed off edges %": 100 * off_edges["recovered"]}
    if two_scales:
        row["best mix"] = 100 * best["miou"]
        row["best mix off edges"] = 100 * off_edges["miou"]
    return label, row


def ceilings_markdown(rows):
    """The merge ceilings as a Markdown table (see `ceiling_row`)."""
    return format_markdown_table(rows, CEILING_COLUMNS,
                                 row_header="merge (own maps' ceiling)")


def run_comparison(config, out_dir, variants=DEFAULT_VARIANTS,
                   size_thresholds=(32**2, 96**2), num_pictures=4,
                   train_fn=train, verbose=1):
    """Trains and evaluates each variant; writes results.json and results.md.

    results.md holds the comparison table and, for the variants with extra
    supervision, a second table of each scale's own score map by object
    size (`scale_rows`): where each scale is right, and how high its scores
    stand, which is what a max merge compares; and a third of the mIoU a
    perfect per-pixel choice or mix of each model's own score maps would
    reach (`ceiling_row`): how much any attention could add to them.

    A variant whose `<out_dir>/<variant>/model.keras` already exists is not
    trained again (an interrupted comparison resumes; each training run
    itself resumes from its backup), if it was trained with the variant's
    recipe: before any work, every variant folder holding a model or a
    backup is checked against its config.yaml (`check_reusable_runs`), every
    `model.keras` to reuse is loaded once (a truncated, corrupt or
    non-segmenter file is an error before any training), and a config with
    fewer than 2 scales is refused for the multi-scale variants
    (`check_variant_scales`).

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

    Raises:
        ValueError: for unknown variants, multi-scale variants of a
            single-scale config, variant folders holding runs of another
            recipe or a `model.keras` that cannot be loaded as a segmenter
            (see above).
    """
    from keras_scaleattn.export.keras_file import load_keras_model
    from keras_scaleattn.visualization.attention_pictures import (
        write_attention_pictures,
    )

    variants = check_variants(variants)
    check_variant_scales(config, variants)
    check_reusable_runs(config, out_dir, variants)
    # Every model to reuse is loaded once before any training, so that a bad
    # file found at its turn does not cost the runs trained before it; it
    # is loaded again there (holding all of them would hold every VGG-16).
    for variant in variants:
        model_dir = variant_config(config, variant, out_dir).runtime.model_dir
        model_path = os.path.join(model_dir, "model.keras")
        if os.path.exists(model_path):
            load_keras_model(model_path, "out_dir")
    os.makedirs(out_dir, exist_ok=True)
    all_results, rows, own_rows, ceiling_rows = {}, [], [], []
    for variant in variants:
        label = VARIANTS[variant][0]
        cfg = variant_config(config, variant, out_dir)
        model_path = os.path.join(cfg.runtime.model_dir, "model.keras")
        if os.path.exists(model_path):
            if verbose:
                print(f"[{variant}] reusing {model_path}")
            # A truncated, corrupt or non-segmenter file is named as such.
            model = load_keras_model(model_path, "out_dir")
        else:
            if verbose:
                print(f"[{variant}] training -> {cfg.runtime.model_dir}")
            model = train_fn(cfg).model
        _, eval_source = build_sources(cfg)
        class_names = class_names_for(cfg)
        results = evaluate_segmenter(
            model, build_eval_dataset(cfg, eval_source),
            cfg.data.num_classes, class_names=class_names,
            size_thresholds=size_thresholds,
            background_class=background_class_for(cfg), verbose=verbose)
        if "attention" in model.output_names and num_pictures:
            examples = eval_source.take(num_pictures).as_numpy_iterator()
            write_attention_pictures(
                model, examples, os.path.join(out_dir, "pictures"),
                class_names=class_names, prefix=variant)
        all_results[variant] = results
        rows.append(comparison_row(label, results))
        own_rows.extend(scale_rows(label, results))
        ceiling = ceiling_row(label, results)
        if ceiling is not None:
            ceiling_rows.append(ceiling)
        if verbose:
            print(f"[{variant}] mIoU {100 * results['miou']:.2f}")
    table = comparison_markdown(rows)
    if own_rows:
        table += "\n\n" + scales_markdown(own_rows)
    if ceiling_rows:
        table += "\n\n" + ceilings_markdown(ceiling_rows)
    write_json_atomic(os.path.join(out_dir, "results.json"), all_results)
    write_text_atomic(os.path.join(out_dir, "results.md"), table + "\n")
    if verbose:
        print(table)
    return all_results


def check_seeds(seeds):
    """Validates training seeds: distinct ints >= 0; returns them as a tuple."""
    seeds = tuple(seeds)
    if (not seeds or len(set(seeds)) != len(seeds)
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                       for v in seeds)):
        raise ValueError(
            "`seeds` must be one or more distinct ints >= 0. "
            f"Received: seeds={list(seeds)}"
        )
    return seeds


def seeds_summary(results_by_seed):
    """Each variant's mIoU (%) per seed, with mean, min and max over seeds.

    Args:
        results_by_seed: dict seed -> `run_comparison` results (variant ->
            evaluation results); every seed must hold the same variants.

    Returns:
        list of `(variant label, {"seed N": ..., "mean", "min", "max"})`.
    """
    seeds = list(results_by_seed)
    variants = list(results_by_seed[seeds[0]])
    rows = []
    for variant in variants:
        values = [100 * results_by_seed[s][variant]["miou"] for s in seeds]
        row = {f"seed {s}": v for s, v in zip(seeds, values)}
        row.update(mean=sum(values) / len(values), min=min(values),
                   max=max(values))
        rows.append((VARIANTS[variant][0], row))
    return rows


def seeds_markdown(results_by_seed):
    """`seeds_summary` as a Markdown table."""
    columns = [f"seed {s}" for s in results_by_seed] + ["mean", "min", "max"]
    return format_markdown_table(seeds_summary(results_by_seed), columns,
                                 row_header="merge (mIoU %)")


PAIRED_COLUMNS = ("mean difference", "std", "95% CI low", "95% CI high",
                  "seeds better")


def paired_differences(results_by_seed, reference="attention_esupv"):
    """How much one variant beats each other one, seed by seed.

    The runs of one seed share the data, the recipe and the initialisation
    seed, so the difference of two variants' mIoU is taken within each seed
    and summarised over the seeds: its mean, its standard deviation (n - 1)
    and a 95% confidence interval of the mean from Student's t with n - 1
    degrees of freedom (`scipy.stats.t`), which assumes the per-seed
    differences are roughly normal; with a handful of seeds read it as a
    rough guide. An interval that holds 0 means the seeds do not rank the two.

    Args:
        results_by_seed: dict seed -> `run_comparison` results (variant ->
            evaluation results); every seed must hold the same variants.
        reference: str. The variant compared with each other one. Defaults
            to `"attention_esupv"`, the paper's model.

    Returns:
        list of `(other variant's label, {"mean difference", "std",
        "95% CI low", "95% CI high", "seeds better"})`, in mIoU points,
        reference minus other; `"seeds better"` is `"k/n"`, the seeds where
        the reference is higher. `std` and the interval are None for one
        seed.

    Raises:
        ValueError: if `reference` is not among the variants.

    Example:

    >>> results = {0: {"max": {"miou": 0.80}, "attention_esupv": {"miou": 0.82}},
    ...            1: {"max": {"miou": 0.78}, "attention_esupv": {"miou": 0.81}}}
    >>> row = dict(paired_differences(results))["max"]
    >>> round(row["mean difference"], 2), row["seeds better"]
    (2.5, '2/2')
    """
    seeds = list(results_by_seed)
    variants = list(results_by_seed[seeds[0]])
    if reference not in variants:
        raise ValueError(
            f"`reference` must be one of the compared variants {variants}. "
            f"Received: reference={reference!r}"
        )
    miou = {v: np.array([100 * results_by_seed[s][v]["miou"] for s in seeds])
            for v in variants}
    rows = []
    for variant in variants:
        if variant == reference:
            continue
        diff = miou[reference] - miou[variant]
        n = len(diff)
        row = {"mean difference": float(diff.mean()), "std": None,
               "95% CI low": None, "95% CI high": None,
               "seeds better": f"{int((diff > 0).sum())}/{n}"}
        if n > 1:
            std = float(diff.std(ddof=1))
            half = float(stats.t.ppf(0.975, n - 1)) * std / np.sqrt(n)
            row.update({"std": std,
                        "95% CI low": row["mean difference"] - half,
                        "95% CI high": row["mean difference"] + half})
        rows.append((VARIANTS[variant][0], row))
    return rows


def paired_markdown(results_by_seed, reference="attention_esupv"):
    """`paired_differences` as a Markdown table."""
    return format_markdown_table(
        paired_differences(results_by_seed, reference), PAIRED_COLUMNS,
        row_header=f"{VARIANTS[reference][0]} minus (mIoU points)")


def run_seeded_comparison(config, out_dir, seeds, variants=DEFAULT_VARIANTS,
                          size_thresholds=(32**2, 96**2), num_pictures=4,
                          train_fn=train, verbose=1):
    """`run_comparison` once per training seed, and a summary across seeds.

    Seed `s` sets `runtime.seed` (weight initialisation and dropout; the
    data, its augmentation and order keep `data.seed`) and writes to
    `<out_dir>/seed_<s>/`,
    so a finished seed is reused and an interrupted one resumes.
    `<out_dir>/summary.md` and `summary.json` hold each variant's mIoU per
    seed with its mean, min and max; when `"attention_esupv"` is among
    several variants, `summary.md` adds and `paired_differences.json` holds
    its paired difference with each other variant (`paired_differences`).

    Args:
        config: `ExperimentConfig`, the shared recipe and dataset.
        out_dir: str.
        seeds: sequence of distinct ints >= 0.
        variants, size_thresholds, num_pictures, train_fn, verbose: as in
            `run_comparison`.

    Returns:
        dict seed -> `run_comparison` results.

    Raises:
        ValueError: as `run_comparison`, for any seed, before the first
            seed's work.
    """
    seeds = check_seeds(seeds)
    variants = check_variants(variants)
    check_variant_scales(config, variants)
    seeded_configs = {
        seed: config_from_dict(dataclasses.asdict(config),
                               [f"runtime.seed={seed}"], origin=f"seed {seed}")
        for seed in seeds}
    # Every seed's folders before the first seed's work.
    for seed, seeded in seeded_configs.items():
        check_reusable_runs(seeded, os.path.join(out_dir, f"seed_{seed}"),
                            variants)
    os.makedirs(out_dir, exist_ok=True)
    results_by_seed = {}
    for seed, seeded in seeded_configs.items():
        if verbose:
            print(f"== seed {seed}")
        results_by_seed[seed] = run_comparison(
            seeded, os.path.join(out_dir, f"seed_{seed}"), variants=variants,
            size_thresholds=size_thresholds, num_pictures=num_pictures,
            train_fn=train_fn, verbose=verbose)
    table = seeds_markdown(results_by_seed)
    summary = {label: row for label, row in seeds_summary(results_by_seed)}
    if "attention_esupv" in variants and len(variants) > 1:
        table += "\n" + paired_markdown(results_by_seed)
        paired = {label: row
                  for label, row in paired_differences(results_by_seed)}
        write_json_atomic(os.path.join(out_dir, "paired_differences.json"),
                          paired)
    write_json_atomic(os.path.join(out_dir, "summary.json"), summary)
    write_text_atomic(os.path.join(out_dir, "summary.md"), table + "\n")
    if verbose:
        print(table)
    return results_by_seed
