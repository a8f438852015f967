"""Segmentation datasets from TensorFlow Datasets, read from a local `data_dir`.

Only tfds builders that carry masks are supported (tfds' `voc/2012` has none;
use `voc_segmentation_dataset` for VOC). Nothing is ever downloaded
(`download=False`): prepare the dataset beforehand (e.g. on a machine with
internet, `tfds build`) and point `data_dir` at it.

Label mappings (raw mask value -> class id, 255 = ignore):

- `oxford_iiit_pet`, feature `segmentation_mask` (trimap): 1 = pet -> 1,
  2 = background -> 0, 3 = border (unlabelled) -> 255. 2 classes.
- `cityscapes/semantic_segmentation` (also `..._extra`), feature
  `segmentation_label` (Cityscapes label ids 0..33): the 19 evaluated classes
  get their train ids 0..18 (cityscapesScripts' `labels.py`); every other id
  -> 255. 19 classes.
- `scene_parse150`, feature `annotation`: class = first (R) channel, 0 ("other")
  -> 255, k -> k - 1. NOTE: tfds' builder reads ADE's *instance* annotations
  (`annotations_instance.tar` of the 2017 Places Challenge), whose R channel
  holds the 100 instance-task categories, not the 150 scene-parsing classes; so
  this source has 100 classes. Its "test" split is ADE's validation set.

A raw value that the mapping does not know (e.g. a trimap value 7) raises an
error naming the example's tfds id, as does a mask whose size differs from its
image.
"""

import numpy as np
import tensorflow as tf

from keras_scaleattn.data.constants import IGNORE_LABEL
from keras_scaleattn.data.validation import check_example

# Cityscapes label id -> train id for the 19 evaluated classes
# (cityscapesScripts, helpers/labels.py); other ids are ignored.
_CITYSCAPES_ID_TO_TRAIN_ID = {
    7: 0,  # road
    8: 1,  # sidewalk
    11: 2,  # building
    12: 3,  # wall
    13: 4,  # fence
    17: 5,  # pole
    19: 6,  # traffic light
    20: 7,  # traffic sign
    21: 8,  # vegetation
    22: 9,  # terrain
    23: 10,  # sky
    24: 11,  # person
    25: 12,  # rider
    26: 13,  # car
    27: 14,  # truck
    28: 15,  # bus
    31: 16,  # train
    32: 17,  # motorcycle
    33: 18,  # bicycle
}

# Marks raw values that a dataset never contains: an error if they occur.
_UNKNOWN = -1


def _table(mapping, known_max):
    """256-entry lookup: mapped values, 255 for known-but-unmapped ids."""
    table = np.full(256, _UNKNOWN, np.int32)
    table[: known_max + 1] = IGNORE_LABEL
    for raw, mapped in mapping.items():
        table[raw] = mapped
    return table


def _pet_table():
    table = np.full(256, _UNKNOWN, np.int32)
    table[1], table[2], table[3] = 1, 0, IGNORE_LABEL
    return table


def _ade_instance_table():
    table = np.full(256, _UNKNOWN, np.int32)
    table[0] = IGNORE_LABEL
    table[1:101] = np.arange(100)
    return table


# name -> (image feature, mask feature, raw -> class lookup, num_classes,
#          description of the raw values for errors)
_SPECS = {
    "oxford_iiit_pet": (
        "image",
        "segmentation_mask",
        _pet_table(),
        2,
        "trimap values 1 (pet), 2 (background), 3 (border)",
    ),
    "cityscapes": (
        "image_left",
        "segmentation_label",
        _table(_CITYSCAPES_ID_TO_TRAIN_ID, known_max=33),
        19,
        "Cityscapes label ids 0..33",
    ),
    "scene_parse150": (
        "image",
        "annotation",
        _ade_instance_table(),
        100,
        "ADE instance category ids 0..100 in the R channel",
    ),
}

_SUPPORTED = (
    "oxford_iiit_pet",
    "cityscapes",
    "cityscapes/semantic_segmentation",
    "cityscapes/semantic_segmentation_extra",
    "scene_parse150",
)


def _spec_key(name):
    """`"cityscapes/semantic_segmentation:1.0.0"` -> `"cityscapes"`."""
    if not isinstance(name, str):
        raise ValueError(
            "`name` must be a str naming a tfds dataset. "
            f"Received: name={name!r}"
        )
    base = name.split(":", 1)[0]
    if base not in _SUPPORTED:
        raise ValueError(
            f"Unsupported tfds dataset name={name!r}. Supported (optionally "
            f"with ':version'): {list(_SUPPORTED)}"
        )
    return base.split("/", 1)[0]


def tfds_num_classes(name):
    """Number of classes of a supported tfds dataset after label mapping.

    Args:
        name: str. A supported tfds name (module docstring), optionally with
            `":version"`.

    Returns:
        int: 2 for `oxford_iiit_pet`, 19 for Cityscapes, 100 for
        `scene_parse150` (ADE instance categories, see the module docstring).

    Raises:
        ValueError: for an unsupported `name`.

    Example:

    >>> tfds_num_classes("cityscapes/semantic_segmentation")
    19
    """
    return _SPECS[_spec_key(name)][3]


# Class names after the mapping, by class id (None: not known here; ADE's
# instance categories are named in the dataset's own files).
_CLASS_NAMES = {
    "oxford_iiit_pet": ("background", "pet"),
    "cityscapes": (
        "road", "sidewalk", "building", "wall", "fence", "pole",
        "traffic light", "traffic sign", "vegetation", "terrain", "sky",
        "person", "rider", "car", "truck", "bus", "train", "motorcycle",
        "bicycle",
    ),
    "scene_parse150": None,
}


