"""List-file, glob-pair and PASCAL-Person-Part loaders on files in tmp_path."""

import os

import numpy as np
import pytest
import tensorflow as tf

from data_files_helpers import random_example
from data_files_helpers import write_gray_png
from data_files_helpers import write_image
from data_files_helpers import write_palette_png
from keras_scaleattn.data import PERSON_PART_CLASS_NAMES
from keras_scaleattn.data import glob_pair_dataset
from keras_scaleattn.data import list_file_dataset
from keras_scaleattn.data import person_part_dataset
from keras_scaleattn.data import read_pair_list


def _write_pairs(root, names, sizes, rng, num_classes=7, image_dir="images",
                 mask_dir="masks", image_ext=".png", palette=True):
    """Writes PNG images (lossless, so values compare exactly) and masks."""
    truth = {}
    for name, (height, width) in zip(names, sizes):
        image, label = random_example(rng, height, width, num_classes)
        write_image(os.path.join(root, image_dir, name + image_ext), image)
        writer = write_palette_png if palette else write_gray_png
        writer(os.path.join(root, mask_dir, name + ".png"), label)
        truth[name] = (image, label)
    return truth


def _assert_examples(ds, truth, names):
    out = list(ds.as_numpy_iterator())
    assert len(out) == len(names)
    for (image, label), name in zip(out, names):
        np.testing.assert_array_equal(image, truth[name][0])
        np.testing.assert_array_equal(label, truth[name][1])


def test_list_file_reads_pairs_in_order_with_comments_and_leading_slash(tmp_path):
    root = str(tmp_path)
    truth = _write_pairs(root, ["b", "a"], [(8, 9), (10, 6)], np.random.default_rng(0))
    (tmp_path / "train.txt").write_text(
        "# image mask\n/images/b.png /masks/b.png\n\n images/a.png   masks/a.png \n"
    )
    by_name = list_file_dataset(root, "train.txt", num_classes=7)
    by_path = list_file_dataset(root, str(tmp_path / "train.txt"))
    _assert_examples(by_name, truth, ["b", "a"])
    _assert_examples(by_path, truth, ["b", "a"])


def test_read_pair_list_expands_ids_with_templates(tmp_path):
    (tmp_path / "ids.txt").write_text("x1\nx2\n")
    images, masks = read_pair_list(
        str(tmp_path / "ids.txt"),
        "/r",
        image_template="I/{id}.jpg",
        mask_template="M/{id}.png",
    )
    assert images == ["/r/I/x1.jpg", "/r/I/x2.jpg"]
    assert masks == ["/r/M/x1.png", "/r/M/x2.png"]


