"""Attention pictures for a trained model, like the paper's Fig. 1 and 5."""

import os

import numpy as np

from keras_scaleattn.inference.full_resolution import predict_full_resolution
from keras_scaleattn.visualization.attention_figure import save_attention_figure


def write_attention_pictures(model, examples, out_dir, class_names=None,
                             prefix="attention"):
    """Writes one PNG per image: image, truth, prediction, a heat map per scale.

    Args:
        model: a `ScaleAttentionSegmenter` with `merge="attention"` and two or
            more scales.
        examples: iterable of `(image, label)` pairs: uint8 (or [0, 255]
            float) RGB `[H, W, 3]` and int `[H, W]` (label may be None).
        out_dir: str. Folder for the PNGs (created if missing).
        class_names: optional class names for the legend.
        prefix: str. File name prefix. Defaults to `"attention"`.

    Returns:
        The list of written paths, `<out_dir>/<prefix>_<i>.png`.

    Raises:
        ValueError: if the model has no attention output.

    Example:

    ```python
    images, labels = synthetic_scale_arrays("val", num_examples=4)
    write_attention_pictures(model, zip(images, labels), "pictures/")
    ```
    """
    if "attention" not in model.output_names:
        raise ValueError(
            "`model` has no attention output: attention pictures need "
            f"merge='attention' and two or more scales. Received: "
            f"merge={getattr(model, 'merge', None)!r}, "
            f"scales={getattr(model, 'scales', None)!r}"
        )
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for index, (image, label) in enumerate(examples):
        image = np.asarray(image)
        outputs = predict_full_resolution(model, image.astype("float32"))
        path = os.path.join(out_dir, f"{prefix}_{index}.png")
        save_attention_figure(
            path, np.clip(image, 0, 255).astype("uint8"), outputs["attention"],
            model.scales, prediction=outputs["class_map"],
            label=None if label is None else np.asarray(label),
            class_names=class_names)
        paths.append(path)
    return paths