# The class that is not an object (the by-size tables' `background`), after
# the mapping; None where every class is a thing or stuff to be counted
# (Cityscapes' class 0 is road; ADE's instance categories have no background).
_BACKGROUND_CLASS = {
    "oxford_iiit_pet": 0,
    "cityscapes": None,
    "scene_parse150": None,
}


def tfds_background_class(name):
    """A supported tfds dataset's background class after label mapping.

    Args:
        name: str. A supported tfds name, optionally with `":version"`.

    Returns:
        int, or None when the dataset has no background class.

    Example:

    >>> tfds_background_class("oxford_iiit_pet"), tfds_background_class(
    ...     "cityscapes/semantic_segmentation")
    (0, None)
    """
    return _BACKGROUND_CLASS[_spec_key(name)]


def tfds_class_names(name):
    """Names of a supported tfds dataset's classes after label mapping.

    Args:
        name: str. A supported tfds name, optionally with `":version"`.

    Returns:
        tuple of str by class id, or None where the names are not built in
        (`scene_parse150`).

    Raises:
        ValueError: for an unsupported `name`.

    Example:

    >>> tfds_class_names("oxford_iiit_pet")
    ('background', 'pet')
    >>> len(tfds_class_names("cityscapes/semantic_segmentation"))
    19
    """
    return _CLASS_NAMES[_spec_key(name)]


def map_tfds_labels(name, raw_mask):
    """Maps a tfds dataset's raw mask values to class ids (255 = ignore).

    Args:
        name: str. A supported tfds name (module docstring).
        raw_mask: uint8 tensor `[H, W]` or `[H, W, C]` (the first channel is
            used) of raw mask values.

    Returns:
        `(label, known)`: uint8 `[H, W]` class ids, and a bool `[H, W]` that is
        False where the raw value is one the dataset never contains.

    Raises:
        ValueError: for an unsupported `name`.

    Example:

    >>> label, known = map_tfds_labels(
    ...     "oxford_iiit_pet", tf.constant([[1, 2, 3]], tf.uint8))
    >>> label.numpy().tolist(), bool(tf.reduce_all(known))
    ([[1, 0, 255]], True)
    """
    table = tf.constant(_SPECS[_spec_key(name)][2])
    raw_mask = tf.convert_to_tensor(raw_mask)
    if raw_mask.shape.rank == 3:
        raw_mask = raw_mask[..., 0]
    mapped = tf.gather(table, tf.cast(raw_mask, tf.int32))
    known = tf.not_equal(mapped, _UNKNOWN)
    label = tf.cast(tf.where(known, mapped, IGNORE_LABEL), tf.uint8)
    return label, known


def tfds_segmentation_dataset(name, split="train", *, data_dir=None):
    """A tfds segmentation dataset as a source, read locally (never downloaded).

    Args:
        name: str. `"oxford_iiit_pet"`, `"cityscapes/semantic_segmentation"`
            (or `"cityscapes"`, `"cityscapes/semantic_segmentation_extra"`),
            or `"scene_parse150"`, optionally with `":version"`.
        split: str. A tfds split spec (`"train"`, `"test[:10%]"`, ...).
            Defaults to `"train"`.
        data_dir: str or None. tfds data folder; None uses tfds' default
            (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])` with
        the class ids of the module docstring (`tfds_num_classes(name)`).

    Raises:
        ValueError: for an unsupported `name` or a split tfds rejects.
        FileNotFoundError: if the dataset is not prepared under `data_dir`.
        tf.errors.InvalidArgumentError: while iterating, for a mask whose size
            differs from its image or a raw value the dataset never contains
            (naming the example's tfds id).

    Example:

    >>> ds = tfds_segmentation_dataset(  # doctest: +SKIP
    ...     "oxford_iiit_pet", "train", data_dir="/data/tensorflow_datasets")
    """
    # Imported here: tensorflow_datasets is slow to import and only this
    # loader needs it.
    import tensorflow_datasets as tfds

    key = _spec_key(name)
    image_key, mask_key, _, _, raw_values = _SPECS[key]
    try:
        ds = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            download=False,
            try_gcs=False,
            read_config=tfds.ReadConfig(add_tfds_id=True),
        )
    except AssertionError as error:
        # tfds signals "not prepared in data_dir" with an AssertionError.
        raise FileNotFoundError(
            f"tfds dataset name='{name}' is not prepared in data_dir="
            f"{data_dir!r} (this package never downloads; run `tfds build "
            f"{name.split(':')[0]}` where there is internet and copy the "
            f"folder). tfds said: {error}"
        ) from error
    except ValueError as error:
        raise ValueError(
            f"tfds rejected name='{name}', split='{split}' in data_dir="
            f"{data_dir!r}: {error}"
        ) from error

    def convert(example):
        image = example[image_key]
        raw_mask = example[mask_key]
        example_name = tf.strings.join(
            [f"tfds {name} split {split} example ", example["tfds_id"]]
        )
        # The size check must run before the values are looked up, so that a
        # mismatch is reported as such.
        image, raw_mask_2d = check_example(
            image, raw_mask[..., 0], name=example_name
        )
        label, known = map_tfds_labels(name, raw_mask_2d)
        raw = tf.cast(raw_mask_2d, tf.int32)
        unknown = tf.logical_not(known)
        value_check = tf.debugging.Assert(
            tf.reduce_all(known),
            [
                f"Unexpected mask values for {name} (expected {raw_values}); "
                "found values in [min, max] =",
                tf.stack(
                    [
                        tf.reduce_min(tf.where(unknown, raw, 256)),
                        tf.reduce_max(tf.where(unknown, raw, -1)),
                    ]
                ),
                "in",
                example_name,
            ],
            summarize=8,
        )
        with tf.control_dependencies([value_check]):
            return tf.identity(image), tf.identity(label)

    return ds.map(
        convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
