"""PASCAL VOC 2012 loader on a tiny VOC folder written in tmp_path."""

import os

import numpy as np
import pytest
import tensorflow as tf

from data_files_helpers import random_example
from data_files_helpers import write_gray_png
from data_files_helpers import write_image
from data_files_helpers import write_palette_png
from keras_scaleattn.cli import data_error_message
from keras_scaleattn.data import voc_segmentation_dataset

IDS = {"train": ["2007_000032", "2007_000039"], "val": ["2007_000063"]}
AUG_IDS = ["2007_000032", "2008_000002"]
SIZES = {"2007_000032": (12, 17), "2007_000039": (9, 14), "2007_000063": (16, 10),
         "2008_000002": (11, 11)}


def _make_voc(root, rng):
    """Writes a VOC2012 folder; returns {id: (image, label, aug_label)}."""
    truth = {}
    for image_id, (height, width) in SIZES.items():
        image, label = random_example(rng, height, width, 21)
        aug_label = rng.integers(0, 21, (height, width), dtype=np.uint8)
        write_image(os.path.join(root, "JPEGImages", f"{image_id}.jpg"), image)
        mask_name = f"{image_id}.png"
        write_palette_png(os.path.join(root, "SegmentationClass", mask_name), label)
        write_gray_png(
            os.path.join(root, "SegmentationClassAug", mask_name), aug_label
        )
        truth[image_id] = (image, label, aug_label)
    split_dir = os.path.join(root, "ImageSets", "Segmentation")
    os.makedirs(split_dir)
    for split, ids in IDS.items():
        with open(os.path.join(split_dir, f"{split}.txt"), "w") as f:
            f.write("\n".join(ids) + "\n")
    # DeepLab's train_aug list form: two paths with a leading slash.
    with open(os.path.join(split_dir, "train_aug.txt"), "w") as f:
        for image_id in AUG_IDS:
            f.write(
                f"/JPEGImages/{image_id}.jpg "
                f"/SegmentationClassAug/{image_id}.png\n"
            )
    open(os.path.join(split_dir, "empty.txt"), "w").close()
    return truth


@pytest.fixture
def voc(tmp_path):
    root = str(tmp_path / "VOCdevkit" / "VOC2012")
    truth = _make_voc(root, np.random.default_rng(0))
    return root, truth


def _decode_jpeg(path):
    """Independent reference decoder: TF's libjpeg with the accurate integer
    DCT, the one PIL uses (TF's default INTEGER_FAST differs by a few levels)."""
    return tf.io.decode_jpeg(
        tf.io.read_file(path), dct_method="INTEGER_ACCURATE"
    ).numpy()


def test_train_split_gives_palette_indices_and_images_in_list_order(voc):
    root, truth = voc
    out = list(voc_segmentation_dataset(root, "train").as_numpy_iterator())
    assert len(out) == 2
    for (image, label), image_id in zip(out, IDS["train"]):
        assert image.dtype == np.uint8 and label.dtype == np.uint8
        assert image.shape == SIZES[image_id] + (3,)
        np.testing.assert_array_equal(label, truth[image_id][1])  # ids, 255 kept
        reference = _decode_jpeg(os.path.join(root, "JPEGImages", f"{image_id}.jpg"))
        np.testing.assert_array_equal(image, reference)


def test_tf_decode_png_would_lose_the_palette_indices(voc):
    # Why the loader reads masks with PIL: TF expands palettes to colours.
    root, truth = voc
    path = os.path.join(root, "SegmentationClass", "2007_000032.png")
    decoded = tf.io.decode_png(tf.io.read_file(path)).numpy()
    assert decoded.shape[-1] == 3
    assert not np.array_equal(decoded[..., 0], truth["2007_000032"][1])


def test_train_aug_reads_augmented_labels_from_deeplab_list(voc):
    root, truth = voc
    out = list(voc_segmentation_dataset(root, "train_aug").as_numpy_iterator())
    assert [label.shape for _, label in out] == [SIZES[i] for i in AUG_IDS]
    for (_, label), image_id in zip(out, AUG_IDS):
        np.testing.assert_array_equal(label, truth[image_id][2])


def test_vocdevkit_folder_is_accepted(voc):
    root, _ = voc
    devkit = os.path.dirname(root)
    assert len(list(voc_segmentation_dataset(devkit, "val"))) == 1


def test_missing_folder(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        voc_segmentation_dataset(missing)
    os.makedirs(tmp_path / "not_voc")
    with pytest.raises(FileNotFoundError, match="JPEGImages"):
        voc_segmentation_dataset(str(tmp_path / "not_voc"))


def test_missing_split_names_it_and_lists_the_splits(voc):
    root, _ = voc
    with pytest.raises(FileNotFoundError) as info:
        voc_segmentation_dataset(root, "trainval")
    message = str(info.value)
    assert "split='trainval'" in message
    assert "'train', 'train_aug', 'val'" in message


def test_empty_split(voc):
    root, _ = voc
    with pytest.raises(ValueError, match="split='empty' is empty"):
        voc_segmentation_dataset(root, "empty")


def test_missing_listed_file(voc):
    root, _ = voc
    os.remove(os.path.join(root, "SegmentationClass", "2007_000039.png"))
    with pytest.raises(FileNotFoundError, match="2007_000039.png"):
        voc_segmentation_dataset(root, "train")


def test_mask_size_mismatch_names_the_file(voc):
    root, _ = voc
    write_palette_png(
        os.path.join(root, "SegmentationClass", "2007_000039.png"),
        np.zeros((9, 13), np.uint8),
    )
    ds = voc_segmentation_dataset(root, "train")
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(ds)
    message = info.value.message
    assert "Mask size differs" in message
    assert "2007_000039.png" in message
    assert "[9 14]" in message and "[9 13]" in message


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_image_names_the_file(voc, damage):
    root, _ = voc
    path = os.path.join(root, "JPEGImages", "2007_000063.jpg")
    if damage == "garbage":
        data = b"this is not a jpeg"
    else:
        with open(path, "rb") as f:
            data = f.read()[:200]
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(tf.errors.OpError) as info:
        list(voc_segmentation_dataset(root, "val"))
    assert "Cannot decode image file" in info.value.message
    assert "2007_000063.jpg" in info.value.message
    # A graph assert, not a Python exception inside tf.numpy_function: TF
    # reports it in one line, without the decoder's Python stack trace, and
    # the scripts print that line alone.
    assert "Traceback" not in info.value.message
    line = data_error_message(info.value)
    assert line.startswith(f"Cannot decode image file '{path}': ")


def test_label_out_of_range_names_the_file_and_values(voc):
    root, truth = voc
    label = truth["2007_000063"][1].copy()
    label[3, 3], label[4, 4] = 30, 22
    write_palette_png(os.path.join(root, "SegmentationClass", "2007_000063.png"), label)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(voc_segmentation_dataset(root, "val"))
    message = info.value.message
    assert "2007_000063.png" in message and "[22 30]" in message
    # Without the check the same file loads.
    assert len(list(voc_segmentation_dataset(root, "val", num_classes=None))) == 1


def test_rgb_mask_is_refused_naming_the_file(voc):
    root, _ = voc
    write_image(
        os.path.join(root, "SegmentationClass", "2007_000063.png"),
        np.zeros((16, 10, 3), np.uint8),
    )
    with pytest.raises(tf.errors.OpError) as info:
        list(voc_segmentation_dataset(root, "val"))
    assert "2007_000063.png" in info.value.message
    assert "mode 'RGB'" in data_error_message(info.value)
