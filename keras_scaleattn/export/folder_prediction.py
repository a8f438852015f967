"""Segment a folder of images with any exported model and save the masks."""

import os

from keras_scaleattn.export.images import list_image_files
from keras_scaleattn.export.images import read_images
from keras_scaleattn.visualization.mask_writer import save_prediction


def predict_folder(runtime, folder, out_dir, palette=None, alpha=0.5,
                   log=None):
    """Writes `<name>_mask.png` and `<name>_overlay.png` for every image.

    Images run one at a time (their sizes may differ). A runtime with
    `fit="letterbox"` fits each image to the model and the log says how.

    Args:
        runtime: a `SegmentationRuntime` (or any callable image -> outputs
            dict with `"class_map"`).
        folder: str. Directory of image files (jpg, png, ...).
        out_dir: str. Output directory, created if missing.
        palette: `[N, 3]` uint8 array or None for the VOC palette.
        alpha: float. Overlay opacity. Defaults to 0.5.
        log: callable taking a str, or None.

    Returns:
        list of `(image_path, mask_path, overlay_path)`.

    Raises:
        ValueError: if `folder` holds no image, or an image does not suit
            the model (see `SegmentationRuntime`); the message names the
            image file.

    Example:

    >>> predict_folder(SegmentationRuntime("exports/model.onnx"), "photos",
    ...                "predictions")  # doctest: +SKIP
    """
    paths = list_image_files(folder)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in paths:
        (image,) = read_images([path])
        plan = getattr(runtime, "fit_plan", lambda h, w: None)(
            *image.shape[:2])
        try:
            class_map = runtime(image)["class_map"]
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        prefix = os.path.join(out_dir,
                              os.path.splitext(os.path.basename(path))[0])
        mask_path, overlay_path = save_prediction(prefix, image, class_map,
                                                  palette, alpha)
        written.append((path, mask_path, overlay_path))
        if log:
            note = ""
            if plan is not None:
                note = (f" (letterboxed: {image.shape[0]}x{image.shape[1]} "
                        f"resized to {plan[0][0]}x{plan[0][1]}, padded to "
                        f"{plan[1][0]}x{plan[1][1]})")
            log(f"{path} -> {mask_path}{note}")
    return written
