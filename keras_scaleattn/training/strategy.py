"""The `tf.distribute` strategy named by `runtime.strategy`.

On the TensorFlow backend:

- `"auto"`: `MirroredStrategy` over the local GPUs when there are two or
  more, else the default (single-device) strategy.
- `"default"`: the default strategy (one device).
- `"mirrored"`: `MirroredStrategy` over the local GPUs (or the CPU).
- `"multi_worker"`: `MultiWorkerMirroredStrategy`, cluster from `TF_CONFIG`.
  Keras 3's `fit` is broken under it (keras #20585, tensorflow #72388), so
  the trainer runs its own loop there (`custom_loop.py`).

On any other backend `make_strategy` returns TensorFlow's default strategy
(TensorFlow only feeds the data there), and on JAX
`data_parallel_distribution` gives the Keras distribution instead:
`keras.distribution.DataParallel` over the local JAX devices for `"auto"`
(with two or more devices) and `"mirrored"`, none for `"default"`
(`"multi_worker"` is refused by `validate_config`).
"""

import json
import os

import keras
import tensorflow as tf

from keras_scaleattn.training.config import STRATEGIES

# One strategy per kind and process: a second MirroredStrategy reuses the
# collective instance keys of the first, whose cached parameters then clash
# ("Shape mismatch in the collective instance"), and a process can only
# configure one MultiWorkerMirroredStrategy.
_STRATEGIES = {}


def make_strategy(name="auto"):
    """Creates the strategy called `name` (see the module docstring).

    Must be called before any other TensorFlow work in the process for
    `"multi_worker"` (collective ops are configured at start-up). Later
    calls with the same name return the same strategy object.

    Args:
        name: str. `"auto"`, `"default"`, `"mirrored"` or `"multi_worker"`.
            Defaults to `"auto"`.

    Returns:
        `tf.distribute.Strategy`; the default one on a backend other than
        TensorFlow (see `data_parallel_distribution`).

    Raises:
        ValueError: for an unknown `name`, or `"multi_worker"` without a
            valid `TF_CONFIG`.

    Example:

    >>> make_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"`runtime.strategy` must be one of {list(STRATEGIES)}. "
            f"Received: runtime.strategy={name!r}"
        )
    if keras.backend.backend() != "tensorflow":
        # tf.distribute would place TensorFlow variables (and take GPU
        # memory) for a model that is not TensorFlow's.
        name = "default"
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _STRATEGIES:
        if name == "mirrored":
            _STRATEGIES[name] = tf.distribute.MirroredStrategy()
        else:
            _check_tf_config()
            _STRATEGIES[name] = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGIES[name]


def _check_tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "`runtime.strategy='multi_worker'` needs the TF_CONFIG environment "
            "variable (cluster and task). Received: TF_CONFIG unset"
        )
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        task = tf_config["task"]
        valid = (bool(workers) and isinstance(task["type"], str)
                 and isinstance(task["index"], int))
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise ValueError(
            "TF_CONFIG must be JSON with a non-empty cluster.worker list and "
            f"task.type / task.index. Received: TF_CONFIG={raw!r}"
        )


def is_chief(strategy):
    """Whether this process writes checkpoints, logs and the final model.

    Every process is the chief except in a multi-worker cluster, where the
    chief is the "chief" task if there is one, else worker 0.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster:
        return True
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def data_parallel_distribution(name="auto"):
    """The Keras distribution of `runtime.strategy` on the JAX backend.

    Synchronous data parallelism as `MirroredStrategy` on TensorFlow: every
    device holds all the weights, each batch is split over the devices
    along its first axis, and the gradients are averaged. Train inside
    `distribution.scope()`.

    Args:
        name: str. `"auto"` (all local devices when there are two or more),
            `"mirrored"` (all local devices) or `"default"` (none).

    Returns:
        `keras.distribution.DataParallel`, or None for one device or a
        backend other than JAX (TensorFlow uses `make_strategy`).

    Example:

    >>> data_parallel_distribution("default") is None
    True
    """
    if keras.backend.backend() != "jax" or name == "default":
        return None
    devices = keras.distribution.list_devices()
    if name == "auto" and len(devices) < 2:
        return None
    return keras.distribution.DataParallel(devices=devices)


def num_devices(distribution):
    """How many devices a `data_parallel_distribution` splits batches over."""
    return int(distribution.device_mesh.devices.size)
