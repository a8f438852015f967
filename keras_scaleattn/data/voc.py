"""PASCAL VOC 2012 segmentation (and the SBD-augmented `train_aug`) from disk.

tfds' `voc/2012` has no segmentation masks (NOTES.md, "Datasets"), so this
reads the standard VOC folder directly:

    data_dir/                      (VOCdevkit/VOC2012, or VOCdevkit itself)
      JPEGImages/2007_000032.jpg
      SegmentationClass/2007_000032.png    palette PNG: index = class id,
                                           255 = void (object borders)
      SegmentationClassAug/...png          SBD-augmented labels (train_aug),
                                           grayscale or palette PNG of ids
      ImageSets/Segmentation/train.txt     one id per line; also val.txt,
                                           trainval.txt, train_aug.txt

`train_aug` (10,582 images: VOC train + SBD, minus VOC val, the set the
paper's VOC models train on) reads its masks from `SegmentationClassAug`; the
other splits from `SegmentationClass`. A list line may also be DeepLab's
`/JPEGImages/x.jpg /SegmentationClassAug/x.png` form, read relative to
`data_dir`.
"""

import os

from keras_scaleattn.data.list_file import split_id_dataset

VOC_CLASS_NAMES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOC_NUM_CLASSES = len(VOC_CLASS_NAMES)

_SPLIT_DIR = os.path.join("ImageSets", "Segmentation")


def _resolve_root(data_dir):
    """Accepts VOC2012 itself or a VOCdevkit folder holding VOC2012."""
    if os.path.isdir(os.path.join(data_dir, "JPEGImages")):
        return data_dir
    nested = os.path.join(data_dir, "VOC2012")
    if os.path.isdir(os.path.join(nested, "JPEGImages")):
        return nested
    raise FileNotFoundError(
        "`data_dir` is not a PASCAL VOC 2012 folder: no JPEGImages/ in "
        f"'{data_dir}' or in '{nested}'. Received: data_dir='{data_dir}'"
    )


def voc_segmentation_dataset(
    data_dir,
    split="train",
    *,
    num_classes=VOC_NUM_CLASSES,
    label_dir=None,
    shuffle_seed=None,
):
    """PASCAL VOC 2012 segmentation examples as a source dataset.

    Args:
        data_dir: str. The VOC2012 folder (or a VOCdevkit folder with a
            VOC2012 subfolder) in the standard layout (module docstring).
        split: str. Name of a list in `ImageSets/Segmentation/`: `"train"`,
            `"val"`, `"trainval"`, `"train_aug"`, ... Defaults to `"train"`.
        num_classes: int or None. Label ids outside `[0, num_classes)` other
            than 255 raise an error naming the mask file; None skips the
            check. Defaults to 21.
        label_dir: str or None. Mask folder relative to the VOC root, for
            id-only list lines. Defaults to `"SegmentationClassAug"` for
            splits ending in `"_aug"` and `"SegmentationClass"` otherwise.
        shuffle_seed: int or None. If given, the examples come in one fixed
            random order drawn from this seed (a cheap shuffle of the file
            list, before decoding); use it for training, since
            `make_pipeline`'s shuffle buffer only mixes nearby examples of a
            sorted list. Defaults to None (list order).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`, in
        list order (or the `shuffle_seed` order), labels = palette indices
        (class ids, 255 = void).

    Raises:
        FileNotFoundError: if `data_dir`, the split's list file, or a listed
            image or mask does not exist (the message names the path; for a
            missing list, also the splits that exist).
        ValueError: if the split's list file is empty or malformed.
        tf.errors.InvalidArgumentError: while iterating, for a corrupt file, a
            mask whose size differs from its image, or an out-of-range label
            (naming the file).

    Example:

    >>> ds = voc_segmentation_dataset("/data/VOCdevkit/VOC2012", "val")  # doctest: +SKIP
    >>> image, label = next(iter(ds))  # doctest: +SKIP
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
    root = _resolve_root(data_dir)
    if label_dir is None:
        if split.endswith("_aug"):
            label_dir = "SegmentationClassAug"
        else:
            label_dir = "SegmentationClass"
    return split_id_dataset(
        os.path.join(root, _SPLIT_DIR),
        split,
        root,
        image_template=os.path.join("JPEGImages", "{id}.jpg"),
        mask_template=os.path.join(label_dir, "{id}.png"),
        num_classes=num_classes,
        shuffle_seed=shuffle_seed,
    )
