"""Trains Attention to Scale from a named YAML experiment.

    python training/train.py --config training/configs/synthetic_tiny.yaml runtime.model_dir=runs/synthetic_tiny

Any field of the config can be overridden with `section.key=value` (YAML
values): `model.scales=[1.0,0.5]`, `optimization.steps=500`,
`runtime.strategy=mirrored`, `model.imagenet_weights=null`. The resolved
config is printed and written to `<model_dir>/config.yaml`; running the same
command again after an interruption resumes from the last completed epoch
(a changed config is refused, naming the keys that differ, unless only keys
that cannot change the weights changed: verbosity, logging, checkpoints,
validation, evaluation). See docs/training.md.
"""

import argparse
import sys

from keras_scaleattn.cli import run_script
from keras_scaleattn.training import config_to_yaml
from keras_scaleattn.training import load_config
from keras_scaleattn.training import train


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train a ScaleAttentionSegmenter from a YAML experiment.")
    parser.add_argument("--config", required=True,
                        help="YAML experiment, e.g. training/configs/synthetic_tiny.yaml")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted overrides, e.g. optimization.steps=500")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit")
    args = parser.parse_args(argv)
    # A missing file or a bad key or value: run_script prints it, exit 2.
    config = load_config(args.config, args.overrides)
    print("Resolved config:\n" + config_to_yaml(config), flush=True)
    if args.dry_run:
        return 0
    try:
        result = train(config)
    except (FileNotFoundError, FileExistsError) as error:
        parser.exit(1, f"error: {error}\n")
    if not result.chief:
        return 0
    paths = result.paths
    resumed = f" (resumed at epoch {result.initial_epoch})" if result.initial_epoch else ""
    print(f"Trained with the {result.training_loop} loop on "
          f"{result.num_replicas} replica(s){resumed}.")
    print(f"config:      {paths.config}")
    print(f"model:       {paths.model}")
    if config.runtime.checkpoint_every_epochs:
        print(f"checkpoints: {paths.checkpoints}")
    if config.runtime.tensorboard:
        print(f"tensorboard: tensorboard --logdir {paths.logs}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
