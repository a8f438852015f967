"""Child process of the tf.distribute tests (run as a script, not collected).

    python tests/training/distributed_worker.py mirrored OUT_DIR
    TF_CONFIG=... python tests/training/distributed_worker.py multi_worker MODEL_DIR OUT.npz

`mirrored`: splits the CPU into two logical devices (only possible before
TensorFlow initialises, hence a child process), then trains the tiny model
single-device with `fit` (without and with Keras' gradient accumulation),
and under `MirroredStrategy` over the two devices with `fit` and, with
gradient accumulation, with the custom loop that "auto" picks there;
writes each run's final weights to OUT_DIR/<name>.npz and its losses to
OUT_DIR/losses.json.

`multi_worker`: one worker of a `MultiWorkerMirroredStrategy` cluster
(from TF_CONFIG), training the tiny model through the package's `train`
(which picks the custom loop); writes this worker's final weights to OUT.npz.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from training_helpers import tiny_config  # noqa: E402


def _save(model, path):
    import numpy as np

    np.savez(path, *model.get_weights())


def mirrored(out_dir):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from keras_scaleattn.training import train

    def run(name, strategy, **sections):
        keras.utils.clear_session()
        config = tiny_config(os.path.join(out_dir, name), **sections)
        result = train(config, strategy=strategy)
        _save(result.model, os.path.join(out_dir, f"{name}.npz"))
        return {"loss": result.history["loss"], "loop": result.training_loop,
                "replicas": result.num_replicas,
                "val_loss": result.history.get("val_loss")}

    # One MirroredStrategy for every run: a second one in the same process
    # reuses the collective instance keys of the first, whose cached
    # parameters (shapes) then clash ("Shape mismatch in the collective").
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = tf.distribute.get_strategy()
    steps = {"steps": 2, "steps_per_epoch": 1}
    accumulate = dict(steps, gradient_accumulation_steps=2)
    results = {
        "single_fit": run("single_fit", one, optimization=steps),
        # Validation on single full images: a batch of one, fewer images
        # than replicas (fit's own validation fails there).
        "mirrored_fit": run("mirrored_fit", mirrored_strategy, optimization=steps,
                            runtime={"training_loop": "fit", "validation_steps": 2}),
        "single_fit_accumulate": run("single_fit_accumulate", one,
                                     optimization=accumulate),
        "mirrored_auto_accumulate": run("mirrored_auto_accumulate", mirrored_strategy,
                                        optimization=accumulate),
    }
    with open(os.path.join(out_dir, "losses.json"), "w") as f:
        json.dump(results, f)


def multi_worker(model_dir, out_path):
    from keras_scaleattn.training import train

    config = tiny_config(model_dir, optimization={"steps": 2, "steps_per_epoch": 1},
                         runtime={"strategy": "multi_worker"})
    result = train(config)
    _save(result.model, out_path)
    print(json.dumps({"chief": result.chief, "loop": result.training_loop,
                      "replicas": result.num_replicas,
                      "loss": result.history["loss"]}))


if __name__ == "__main__":
    if sys.argv[1] == "mirrored":
        mirrored(sys.argv[2])
    elif sys.argv[1] == "multi_worker":
        multi_worker(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]!r}")
