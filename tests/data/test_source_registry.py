"""get_source: names map to the loaders."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_files_helpers import write_image
from data_files_helpers import write_palette_png
from keras_scaleattn.data import SOURCES
from keras_scaleattn.data import get_source
from keras_scaleattn.data import synthetic_scale_arrays


def test_known_names():
    assert sorted(SOURCES) == sorted(
        ["synthetic", "voc2012", "person_part", "list_file", "glob", "tfds"]
    )


def test_synthetic_by_name_equals_the_loader():
    ds = get_source("synthetic", split="val", num_examples=2, image_size=97, seed=3)
    images, labels = synthetic_scale_arrays("val", 2, 97, 3)
    out = list(ds.as_numpy_iterator())
    assert len(out) == 2
    for (image, label), ref_image, ref_label in zip(out, images, labels):
        np.testing.assert_array_equal(image, ref_image)
        np.testing.assert_array_equal(label, ref_label)


def test_file_loaders_by_name(tmp_path):
    root = str(tmp_path)
    label = np.array([[0, 1], [2, 255]], np.uint8)
    write_image(os.path.join(root, "JPEGImages", "x.png"), np.zeros((2, 2, 3)))
    write_palette_png(os.path.join(root, "SegmentationClass", "x.png"), label)
    (tmp_path / "list.txt").write_text("JPEGImages/x.png SegmentationClass/x.png\n")
    for ds in (
        get_source("list_file", root_dir=root, list_file="list.txt", num_classes=3),
        get_source(
            "glob",
            image_glob=os.path.join(root, "JPEGImages", "*.png"),
            mask_glob=os.path.join(root, "SegmentationClass", "*.png"),
        ),
    ):
        (_, out_label), = ds.as_numpy_iterator()
        np.testing.assert_array_equal(out_label, label)
    with pytest.raises(FileNotFoundError, match="split='train'"):
        get_source("voc2012", data_dir=root)
    with pytest.raises(FileNotFoundError, match="split='val'"):
        get_source("person_part", data_dir=root, split="val")


def test_tfds_shorthand_reaches_the_tfds_loader():
    with tfds.testing.mock_data(num_examples=1):
        ds = get_source("tfds:oxford_iiit_pet", split="train")
    assert ds.element_spec[1].shape.rank == 2


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        get_source("coco")
    assert "'coco'" in str(info.value)
    assert "'voc2012'" in str(info.value) and "'synthetic'" in str(info.value)


def test_bad_keyword_names_the_source():
    with pytest.raises(ValueError, match="source name='synthetic'"):
        get_source("synthetic", nonsense=1)
