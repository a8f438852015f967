"""Helpers shared by the export tests."""

import importlib.util
import os
from pathlib import Path

import numpy as np

TINY = dict(num_classes=3, scales=(1.0, 0.5), trunk_width=0.0625,
            attention_filters=8)
FIXED_SIZE = (41, 41)
ROOT = Path(__file__).resolve().parents[2]
# `--num-threads` values every script that runs LiteRT refuses, and its
# message (`keras_scaleattn.cli.check_num_threads_flag`).
BAD_NUM_THREADS_FLAGS = [
    (["--num-threads", "0"], "`--num-threads` must be a positive int "
                             "(leave the flag out for LiteRT's default). "
                             "Received: --num-threads=0"),
    (["--num-threads", "-2"], "`--num-threads` must be a positive int "
                              "(leave the flag out for LiteRT's default). "
                              "Received: --num-threads=-2"),
]


def load_script(name, folder="deploy"):
    """Imports `<folder>/<name>.py` as a module (deploy/ and training/ are
    not packages)."""
    spec = importlib.util.spec_from_file_location(
        f"{folder}_{name}", ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_no_temporaries(directory):
    """No hidden temporary file or directory is left in `directory`."""
    leftovers = [name for name in os.listdir(directory)
                 if name.startswith(".")]
    assert leftovers == [], leftovers


def uint8_batch(rng, batch, height, width):
    return rng.integers(0, 256, size=(batch, height, width, 3),
                        dtype=np.uint8)


def identity_onnx_file(path, metadata=None):
    """A tiny ONNX graph (`images` -> Identity), with the package's metadata
    JSON string if given: a stand-in for an exported model's file."""
    import onnx
    from onnx import TensorProto
    from onnx import helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["y"])], "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                       ["b", "h", "w", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       ["b", "h", "w", 3])])
    model = helper.make_model(graph)
    if metadata is not None:
        entry = model.metadata_props.add()
        entry.key = "keras_scaleattn"
        entry.value = metadata
    onnx.save(model, path)
    return path


def write_glob_experiment(folder, pairs, size_thresholds):
    """Writes `(image, label)` uint8 pairs as PNGs under `folder`/images and
    `folder`/masks, and `folder`/config.yaml: a 3-class `glob` experiment
    that trains and evaluates on them. Returns the config's path."""
    from PIL import Image

    from keras_scaleattn.training import config_from_dict
    from keras_scaleattn.training import save_config

    folder = Path(folder)
    for i, (image, label) in enumerate(pairs):
        for name, array in (("images", image), ("masks", label)):
            (folder / name).mkdir(exist_ok=True)
            Image.fromarray(array).save(folder / name / f"x{i}.png")
    kwargs = {"image_glob": str(folder / "images" / "*.png"),
              "mask_glob": str(folder / "masks" / "*.png")}
    config = config_from_dict({
        "data": {"dataset": "glob", "data_dir": str(folder),
                 "num_classes": 3, "size_thresholds": list(size_thresholds),
                 "train_source_kwargs": kwargs, "eval_source_kwargs": kwargs},
        "optimization": {"steps": 1, "steps_per_epoch": 1},
    })
    path = folder / "config.yaml"
    save_config(config, path)
    return path


def predict_red_box(folder, model_path, height, width, flags=()):
    """Runs `deploy/predict.py` on one photo, `big.png` (`height x width`,
    black with a red box), in `folder`/photos, writing to `folder`/out.

    Returns:
        `(image, mask)`: the photo and the mask the script wrote.
    """
    from PIL import Image

    folder = Path(folder)
    (folder / "photos").mkdir()
    image = np.zeros((height, width, 3), np.uint8)
    image[10:30, 20:width - 20] = (200, 30, 30)
    Image.fromarray(image).save(folder / "photos" / "big.png")
    argv = ["--model", str(model_path), "--images", str(folder / "photos"),
            "--out-dir", str(folder / "out"), *flags]
    assert load_script("predict").main(argv) == 0
    return image, np.array(Image.open(folder / "out" / "big_mask.png"))
