"""Parity of exported models with the Keras model, under stated tolerances.

Every artifact runs the same full-resolution function as the Keras model,
so its outputs are compared pixel by pixel: the largest absolute difference
of the class probabilities (and of the attention weights) and the fraction
of pixels whose class agrees.

Tolerances (`PARITY_TOLERANCES`, by precision), and why:

- float32 (SavedModel, TFLite, ONNX): max |dp| <= 1e-4, mean |dp| <= 1e-5,
  agreement >= 99.9%. The same float32 arithmetic in another order
  (measured: at most 3.4e-6 on a trained model, 1.5e-7 on the untrained
  test model); a class may flip only where two classes tie to 1e-6.
- float16 (TFLite float16 weights, ONNX float16 convolutions): max |dp| <=
  0.05, mean |dp| <= 1e-3, agreement >= 99%. Half precision keeps 11
  significant bits (5e-4 relative per operation) through about 20 layers;
  measured max 5.4e-3, mean 1.7e-5, agreement 99.998% on a trained model.
- int8 (TFLite full int8, ONNX Q/DQ convolutions): mean |dp| <= 0.05,
  agreement >= 85%, max |dp| reported but not bounded: a pixel whose class
  flips moves its probabilities by up to 1 (measured 0.99 on a trained
  model with 97.6% agreement), so the maximum says nothing about int8
  beyond "some pixel flipped". 256 levels per tensor, the output softmax in
  steps of 1/256. Measured: full-int8 TFLite mean 0.020, agreement 97.6%
  (trained) and 93-95% (untrained test model, whose near-uniform
  probabilities are the worst case); ONNX Q/DQ mean 0.002, 99.6% (trained).
"""

import numpy as np
from PIL import Image

from keras_scaleattn.evaluation.report import format_markdown_table

PARITY_TOLERANCES = {
    "float32": {"max_probability_delta": 1e-4,
                "mean_probability_delta": 1e-5,
                "min_pixel_agreement": 0.999},
    "float16": {"max_probability_delta": 5e-2,
                "mean_probability_delta": 1e-3,
                "min_pixel_agreement": 0.99},
    # No bound on the maximum: one flipped pixel makes it about 1.
    "int8": {"max_probability_delta": None,
             "mean_probability_delta": 5e-2,
             "min_pixel_agreement": 0.85},
}
TABLE_COLUMNS = ("precision", "size", "max |dp|", "mean |dp|",
                 "max |da|", "pixel agreement %", "pass")


def compare_outputs(reference, candidate):
    """Differences between two output dicts of the same images.

    Args:
        reference: dict with `"class_map"`, `"probabilities"` and optionally
            `"attention"` arrays (the Keras model's).
        candidate: dict of the same arrays from an exported model.

    Returns:
        dict: `"max_probability_delta"`, `"mean_probability_delta"`,
        `"max_attention_delta"` (None without attention) and
        `"pixel_agreement"` (fraction in [0, 1]).

    Raises:
        ValueError: if the shapes differ or an output is missing.

    Example:

    >>> p = np.full((1, 2, 2, 2), 0.5, np.float32)
    >>> c = np.zeros((1, 2, 2), np.int32)
    >>> compare_outputs({"probabilities": p, "class_map": c},
    ...                 {"probabilities": p, "class_map": c})["pixel_agreement"]
    1.0
    """
    for name in ("class_map", "probabilities"):
        if name not in candidate or name not in reference:
            raise ValueError(
                f"Both output dicts must have {name!r}. Received keys: "
                f"{sorted(reference)} and {sorted(candidate)}")
        if np.shape(reference[name]) != np.shape(candidate[name]):
            raise ValueError(
                f"{name!r} shapes differ: {np.shape(reference[name])} and "
                f"{np.shape(candidate[name])}")
    delta = np.abs(np.asarray(reference["probabilities"], np.float64)
                   - np.asarray(candidate["probabilities"], np.float64))
    attention = None
    if "attention" in reference and "attention" in candidate:
        attention = float(np.max(np.abs(
            np.asarray(reference["attention"], np.float64)
            - np.asarray(candidate["attention"], np.float64))))
    agreement = np.mean(np.asarray(reference["class_map"])
                        == np.asarray(candidate["class_map"]))
    return {
        "max_probability_delta": float(delta.max()),
        "mean_probability_delta": float(delta.mean()),
        "max_attention_delta": attention,
        "pixel_agreement": float(agreement),
    }


