"""Training, evaluation and pictures on datasets read from folders and tfds.

The synthetic dataset has one image size and built-in names; a user's data
comes from folders, in images of many sizes, with their own number of
classes. These runs go through `train` and `evaluate.py` exactly as a user's
would, on small folders the tests write: the VOC layout holding a 3-class
dataset (the layout is common for one's own data), two globs, and a tfds
dataset (`tfds.testing.mock_data`).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_scaleattn.training import save_config
from keras_scaleattn.training import train
from keras_scaleattn.training.trainer import class_names_for
from tests.data.data_files_helpers import write_image
from tests.data.data_files_helpers import write_palette_png
from tests.training.training_helpers import REPO
from tests.training.training_helpers import tiny_config

# Images of several sizes, none a multiple of the crop: the pipeline pads
# small ones and crops large ones for training, and evaluates at each
# image's own size.
SIZES = [(45, 60), (70, 52), (41, 41), (66, 90), (50, 47), (57, 73)]


def _blob_example(rng, height, width):
    """An image with a red (class 1) and a blue (class 2) rectangle, 255 on
    a border band: a task a tiny model can start learning in a few steps."""
    image = np.full((height, width, 3), 120, np.uint8)
    label = np.zeros((height, width), np.uint8)
    for class_id, colour in ((1, (220, 30, 30)), (2, (30, 30, 220))):
        h, w = int(rng.integers(8, height // 2)), int(rng.integers(8, width // 2))
        top = int(rng.integers(0, height - h))
        left = int(rng.integers(0, width - w))
        image[top:top + h, left:left + w] = colour
        label[top:top + h, left:left + w] = class_id
    label[:, :2] = 255
    return image, label


def _voc_folder(root, rng):
    names = []
    for i, (height, width) in enumerate(SIZES):
        name = f"2007_{i:06d}"
        image, label = _blob_example(rng, height, width)
        write_image(os.path.join(root, "JPEGImages", f"{name}.jpg"), image)
        write_palette_png(os.path.join(root, "SegmentationClass", f"{name}.png"),
                          label)
        names.append(name)
    lists = os.path.join(root, "ImageSets", "Segmentation")
    os.makedirs(lists)
    with open(os.path.join(lists, "train.txt"), "w") as f:
        f.write("\n".join(names[:4]) + "\n")
    with open(os.path.join(lists, "val.txt"), "w") as f:
        f.write("\n".join(names[4:]) + "\n")


@pytest.mark.slow
def test_voc_layout_with_own_classes_trains_evaluates_and_draws(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "VOC2012"
    _voc_folder(str(root), rng)
    config = tiny_config(
        tmp_path / "run",
        data={"dataset": "voc2012", "data_dir": str(root), "num_classes": 3,
              "num_train_examples": None, "num_eval_examples": None},
        runtime={"tensorboard": True, "attention_image_every_epochs": 2,
                 "validation_steps": 2})
    # VOC's 21 names do not fit 3 classes: class ids, not an error.
    assert class_names_for(config) is None
    model = train(config).model
    assert (tmp_path / "run" / "model.keras").exists()
    # The attention image was written to TensorBoard from a val image.
    events = [name for _, _, files in os.walk(tmp_path / "run" / "logs")
              for name in files if name.startswith("events")]
    assert events
    images = np.zeros((1, 57, 73, 3), np.float32)
    assert model.predict(images, verbose=0)["logits"].shape[-1] == 3

    save_config(config, tmp_path / "config.yaml")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "training", "evaluate.py"),
         "--model", str(tmp_path / "run" / "model.keras"),
         "--config", str(tmp_path / "config.yaml"),
         "--json", str(tmp_path / "r.json"),
         "data.class_names=[background,red,blue]"],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    stored = json.loads((tmp_path / "r.json").read_text())
    assert list(stored["per_class_iou"]) == ["background", "red", "blue"]
    # Both validation images, at their own sizes: their two rectangles each
    # are the objects of the by-size figures (all "small" here).
    assert stored["num_images"] == 2
    assert sum(b["num_objects"] for b in stored["by_size"].values()) == 4
    # Every labelled pixel (all but the 255 band) was counted once.
    expected = sum(h * (w - 2) for h, w in SIZES[4:])
    assert np.asarray(stored["confusion_matrix"]).shape == (3, 3)
    assert int(np.sum(stored["confusion_matrix"])) == expected


@pytest.mark.slow
def test_comparison_on_a_voc_layout_folder(tmp_path):
    from keras_scaleattn.training.paper_comparison import run_comparison

    root = tmp_path / "VOC2012"
    _voc_folder(str(root), np.random.default_rng(3))
    config = tiny_config(
        tmp_path / "base",
        data={"dataset": "voc2012", "data_dir": str(root), "num_classes": 3,
              "num_train_examples": None, "num_eval_examples": None})
    out = tmp_path / "cmp"
    results = run_comparison(config, out, variants=("single", "attention_esupv"),
                             size_thresholds=(100, 400), num_pictures=1,
                             verbose=0)
    # Class ids name the classes (VOC's 21 names do not fit 3).
    assert list(results["single"]["per_class_iou"]) == ["0", "1", "2"]
    assert "| attention + E-Supv |" in (out / "results.md").read_text()
    assert (out / "pictures" / "attention_esupv_0.png").exists()


@pytest.mark.slow
def test_glob_folders_train(tmp_path):
    rng = np.random.default_rng(1)
    for i, (height, width) in enumerate(SIZES[:4]):
        image, label = _blob_example(rng, height, width)
        write_image(str(tmp_path / "images" / f"x{i}.png"), image)
        write_palette_png(str(tmp_path / "masks" / f"x{i}.png"), label)
    kwargs = {"image_glob": str(tmp_path / "images" / "*.png"),
              "mask_glob": str(tmp_path / "masks" / "*.png")}
    config = tiny_config(
        tmp_path / "run",
        data={"dataset": "glob", "data_dir": str(tmp_path), "num_classes": 3,
              "train_source_kwargs": kwargs, "eval_source_kwargs": kwargs,
              "num_train_examples": None, "num_eval_examples": None})
    train(config)
    import keras_scaleattn  # noqa: F401

    reloaded = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert reloaded.num_classes == 3


@pytest.mark.slow
def test_tfds_dataset_trains_with_its_own_classes(tmp_path):
    import tensorflow_datasets as tfds

    from tests.data.test_tfds_sources import _as_dataset_fn

    rng = np.random.default_rng(2)
    examples = []
    for _ in range(4):
        image, label = _blob_example(rng, 48, 56)
        # Trimap: 1 pet (our class 1), 2 background, 3 border (ignored).
        trimap = np.where(label == 0, 2, 1).astype(np.uint8)
        trimap[label == 255] = 3
        examples.append({"image": image, "segmentation_mask": trimap[..., None],
                         "file_name": np.array(b"pet.jpg")})
    config = tiny_config(
        tmp_path / "run",
        data={"dataset": "tfds:oxford_iiit_pet", "data_dir": str(tmp_path),
              "num_classes": 2, "eval_split": "test",
              "num_train_examples": None, "num_eval_examples": None},
        runtime={"validation_steps": 1})
    assert class_names_for(config) == ["background", "pet"]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(examples)):
        result = train(config)
    assert result.model.num_classes == 2
    assert "val_loss" in result.history
