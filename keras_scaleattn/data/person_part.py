"""PASCAL-Person-Part (Chen et al., CVPR 2014), as the paper uses it.

PASCAL-Person-Part labels the people in PASCAL VOC 2010 images with six body
parts; the paper reports mIoU on its val split (PAPER.md, "Results"). The
authors' repository (`yangyi02/segmentation_attention`,
`exper/voc10_part/list/`) distributes it as list files over the VOC 2010
folder (train.txt: 1,716 lines, val.txt: 1,817); this loader expects that
layout:

    data_dir/                           (the VOC2010 folder)
      JPEGImages/2008_000003.jpg
      SegmentationPart/2008_000003.png  palette or grayscale PNG, values
                                        0..6 (class ids below), 255 = ignore
      list/train.txt                    one example per line, "IMAGE MASK"
      list/val.txt                      relative to data_dir, e.g.
      list/trainval.txt

    /JPEGImages/2008_000003.jpg /SegmentationPart/2008_000003.png

Id-only lists (`trainval_id.txt` style, one `2008_000003` per line) are read
as `JPEGImages/{id}.jpg` and `SegmentationPart/{id}.png`. `list_dir` points
elsewhere if the lists are not in `data_dir/list/`.
"""

import os

from keras_scaleattn.data.list_file import split_id_dataset

PERSON_PART_CLASS_NAMES = (
    "background",
    "head",
    "torso",
    "upper_arms",
    "lower_arms",
    "upper_legs",
    "lower_legs",
)
PERSON_PART_NUM_CLASSES = len(PERSON_PART_CLASS_NAMES)


def person_part_dataset(
    data_dir,
    split="train",
    *,
    list_dir=None,
    num_classes=PERSON_PART_NUM_CLASSES,
    shuffle_seed=None,
):
    """PASCAL-Person-Part examples as a source dataset (7 classes).

    Args:
        data_dir: str. The VOC 2010 folder with `JPEGImages/` and
            `SegmentationPart/` (module docstring).
        split: str. List name: `"train"`, `"val"`, `"trainval"`, or any
            `{split}.txt` in `list_dir`. Defaults to `"train"`.
        list_dir: str or None. Folder of the list files. Defaults to
            `data_dir/list`.
        num_classes: int or None. Label ids outside `[0, num_classes)` other
            than 255 raise an error naming the mask file; None skips the
            check. Defaults to 7.
        shuffle_seed: int or None. If given, the examples come in one fixed
            random order drawn from this seed (a cheap shuffle of the file
            list, before decoding); use it for training, since
            `make_pipeline`'s shuffle buffer only mixes nearby examples of a
            sorted list. Defaults to None (list order).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`,
        in list order (or the `shuffle_seed` order); class ids as in
        `PERSON_PART_CLASS_NAMES`.

    Raises:
        FileNotFoundError: if `data_dir`, the split's list file, or a listed
            file does not exist (naming the path and the splits found).
        ValueError: if the list file is empty or malformed.
        tf.errors.InvalidArgumentError: while iterating, for a corrupt file, a
            mask whose size differs from its image, or an out-of-range label
            (naming the file).

    Example:

    >>> ds = person_part_dataset("/data/VOC2010", "val")  # doctest: +SKIP
    """
    data_dir = os.fspath(data_dir)
    if not isinstance(split, str) or not split:
        raise ValueError(
            f"`split` must be a non-empty str. Received: split={split!r}"
        )
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(
            f"`data_dir` does not exist. Received: data_dir='{data_dir}'"
        )
    if list_dir is None:
        list_dir = os.path.join(data_dir, "list")
    return split_id_dataset(
        list_dir,
        split,
        data_dir,
        image_template=os.path.join("JPEGImages", "{id}.jpg"),
        mask_template=os.path.join("SegmentationPart", "{id}.png"),
        num_classes=num_classes,
        shuffle_seed=shuffle_seed,
    )
