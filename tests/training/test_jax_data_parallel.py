"""`training.train` under KERAS_BACKEND=jax on two (simulated) CPU devices:
`keras.distribution.DataParallel` splits each batch over the devices and
averages the gradients, so it must end with the weights of one device."""

import os

import numpy as np
import pytest

from training_helpers import run_python

WORKER = os.path.join("tests", "training", "jax_data_parallel_worker.py")


def _run(tmp_path, strategy, devices, batch_size=None):
    out = tmp_path / f"{strategy}.npz"
    args = [WORKER, strategy, str(tmp_path / strategy), str(out)]
    if batch_size is not None:
        args.append(str(batch_size))
    result = run_python(
        args, timeout=480, KERAS_BACKEND="jax",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    return result, out


@pytest.mark.slow
def test_two_devices_end_with_the_weights_of_one(tmp_path):
    one, one_out = _run(tmp_path, "default", devices=2)
    assert one.returncode == 0, one.stderr[-4000:]
    assert "replicas 1" in one.stdout
    single = np.load(one_out)
    assert len(single.files) > 10
    # "auto" with two or more devices and "mirrored": DataParallel (and no
    # tf.distribute MirroredStrategy around the JAX model).
    for strategy in ("auto", "mirrored"):
        two, two_out = _run(tmp_path, strategy, devices=2)
        assert two.returncode == 0, two.stderr[-4000:]
        assert "replicas 2" in two.stdout and "tf_strategy _DefaultDistributionStrategy" in two.stdout
        split = np.load(two_out)
        assert split.files == single.files
        for key in single.files:
            # Measured: 7e-9 apart (the same SGD updates, summed in another order).
            np.testing.assert_allclose(split[key], single[key], rtol=1e-4, atol=1e-6)


def test_a_batch_the_devices_do_not_divide_is_refused(tmp_path):
    result, out = _run(tmp_path, "mirrored", devices=3, batch_size=4)
    assert result.returncode == 2
    assert "data.batch_size" in result.stderr and "3 JAX devices" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "mirrored").exists()