def within_tolerance(metrics, precision):
    """Whether parity metrics meet `PARITY_TOLERANCES[precision]`.

    A bound of None is not checked.

    Args:
        metrics: dict from `compare_outputs` (or `measure_parity`), with
            `"max_probability_delta"`, `"mean_probability_delta"` and
            `"pixel_agreement"`.
        precision: str. `"float32"`, `"float16"` or `"int8"`.

    Returns:
        bool.
    """
    if precision not in PARITY_TOLERANCES:
        raise ValueError(
            f"`precision` must be one of {tuple(PARITY_TOLERANCES)}. "
            f"Received: precision={precision!r}")
    tolerance = PARITY_TOLERANCES[precision]
    for name in ("max_probability_delta", "mean_probability_delta"):
        if tolerance[name] is not None and metrics[name] > tolerance[name]:
            return False
    return bool(metrics["pixel_agreement"]
                >= tolerance["min_pixel_agreement"])


def resize_image(image, size):
    """Bilinear resize of a uint8 `[H, W, 3]` image to `(height, width)`."""
    if tuple(image.shape[:2]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize(
        (size[1], size[0]), Image.BILINEAR), dtype=np.uint8)


def measure_parity(reference, candidate, images, image_size=None):
    """Runs two runtimes on the same images and pools the differences.

    Each image runs alone (images may differ in size); a fixed-size model's
    images are first resized to its size, for both runtimes.

    Args:
        reference: callable image batch -> outputs (a `SegmentationRuntime`
            of the Keras model).
        candidate: callable of the same kind (the exported model).
        images: sequence of uint8 `[H, W, 3]` images.
        image_size: None or the `(height, width)` both runtimes get.

    Returns:
        dict as `compare_outputs`, pooled over all images (maxima of the
        maxima, pixel-weighted means), plus `"num_images"`.
    """
    totals = {"max_probability_delta": 0.0, "max_attention_delta": None}
    pixels = agreeing = 0
    delta_sum = 0.0
    for image in images:
        if image_size is not None:
            image = resize_image(image, image_size)
        ref = reference(image[None])
        out = candidate(image[None])
        metrics = compare_outputs(ref, out)
        count = ref["class_map"].size
        pixels += count
        agreeing += metrics["pixel_agreement"] * count
        delta_sum += metrics["mean_probability_delta"] * count
        totals["max_probability_delta"] = max(
            totals["max_probability_delta"], metrics["max_probability_delta"])
        if metrics["max_attention_delta"] is not None:
            totals["max_attention_delta"] = max(
                totals["max_attention_delta"] or 0.0,
                metrics["max_attention_delta"])
    if not pixels:
        raise ValueError("`images` must hold at least one image.")
    totals["mean_probability_delta"] = delta_sum / pixels
    totals["pixel_agreement"] = agreeing / pixels
    totals["num_images"] = len(images)
    return totals


def parity_table(rows):
    """Formats parity rows as a Markdown table.

    Args:
        rows: list of dicts with `"name"`, `"precision"`, `"image_size"`
            and the metrics of `measure_parity`, and `"passed"`.

    Returns:
        str.
    """
    table = []
    for row in rows:
        size = row.get("image_size")
        attention = row.get("max_attention_delta")
        table.append((row["name"], {
            "precision": row["precision"],
            "size": "x".join(map(str, size)) if size else "any",
            "max |dp|": f"{row['max_probability_delta']:.2e}",
            "mean |dp|": f"{row['mean_probability_delta']:.2e}",
            "max |da|": "-" if attention is None else f"{attention:.2e}",
            "pixel agreement %": f"{100 * row['pixel_agreement']:.3f}",
            "pass": "yes" if row["passed"] else "NO",
        }))
    return format_markdown_table(table, TABLE_COLUMNS, row_header="artifact")
