"""tf.distribute: MirroredStrategy on two logical CPUs, two local workers.

Both need fresh processes: logical devices and the multi-worker collectives
can only be configured before TensorFlow initialises.
"""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_scaleattn.training import train
from training_helpers import REPO
from training_helpers import free_port
from training_helpers import run_python
from training_helpers import subprocess_env
from training_helpers import tiny_config

WORKER = os.path.join("tests", "training", "distributed_worker.py")


def _weights(path):
    arrays = np.load(path)
    return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def _max_difference(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


@pytest.mark.slow
def test_mirrored_on_two_cpus_matches_a_single_device(tmp_path):
    result = run_python([WORKER, "mirrored", str(tmp_path)], timeout=540)
    assert result.returncode == 0, result.stderr[-4000:]
    with open(tmp_path / "losses.json") as f:
        runs = json.load(f)
    assert runs["single_fit"]["replicas"] == 1
    assert runs["mirrored_fit"] == dict(runs["mirrored_fit"], replicas=2, loop="fit")
    assert len(runs["mirrored_fit"]["val_loss"]) == 2
    assert np.all(np.isfinite(runs["mirrored_fit"]["val_loss"]))
    # Keras' accumulation fails under several replicas: "auto" takes the
    # custom loop, which accumulates itself.
    assert runs["mirrored_auto_accumulate"]["loop"] == "custom"
    for run in runs.values():
        assert np.all(np.isfinite(run["loss"])) and len(run["loss"]) == 2

    single = _weights(tmp_path / "single_fit.npz")
    accumulated = _weights(tmp_path / "single_fit_accumulate.npz")
    # Same batches, split over two replicas: equal up to float32 summation
    # order (measured ~1.5e-8); a loss scaled by the per-replica instead of
    # the global batch would double the step.
    for name, reference in [("mirrored_fit", single),
                            ("mirrored_auto_accumulate", accumulated)]:
        weights = _weights(tmp_path / f"{name}.npz")
        assert _max_difference(weights, reference) < 1e-6, name
        np.testing.assert_allclose(runs[name]["loss"],
                                   runs["single_fit_accumulate" if "accumulate" in name
                                        else "single_fit"]["loss"], rtol=1e-5)
    assert _max_difference(single, accumulated) > 1e-4  # different runs


def _start_workers(model_dir, tmp_path):
    ports = [free_port(), free_port()]
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}}
        log = open(tmp_path / f"worker{index}.log", "w")
        process = subprocess.Popen(
            [sys.executable, WORKER, "multi_worker", str(model_dir),
             str(tmp_path / f"worker{index}.npz")],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            env=subprocess_env(TF_CONFIG=json.dumps(tf_config)))
        workers.append((process, log))
    return workers


def _wait(workers, timeout):
    deadline = time.monotonic() + timeout
    try:
        for process, _ in workers:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process, log in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    return [process.returncode for process, _ in workers]


@pytest.mark.slow
def test_two_local_workers_end_with_identical_weights(tmp_path):
    model_dir = tmp_path / "run"
    codes = _wait(_start_workers(model_dir, tmp_path), timeout=480)
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], "\n\n".join(log[-3000:] for log in logs)
    reports = [json.loads(log.strip().splitlines()[-1]) for log in logs]
    assert [r["chief"] for r in reports] == [True, False]
    assert all(r["loop"] == "custom" and r["replicas"] == 2 for r in reports)
    assert reports[0]["loss"] == reports[1]["loss"]

    chief, other = (_weights(tmp_path / f"worker{i}.npz") for i in range(2))
    for a, b in zip(chief, other):
        np.testing.assert_array_equal(a, b)
    # Only the chief wrote the run's files; model.keras holds those weights.
    assert sorted(os.listdir(model_dir)) == ["config.yaml", "model.keras"]
    saved = keras.models.load_model(model_dir / "model.keras")
    for a, b in zip(saved.get_weights(), chief):
        np.testing.assert_array_equal(a, b)

    # The global batch split over two workers trains like one device.
    keras.utils.clear_session()
    reference = train(tiny_config(tmp_path / "single",
                                  optimization={"steps": 2, "steps_per_epoch": 1}))
    assert _max_difference(reference.model.get_weights(), chief) < 1e-6
    np.testing.assert_allclose(reports[0]["loss"], reference.history["loss"], rtol=1e-5)
