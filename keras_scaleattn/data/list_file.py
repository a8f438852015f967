"""Generic loaders: image/mask pairs named by a list file, or paired by glob.

A *list file* has one example per line, `image_relpath mask_relpath`,
separated by whitespace and relative to a root folder; a leading "/" is
allowed and means "relative to the root" (DeepLab's and the authors' Caffe
lists, e.g. `/JPEGImages/2008_000003.jpg /SegmentationPart/2008_000003.png`,
are read as `root_dir + path`). Blank lines and lines starting with "#" are
skipped. Paths therefore cannot contain whitespace.

Masks are PNGs (palette or grayscale) whose pixel values are class ids,
255 = ignore; see `file_pairs` for how they are decoded.
"""

import glob
import os

from keras_scaleattn.data.file_pairs import file_pair_dataset

_MAX_LISTED = 10


def split_list_path(list_dir, split):
    """The list file `<list_dir>/<split>.txt` of a dataset split.

    Args:
        list_dir: str. Folder of the split lists (`ImageSets/Segmentation`,
            `list`).
        split: str. Split name.

    Returns:
        str: the path of the list file.

    Raises:
        FileNotFoundError: if it does not exist; the message names the
            splits that do.
    """
    list_dir = os.fspath(list_dir)
    list_path = os.path.join(list_dir, f"{split}.txt")
    if not os.path.isfile(list_path):
        available = (
            sorted(
                name[: -len(".txt")]
                for name in os.listdir(list_dir)
                if name.endswith(".txt")
            )
            if os.path.isdir(list_dir)
            else []
        )
        raise FileNotFoundError(
            f"No list file for split='{split}': '{list_path}' does not exist. "
            f"Splits found in '{list_dir}': {available}"
        )
    return list_path


def read_pair_list(
    list_path, root_dir, *, image_template=None, mask_template=None
):
    """Parses a list file into image and mask paths under `root_dir`.

    Lines with two fields are `image_relpath mask_relpath`. Lines with one
    field are an example id, expanded with `image_template` and
    `mask_template` (e.g. `"JPEGImages/{id}.jpg"`) when those are given.

    Args:
        list_path: str. The list file.
        root_dir: str. Folder the relative paths start from.
        image_template: str or None. Format string with `{id}` for id-only
            lines. Defaults to None (id-only lines are an error).
        mask_template: str or None. Same, for masks. Defaults to None.

    Returns:
        `(image_paths, mask_paths)`, two lists of str of equal length
        (possibly empty).

    Raises:
        FileNotFoundError: if `list_path` does not exist.
        ValueError: for a line that has neither one nor two fields, or an
            id-only line without templates; the message names the file and
            the line number.

    Example:

    >>> images, masks = read_pair_list("list/val.txt", "/data/VOC2010")  # doctest: +SKIP
    >>> images[0], masks[0]  # doctest: +SKIP
    ('/data/VOC2010/JPEGImages/2008_000003.jpg', '/data/VOC2010/SegmentationPart/2008_000003.png')
    """
    list_path = os.fspath(list_path)
    root_dir = os.fspath(root_dir)
    if not os.path.isfile(list_path):
        raise FileNotFoundError(f"List file does not exist: '{list_path}'")
    with open(list_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    image_paths, mask_paths = [], []
    for line_number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) == 2:
            image_rel, mask_rel = fields
        elif len(fields) == 1 and image_template and mask_template:
            image_rel = image_template.format(id=fields[0])
            mask_rel = mask_template.format(id=fields[0])
        else:
            expected = (
                "'image_relpath mask_relpath' or an example id"
                if image_template and mask_template
                else "'image_relpath mask_relpath'"
            )
            raise ValueError(
                f"List file '{list_path}', line {line_number}: expected "
                f"{expected}. Received: {line!r}"
            )
        image_paths.append(os.path.join(root_dir, image_rel.lstrip("/")))
        mask_paths.append(os.path.join(root_dir, mask_rel.lstrip("/")))
    return image_paths, mask_paths


def split_id_dataset(list_dir, split, root_dir, *, image_template,
                     mask_template, num_classes=None, shuffle_seed=None):
    """Source dataset of a split listed by example id (VOC-style layouts).

    Reads `<list_dir>/<split>.txt` (`split_list_path`), expands its ids with
    the templates (`read_pair_list`) and reads the pairs
    (`file_pair_dataset`): what the PASCAL VOC and PASCAL-Person-Part
    loaders share.

    Args:
        list_dir: str. Folder of the split lists.
        split: str. Split name.
        root_dir: str. Folder the templates' relative paths start from.
        image_template: str. Path of an example's image, with `{id}`.
        mask_template: str. Path of its mask, with `{id}`.
        num_classes: int or None. As in `file_pair_dataset`.
        shuffle_seed: int or None. As in `file_pair_dataset`.

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`.

    Raises:
        FileNotFoundError: if the split's list file or a listed file does
            not exist (naming the path and the splits found).
        ValueError: if the list file is malformed or has no entries.

    Example:

    >>> ds = split_id_dataset("/data/VOC2012/ImageSets/Segmentation", "val",
    ...                       "/data/VOC2012",
    ...                       image_template="JPEGImages/{id}.jpg",
    ...                       mask_template="SegmentationClass/{id}.png")  # doctest: +SKIP
    """
    list_path = split_list_path(list_dir, split)
    image_paths, mask_paths = read_pair_list(
        list_path,
        root_dir,
        image_template=image_template,
        mask_template=mask_template,
    )
    if not image_paths:
        raise ValueError(
            f"Split split='{split}' is empty: list file '{list_path}' has no "
            "entries."
        )
    return file_pair_dataset(
        image_paths,
        mask_paths,
        num_classes=num_classes,
        shuffle_seed=shuffle_seed,
    )


