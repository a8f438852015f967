"""Strategies by name, and which process of a cluster is the chief."""

import types

import tensorflow as tf

from keras_scaleattn.training import make_strategy
from keras_scaleattn.training.strategy import is_chief


def _cluster(spec, task_type, task_id):
    resolver = types.SimpleNamespace(
        cluster_spec=lambda: types.SimpleNamespace(as_dict=lambda: spec),
        task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_auto_on_a_machine_without_gpus_is_the_default_strategy():
    assert make_strategy("auto") is tf.distribute.get_strategy()
    assert make_strategy("default").num_replicas_in_sync == 1


def test_one_mirrored_strategy_per_process():
    first = make_strategy("mirrored")
    assert isinstance(first, tf.distribute.MirroredStrategy)
    assert make_strategy("mirrored") is first


def test_the_chief():
    workers = {"worker": ["a:1", "b:2"]}
    assert is_chief(tf.distribute.get_strategy())
    assert is_chief(_cluster(workers, "worker", 0))
    assert not is_chief(_cluster(workers, "worker", 1))
    with_chief = {"chief": ["c:3"], "worker": ["a:1", "b:2"]}
    assert is_chief(_cluster(with_chief, "chief", 0))
    assert not is_chief(_cluster(with_chief, "worker", 0))
