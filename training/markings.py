"""Accuracy and attention on the synthetic dataset's markings, per merge.

    python training/markings.py --config training/configs/synthetic_markings.yaml --runs runs/markings

Reads the models `training/compare.py` trained in `--runs`
(`<runs>/<variant>/model.keras`) and, on the evaluation split of the
synthetic dataset, reports each model's pixel accuracy on the kinds of
pixels the dataset is built from (`SYNTHETIC_REGION_NAMES`): small objects
off the large discs, markings on a disc that are objects, decoys, the bare
discs, the background; and for attention models the mean weight of scale 1
on each. The markings are where the right scale depends on what both scales
see (keras_scaleattn/data/synthetic.py; on with
`data.eval_source_kwargs: {markings: true}`, as `synthetic_markings.yaml`;
without markings there are no decoys, and "objects on discs" are the small
objects that overlap a disc's edge). Prints the tables and writes
`<runs>/markings.md` and `<runs>/markings.json` (atomically).
"""

import argparse
import os
import sys

from keras_scaleattn.cli import run_script
from keras_scaleattn.training import load_config
from keras_scaleattn.training.paper_comparison import DEFAULT_VARIANTS
from keras_scaleattn.training.paper_comparison import VARIANTS


def markings_markdown(results):
    """Accuracy per region and scale-1 weight per region as Markdown."""
    from keras_scaleattn.evaluation import format_markdown_table

    regions = list(next(iter(results.values())).keys())
    accuracy = format_markdown_table(
        [(VARIANTS[v][0], {r: 100 * results[v][r]["accuracy"] for r in regions})
         for v in results], regions, row_header="pixel accuracy %")
    weighted = [v for v in results if "attention" in results[v][regions[0]]]
    text = accuracy + "\n"
    if weighted:
        finest = max(results[weighted[0]][regions[0]]["attention"])
        text += "\n" + format_markdown_table(
            [(VARIANTS[v][0], {r: results[v][r]["attention"][finest] for r in regions})
             for v in weighted], regions,
            row_header=f"weight of scale {finest}") + "\n"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Accuracy and attention on the synthetic markings.")
    parser.add_argument("--config", required=True,
                        help="the experiment's YAML (data.dataset: synthetic)")
    parser.add_argument("--runs", required=True,
                        help="out-dir of training/compare.py")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted config overrides")
    args = parser.parse_args(argv)
    # A missing file or a bad key or value: run_script prints it, exit 2.
    config = load_config(args.config, args.overrides)
    if config.data.dataset != "synthetic":
        parser.exit(2, "error: data.dataset must be 'synthetic' (the markings "
                       f"are its own). Received: {config.data.dataset!r}\n")
    variants = [v for v in DEFAULT_VARIANTS
                if os.path.isfile(os.path.join(args.runs, v, "model.keras"))]
    if not variants:
        parser.exit(2, f"error: --runs holds no <variant>/model.keras: {args.runs!r}\n")

    from keras_scaleattn.data import SYNTHETIC_REGION_NAMES
    from keras_scaleattn.data import synthetic_region_maps
    from keras_scaleattn.data import synthetic_scale_arrays
    from keras_scaleattn.evaluation import accuracy_by_region
    from keras_scaleattn.evaluation import write_json_atomic
    from keras_scaleattn.evaluation import write_text_atomic
    from keras_scaleattn.export.keras_file import load_keras_model

    data = config.data
    split_args = (data.eval_split, data.num_eval_examples, data.image_size,
                  data.seed, bool(data.eval_source_kwargs.get("markings", False)))
    images, labels = synthetic_scale_arrays(*split_args)
    regions = synthetic_region_maps(*split_args)
    results = {}
    for variant in variants:
        # A truncated, corrupt or non-segmenter file: one line naming
        # --runs and the file (run_script prints it, exit 2).
        model = load_keras_model(
            os.path.join(args.runs, variant, "model.keras"), "--runs")
        results[variant] = accuracy_by_region(
            model, images, labels, regions, SYNTHETIC_REGION_NAMES)
    text = markings_markdown(results)
    print(text)
    write_text_atomic(os.path.join(args.runs, "markings.md"), text)
    write_json_atomic(os.path.join(args.runs, "markings.json"), results)
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
