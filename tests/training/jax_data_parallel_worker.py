"""Child process of the JAX data-parallel tests (run as a script, not
collected): the device count is fixed when JAX starts, hence a child with
`XLA_FLAGS=--xla_force_host_platform_device_count=N` and
`KERAS_BACKEND=jax`.

    python tests/training/jax_data_parallel_worker.py STRATEGY MODEL_DIR OUT.npz [BATCH]

Trains the tiny model through the package's `train` with
`runtime.strategy=STRATEGY` (and `data.batch_size=BATCH` if given), prints
`replicas N` and the class of `make_strategy(STRATEGY)`, and writes the
final weights to OUT.npz.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from training_helpers import tiny_config  # noqa: E402


def main(strategy, model_dir, out, batch_size=None):
    import numpy as np

    from keras_scaleattn.cli import run_script
    from keras_scaleattn.training import train
    from keras_scaleattn.training.strategy import make_strategy

    data = {"batch_size": int(batch_size)} if batch_size else {}
    config = tiny_config(model_dir, data=data, runtime={"strategy": strategy},
                         optimization={"optimizer": "caffe_sgd"})

    def run(_):
        result = train(config)
        print("replicas", result.num_replicas)
        print("tf_strategy", type(make_strategy(strategy)).__name__)
        np.savez(out, *result.model.get_weights())
        return 0

    return run_script(run, [])


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
