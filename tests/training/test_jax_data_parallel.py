"""`training.train` under KERAS_BACKEND=jax on two (simulated) CPU devices:
`keras.distribution.DataParallel` splits each batch over the devices and
averages the gradients, so it must end with the weights of one device."""

import os

import numpy as np
import pytest

from training_helpers import run_python

WORKER = os.path.join("tests", "training", "jax_data_parallel_worker.py")


def _run(tmp_path, strategies, devices, batch_size=None):
    args = [WORKER, str(tmp_path), ",".join(strategies)]
    if batch_size is not None:
        args.append(str(batch_size))
    return run_python(
        args, timeout=600, KERAS_BACKEND="jax",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


@pytest.mark.slow
def test_two_devices_end_with_the_weights_of_one(tmp_path):
    # "auto" with two or more devices and "mirrored": DataParallel (and no
    # tf.distribute MirroredStrategy around the JAX model). The three
    # trainings share one child process, so JAX and XLA start once.
    result = _run(tmp_path, ("default", "auto", "mirrored"), devices=2)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "default replicas 1 " in result.stdout
    single = np.load(tmp_path / "default.npz")
    assert len(single.files) > 10
    for strategy in ("auto", "mirrored"):
        assert (f"{strategy} replicas 2 tf_strategy _DefaultDistributionStrategy"
                in result.stdout), result.stdout[-2000:]
        split = np.load(tmp_path / f"{strategy}.npz")
        assert split.files == single.files
        for key in single.files:
            # Measured: 7e-9 apart (the same SGD updates, summed in another order).
            np.testing.assert_allclose(split[key], single[key], rtol=1e-4, atol=1e-6)


def test_a_batch_the_devices_do_not_divide_is_refused(tmp_path):
    result = _run(tmp_path, ("mirrored",), devices=3, batch_size=4)
    assert result.returncode == 2
    assert "data.batch_size" in result.stderr and "3 JAX devices" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mirrored.npz").exists()
    assert not (tmp_path / "mirrored").exists()