def list_file_dataset(root_dir, list_file, *, num_classes=None,
                      shuffle_seed=None):
    """Source dataset of the image/mask pairs named by a list file.

    Args:
        root_dir: str. Folder the list's relative paths start from.
        list_file: str. The list file; a relative path that does not exist
            as given is looked up under `root_dir`.
        num_classes: int in [1, 255] or None. If given, label ids outside
            `[0, num_classes)` other than 255 raise an error naming the mask.
            Defaults to None.
        shuffle_seed: int or None. If given, the examples come in one fixed
            random order drawn from this seed (a cheap shuffle of the file
            list, before decoding); use it for training, since
            `make_pipeline`'s shuffle buffer only mixes nearby examples of a
            sorted list. Defaults to None (list order).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`, in
        list order (or the `shuffle_seed` order).

    Raises:
        FileNotFoundError: if `root_dir`, the list file or a listed file does
            not exist.
        ValueError: if the list file is malformed or has no entries.
        tf.errors.InvalidArgumentError: while iterating, for a corrupt file, a
            mask whose size differs from its image, or an out-of-range label
            (naming the file).

    Example:

    >>> ds = list_file_dataset("/data/parts", "train.txt", num_classes=7)  # doctest: +SKIP
    """
    root_dir = os.fspath(root_dir)
    list_file = os.fspath(list_file)
    if not os.path.isdir(root_dir):
        raise FileNotFoundError(
            f"`root_dir` is not a folder. Received: root_dir='{root_dir}'"
        )
    if not os.path.isfile(list_file) and not os.path.isabs(list_file):
        under_root = os.path.join(root_dir, list_file)
        if os.path.isfile(under_root):
            list_file = under_root
    image_paths, mask_paths = read_pair_list(list_file, root_dir)
    if not image_paths:
        raise ValueError(f"List file '{list_file}' has no entries.")
    return file_pair_dataset(
        image_paths,
        mask_paths,
        num_classes=num_classes,
        shuffle_seed=shuffle_seed,
    )


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _by_stem(paths, pattern_name, pattern):
    by_stem = {}
    for path in paths:
        stem = _stem(path)
        if stem in by_stem:
            raise ValueError(
                f"Two files matched by {pattern_name}='{pattern}' have the "
                f"stem '{stem}': '{by_stem[stem]}' and '{path}'; pairs are "
                "matched by stem, so stems must be unique."
            )
        by_stem[stem] = path
    return by_stem


def glob_pair_dataset(image_glob, mask_glob, *, num_classes=None,
                      shuffle_seed=None):
    """Source dataset pairing images and masks by file stem.

    `photos/cat_01.jpg` pairs with `masks/cat_01.png`. Every image needs a
    mask and every mask an image. `**` matches folders recursively.
    Examples come in sorted stem order.

    Args:
        image_glob: str. Glob pattern of the images, e.g. `"data/img/*.jpg"`.
        mask_glob: str. Glob pattern of the masks, e.g. `"data/ann/*.png"`.
        num_classes: int in [1, 255] or None. If given, label ids outside
            `[0, num_classes)` other than 255 raise an error naming the mask.
            Defaults to None.
        shuffle_seed: int or None. If given, the examples come in one fixed
            random order drawn from this seed (a cheap shuffle of the file
            list, before decoding); use it for training, since
            `make_pipeline`'s shuffle buffer only mixes nearby examples of a
            sorted list. Defaults to None (list order).

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8 [H, W])`.

    Raises:
        FileNotFoundError: if a pattern matches no file.
        ValueError: if a stem is matched twice by one pattern, or some stems
            have an image but no mask or the reverse (the message lists them).
        tf.errors.InvalidArgumentError: while iterating, for a corrupt file, a
            mask whose size differs from its image, or an out-of-range label
            (naming the file).

    Example:

    >>> ds = glob_pair_dataset("data/img/*.jpg", "data/ann/*.png")  # doctest: +SKIP
    """
    image_glob = os.fspath(image_glob)
    mask_glob = os.fspath(mask_glob)
    images = sorted(
        p for p in glob.glob(image_glob, recursive=True) if os.path.isfile(p)
    )
    masks = sorted(
        p for p in glob.glob(mask_glob, recursive=True) if os.path.isfile(p)
    )
    if not images:
        raise FileNotFoundError(
            f"No file matches `image_glob`. Received: image_glob='{image_glob}'"
        )
    if not masks:
        raise FileNotFoundError(
            f"No file matches `mask_glob`. Received: mask_glob='{mask_glob}'"
        )
    images = _by_stem(images, "image_glob", image_glob)
    masks = _by_stem(masks, "mask_glob", mask_glob)
    no_mask = sorted(set(images) - set(masks))
    no_image = sorted(set(masks) - set(images))
    if no_mask or no_image:
        problems = []
        if no_mask:
            problems.append(
                f"{len(no_mask)} image stem(s) without a mask: "
                f"{no_mask[:_MAX_LISTED]}"
            )
        if no_image:
            problems.append(
                f"{len(no_image)} mask stem(s) without an image: "
                f"{no_image[:_MAX_LISTED]}"
            )
        raise ValueError(
            f"Unmatched stems between image_glob='{image_glob}' and "
            f"mask_glob='{mask_glob}': " + "; ".join(problems)
        )
    stems = sorted(images)
    return file_pair_dataset(
        [images[s] for s in stems],
        [masks[s] for s in stems],
        num_classes=num_classes,
        shuffle_seed=shuffle_seed,
    )