def test_list_file_errors(tmp_path):
    root = str(tmp_path)
    _write_pairs(root, ["a"], [(5, 5)], np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match="missing_root"):
        list_file_dataset(str(tmp_path / "missing_root"), "train.txt")
    with pytest.raises(FileNotFoundError, match="nolist.txt"):
        list_file_dataset(root, "nolist.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="empty.txt' has no entries"):
        list_file_dataset(root, "empty.txt")
    (tmp_path / "bad.txt").write_text("images/a.png masks/a.png\nimages/a.png\n")
    with pytest.raises(ValueError, match="bad.txt', line 2"):
        list_file_dataset(root, "bad.txt")
    (tmp_path / "gone.txt").write_text("images/a.png masks/zz.png\n")
    with pytest.raises(FileNotFoundError, match="zz.png"):
        list_file_dataset(root, "gone.txt")


def test_list_file_label_out_of_range_names_the_mask(tmp_path):
    root = str(tmp_path)
    _write_pairs(root, ["a"], [(5, 5)], np.random.default_rng(0), num_classes=12)
    (tmp_path / "l.txt").write_text("images/a.png masks/a.png\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match="masks/a.png"):
        list(list_file_dataset(root, "l.txt", num_classes=3))


def test_glob_pairs_by_stem_in_sorted_order(tmp_path):
    root = str(tmp_path)
    truth = _write_pairs(root, ["cat_2", "cat_1"], [(7, 8), (6, 9)],
                         np.random.default_rng(1), image_ext=".jpg", palette=False)
    # Images were written as JPEG: compare the labels exactly, images loosely.
    ds = glob_pair_dataset(os.path.join(root, "images", "*.jpg"),
                           os.path.join(root, "masks", "*.png"))
    out = list(ds.as_numpy_iterator())
    assert [label.shape for _, label in out] == [(6, 9), (7, 8)]
    np.testing.assert_array_equal(out[0][1], truth["cat_1"][1])
    np.testing.assert_array_equal(out[1][1], truth["cat_2"][1])


def test_glob_errors(tmp_path):
    root = str(tmp_path)
    _write_pairs(root, ["a", "b"], [(5, 5), (5, 5)], np.random.default_rng(0))
    write_gray_png(os.path.join(root, "masks", "c.png"), np.zeros((5, 5)))
    images = os.path.join(root, "images", "*.png")
    with pytest.raises(ValueError) as info:
        glob_pair_dataset(images, os.path.join(root, "masks", "*.png"))
    assert "mask stem(s) without an image: ['c']" in str(info.value)
    with pytest.raises(FileNotFoundError, match="mask_glob"):
        glob_pair_dataset(images, os.path.join(root, "nothing", "*.png"))
    with pytest.raises(FileNotFoundError, match="image_glob"):
        glob_pair_dataset(os.path.join(root, "images", "*.bmp"), images)
    write_image(os.path.join(root, "images", "sub", "a.png"), np.zeros((5, 5, 3)))
    with pytest.raises(ValueError, match="stem 'a'"):
        glob_pair_dataset(os.path.join(root, "images", "**", "*.png"),
                          os.path.join(root, "masks", "[ab].png"))


def _make_person_part(root, rng):
    names = ["2008_000003", "2008_000026", "2008_000034"]
    truth = _write_pairs(root, names, [(9, 7), (8, 8), (6, 10)], rng,
                         image_dir="JPEGImages", mask_dir="SegmentationPart")
    os.makedirs(os.path.join(root, "list"))
    with open(os.path.join(root, "list", "train.txt"), "w") as f:
        for name in names[:2]:
            f.write(f"/JPEGImages/{name}.png /SegmentationPart/{name}.png\n")
    with open(os.path.join(root, "list", "val_id.txt"), "w") as f:
        f.write(names[2] + "\n")
    open(os.path.join(root, "list", "val.txt"), "w").close()
    return names, truth


def test_person_part_reads_the_authors_list_layout(tmp_path):
    root = str(tmp_path / "VOC2010")
    names, truth = _make_person_part(root, np.random.default_rng(2))
    assert len(PERSON_PART_CLASS_NAMES) == 7
    _assert_examples(person_part_dataset(root, "train"), truth, names[:2])


def test_person_part_id_only_list_uses_jpeg_and_segmentation_part(tmp_path):
    root = str(tmp_path / "VOC2010")
    names, truth = _make_person_part(root, np.random.default_rng(2))
    # id lists name JPEGImages/{id}.jpg: provide that JPEG, compare its mask.
    write_image(os.path.join(root, "JPEGImages", names[2] + ".jpg"), truth[names[2]][0])
    (image, label), = list(person_part_dataset(root, "val_id").as_numpy_iterator())
    np.testing.assert_array_equal(label, truth[names[2]][1])
    assert image.shape == truth[names[2]][0].shape


def test_person_part_errors(tmp_path):
    root = str(tmp_path / "VOC2010")
    names, truth = _make_person_part(root, np.random.default_rng(2))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        person_part_dataset(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as info:
        person_part_dataset(root, "test")
    assert "split='test'" in str(info.value)
    assert "['train', 'val', 'val_id']" in str(info.value)
    with pytest.raises(ValueError, match="split='val' is empty"):
        person_part_dataset(root, "val")
    label = truth[names[0]][1].copy()
    label[2, 2] = 7  # one past the 7 classes
    write_palette_png(os.path.join(root, "SegmentationPart", names[0] + ".png"), label)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(person_part_dataset(root, "train"))
    assert names[0] + ".png" in info.value.message
    assert "[7 7]" in info.value.message


def test_shuffle_seed_gives_a_fixed_permutation_keeping_pairs(tmp_path):
    root = str(tmp_path)
    names = [f"n{i}" for i in range(8)]
    truth = _write_pairs(root, names, [(4 + i, 5) for i in range(8)],
                         np.random.default_rng(3))
    (tmp_path / "all.txt").write_text(
        "".join(f"images/{n}.png masks/{n}.png\n" for n in names)
    )

    def order(seed):
        ds = list_file_dataset(root, "all.txt", shuffle_seed=seed)
        # Image height identifies the example (4 + index).
        out = list(ds.as_numpy_iterator())
        for image, label in out:
            name = names[image.shape[0] - 4]
            np.testing.assert_array_equal(image, truth[name][0])
            np.testing.assert_array_equal(label, truth[name][1])
        return [image.shape[0] - 4 for image, _ in out]

    assert order(None) == list(range(8))
    first = order(5)
    assert sorted(first) == list(range(8)) and first != list(range(8))
    assert order(5) == first
    assert order(6) != first
    with pytest.raises(ValueError, match="shuffle_seed"):
        list_file_dataset(root, "all.txt", shuffle_seed=-1)
