"""Segment a folder of images with any exported model and save the masks."""

import os
from typing import NamedTuple

from keras_scaleattn.export.images import OUTPUT_SUFFIXES
from keras_scaleattn.export.images import is_prediction_output
from keras_scaleattn.export.images import list_image_files
from keras_scaleattn.export.images import read_images
from keras_scaleattn.visualization.mask_writer import save_prediction


class FolderPrediction(NamedTuple):
    """What `predict_folder` did.

    Attributes:
        written: list of `(image_path, mask_path, overlay_path)`.
        skipped: list of str, files named like this tool's outputs
            (`*_mask.png`, `*_overlay.png`), not segmented.
        failed: list of `(image_path, message)`, images that could not be
            read (corrupt, truncated, float pixels, ...).
    """

    written: list
    skipped: list
    failed: list


def output_prefixes(paths):
    """The output name (without `_mask.png`) of each image, collision-free.

    An image's name is its file stem (`photos/a.jpg` -> `a`), unless another
    image has the same stem, compared ignoring case (`a.jpg` and `A.png`
    would write the same file on macOS and Windows): those keep their
    extension (`a.jpg`, `A.png`).

    Args:
        paths: list of str image paths.

    Returns:
        list of str, one per path, in order.

    Raises:
        ValueError: if two names still coincide (say `a.jpg`, `a.png` and
            `a.jpg.png`); the message names the files.

    Example:

    >>> output_prefixes(["p/a.jpg", "p/a.png", "p/b.png"])
    ['a.jpg', 'a.png', 'b']
    """
    names = [os.path.basename(path) for path in paths]
    stems = [os.path.splitext(name)[0] for name in names]
    counts = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    prefixes = [name if counts[stem.casefold()] > 1 else stem
                for name, stem in zip(names, stems)]
    owners = {}
    for path, prefix in zip(paths, prefixes):
        other = owners.setdefault(prefix.casefold(), path)
        if other != path:
            raise ValueError(
                f"Images '{other}' and '{path}' would both be written to "
                f"'{prefix}_mask.png'; rename one of them.")
    return prefixes


def predict_folder(runtime, folder, out_dir, palette=None, alpha=0.5,
                   log=None, skip_unreadable=False, argument_names=None):
    """Writes `<name>_mask.png` and `<name>_overlay.png` for every image.

    Images run one at a time (their sizes may differ), read upright (their
    EXIF orientation applied, see `read_images`). A runtime with
    `fit="letterbox"` or `fit="tile"` fits each image to the model and the
    log says how (`SegmentationRuntime.fit_note`).

    `<name>` is the image's file stem, or its whole file name when two
    images share a stem (`a.jpg` and `a.png` give `a.jpg_mask.png` and
    `a.png_mask.png`), so that no output overwrites another. Hidden files
    (`.*`) and files named like outputs (`*_mask.png`, `*_overlay.png`,
    say from an earlier run with `out_dir` = `folder`) are not segmented.
    An image that cannot be read raises, or with `skip_unreadable=True`
    (as `deploy/predict.py`) is reported (log and `failed`) while the others
    still run.

    Args:
        runtime: a `SegmentationRuntime` (or any callable image -> outputs
            dict with `"class_map"`).
        folder: str. Directory of image files (jpg, png, ...).
        out_dir: str. Output directory, created if missing.
        palette: `[N, 3]` uint8 array or None for the VOC palette.
        alpha: float. Overlay opacity. Defaults to 0.5.
        log: callable taking a str, or None.
        skip_unreadable: bool. If True, an unreadable image is logged and
            listed in `failed` instead of raising its `ValueError`. Defaults
            to False.
        argument_names: None or a dict argument name -> the name errors
            use (`deploy/predict.py` passes `{"folder": "--images"}`).
            Defaults to None.

    Returns:
        `FolderPrediction(written, skipped, failed)`.

    Raises:
        ValueError: if `folder` holds no image (other than outputs), two
            images would get the same output name, or an image does not
            suit the model (see `SegmentationRuntime`); the message names
            the image file.

    Example:

    >>> predict_folder(SegmentationRuntime("exports/model.onnx"), "photos",
    ...                "predictions")  # doctest: +SKIP
    """
    argument = (argument_names or {}).get("folder", "folder")
    paths = list_image_files(folder, skip_prediction_outputs=False,
                             argument=argument)
    skipped = [path for path in paths if is_prediction_output(path)]
    paths = [path for path in paths if not is_prediction_output(path)]
    if not paths:
        raise ValueError(
            f"`{argument}` holds only files named like this tool's outputs "
            f"({', '.join('*' + s for s in OUTPUT_SUFFIXES)}), which are "
            f"not segmented. Received: {argument}={os.fspath(folder)!r}")
    if skipped and log:
        log(f"{len(skipped)} files named *_mask.png / *_overlay.png "
            "(outputs of an earlier run) skipped")
    prefixes = output_prefixes(paths)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    failed = []
    for path, prefix in zip(paths, prefixes):
        try:
            (image,) = read_images([path])
        except ValueError as error:
            if not skip_unreadable:
                raise
            failed.append((path, str(error)))
            if log:
                log(f"skipped: {error}")
            continue
        try:
            note = getattr(runtime, "fit_note", lambda h, w: None)(
                *image.shape[:2])
            class_map = runtime(image)["class_map"]
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        mask_path, overlay_path = save_prediction(
            os.path.join(out_dir, prefix), image, class_map, palette, alpha)
        written.append((path, mask_path, overlay_path))
        if log:
            log(f"{path} -> {mask_path}" + (f" ({note})" if note else ""))
    return FolderPrediction(written, skipped, failed)
