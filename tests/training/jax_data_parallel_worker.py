"""Child process of the JAX data-parallel tests (run as a script, not
collected): the device count is fixed when JAX starts, hence a child with
`XLA_FLAGS=--xla_force_host_platform_device_count=N` and
`KERAS_BACKEND=jax`.

    python tests/training/jax_data_parallel_worker.py OUT_DIR STRATEGY[,STRATEGY...] [BATCH]

For each strategy in turn (one process, so JAX and XLA start once), trains
the tiny model through the package's `train` with `runtime.strategy=STRATEGY`
(and `data.batch_size=BATCH` if given) into OUT_DIR/STRATEGY, prints
`STRATEGY replicas N tf_strategy CLASS` (the class of
`make_strategy(STRATEGY)`) and writes the final weights to
OUT_DIR/STRATEGY.npz.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from training_helpers import tiny_config  # noqa: E402


def main(out_dir, strategies, batch_size=None):
    import numpy as np

    from keras_scaleattn.cli import run_script
    from keras_scaleattn.training import train
    from keras_scaleattn.training.strategy import make_strategy

    data = {"batch_size": int(batch_size)} if batch_size else {}

    def run(_):
        for strategy in strategies.split(","):
            config = tiny_config(os.path.join(out_dir, strategy), data=data,
                                 runtime={"strategy": strategy},
                                 optimization={"optimizer": "caffe_sgd"})
            result = train(config)
            print(strategy, "replicas", result.num_replicas, "tf_strategy",
                  type(make_strategy(strategy)).__name__)
            np.savez(os.path.join(out_dir, f"{strategy}.npz"),
                     *result.model.get_weights())
        return 0

    return run_script(run, [])


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
