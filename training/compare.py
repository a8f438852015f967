"""The paper's comparison on one dataset: single scale, max, average, attention.

    python training/compare.py --config training/configs/synthetic_tiny.yaml --out-dir runs/compare

Trains each variant (`--variants`, default: single scale, and max, average
and attention without and with E-Supv, as the paper's tables) with the
experiment's recipe, evaluates it at full resolution on the evaluation split
(mIoU, mIoU by object size, attention weight by object size), prints the
Markdown table and
writes `<out-dir>/results.md`, `<out-dir>/results.json` and attention pictures
in `<out-dir>/pictures/`. Finished variants are reused when the command is run
again; an interrupted variant resumes from its last epoch; either only if it
was trained with the same recipe (a variant folder whose config.yaml differs
in a key that can change the weights is refused before any training, naming
the keys). Config overrides (`section.key=value`) apply to every variant.
The multi-scale variants need at least 2 `model.scales` (a single-scale
config is refused for them); the variants without E-Supv reset
`optimization.scale_loss_weights`. `make demo` runs this command.
With `--seeds 0,1,2` it runs the comparison once per training seed (in
`<out-dir>/seed_<N>/`) and writes `summary.md` / `summary.json`: each
variant's mIoU per seed with its mean, min and max, since one run is rarely
enough to rank the merges (docs/results.md); with attention + E-Supv among
the variants, also its difference with each other one, paired by seed, with
a 95% interval (`paired_differences.json`, and a second table in
`summary.md`).
"""

import argparse
import sys

from keras_scaleattn.cli import run_script
from keras_scaleattn.training import load_config
from keras_scaleattn.training.paper_comparison import DEFAULT_VARIANTS
from keras_scaleattn.training.paper_comparison import VARIANTS
from keras_scaleattn.training.paper_comparison import check_variants
from keras_scaleattn.training.paper_comparison import run_comparison
from keras_scaleattn.training.paper_comparison import run_seeded_comparison


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train and evaluate the paper's merge variants.")
    parser.add_argument("--config", required=True,
                        help="YAML experiment, e.g. training/configs/synthetic_tiny.yaml")
    parser.add_argument("--out-dir", required=True,
                        help="folder for the variants' runs, tables and pictures")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"comma-separated, among {','.join(VARIANTS)}")
    parser.add_argument("--pictures", type=int, default=4,
                        help="attention pictures per attention variant")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated training seeds (runtime.seed), "
                             "e.g. 0,1,2: one comparison per seed in "
                             "<out-dir>/seed_<N>/ and summary.md / "
                             "summary.json across them")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted config overrides for every variant")
    args = parser.parse_args(argv)
    if args.pictures < 0:
        parser.error(f"--pictures must be >= 0. Received: {args.pictures}")
    # A missing file or a bad key, value or variant: run_script prints it, exit 2.
    config = load_config(args.config, args.overrides)
    variants = check_variants(v for v in args.variants.split(",") if v)
    thresholds = tuple(config.data.size_thresholds)
    if args.seeds is None:
        run_comparison(config, args.out_dir, variants=variants,
                       size_thresholds=thresholds, num_pictures=args.pictures)
        print(f"Wrote {args.out_dir}/results.md, results.json and pictures/")
        return 0
    # run_seeded_comparison checks the seeds before any work.
    run_seeded_comparison(config, args.out_dir, _parse_seeds(args.seeds),
                          variants=variants,
                          size_thresholds=thresholds,
                          num_pictures=args.pictures)
    print(f"Wrote {args.out_dir}/seed_<N>/ and {args.out_dir}/summary.md, "
          "summary.json (and paired_differences.json with attention + E-Supv)")
    return 0


def _parse_seeds(text):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(
            "--seeds must be comma-separated ints >= 0, e.g. 0,1,2. "
            f"Received: {text!r}") from None


if __name__ == "__main__":
    sys.exit(run_script(main))
