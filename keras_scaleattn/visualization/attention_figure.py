"""Figure of per-scale attention weights, like Fig. 1 and 5 of the paper.

Chen et al., "Attention to Scale", CVPR 2016, show for each image the input,
the ground truth, the merged prediction and one heat map per scale of the
softmax weights w^s; large weights on scale 1 for small objects, on scale
0.5 for large ones.

Figures are drawn on a `matplotlib.figure.Figure` with an Agg canvas, never
through `pyplot`: no display is needed, no global backend is changed and
figures are freed with their last reference.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from keras_scaleattn.evaluation.report import write_bytes_atomic
from keras_scaleattn.visualization.palette import _check_palette
from keras_scaleattn.visualization.palette import colorize


def attention_figure(
    image,
    attention,
    scales,
    prediction=None,
    label=None,
    class_names=None,
    palette=None,
    cmap="viridis",
    panel_size=3.0,
    dpi=100,
):
    """Draws the image, ground truth, prediction and one heat map per scale.

    Panels, left to right: the image; the ground truth (if `label` is given);
    the prediction (if given); then for each scale s the attention weight
    map, titled `"scale = 1.0"` etc., on a fixed colour range 0..1 shared by
    one colorbar, so maps of different images and scales compare directly.

    Args:
        image: uint8 array [H, W, 3], RGB.
        attention: float array [H, W, S]: the softmax weights over scales,
            at the image's resolution.
        scales: sequence of S numbers, the scale of each attention channel.
        prediction: int array [H, W] or None. Predicted class map.
        label: int array [H, W] or None. Ground truth (255 = void).
        class_names: sequence of str or None. If given, a legend names the
            classes present in the label and prediction.
        palette: [N, 3] uint8 array or None for the PASCAL VOC colours.
        cmap: str or matplotlib Colormap for the heat maps. Defaults to
            `"viridis"`.
        panel_size: float. Height of a panel in inches. Defaults to 3.
        dpi: int. Dots per inch of the figure. Defaults to 100.

    Returns:
        matplotlib.figure.Figure, with an Agg canvas.

    Example:

    >>> image = np.zeros((16, 16, 3), np.uint8)
    >>> attention = np.full((16, 16, 2), 0.5, np.float32)
    >>> fig = attention_figure(image, attention, scales=(1.0, 0.5))
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['image', 'scale = 1.0', 'scale = 0.5']
    """
    image, attention, scales, prediction, label = _check_inputs(
        image, attention, scales, prediction, label
    )
    palette = _check_palette(palette)
    height, width = image.shape[:2]

    panels = [("image", image)]
    if label is not None:
        panels.append(("ground truth", colorize(label, palette)))
    if prediction is not None:
        panels.append(("prediction", colorize(prediction, palette)))
    num_panels = len(panels) + len(scales)

    panel_width = panel_size * width / height
    fig = Figure(
        figsize=(panel_width * num_panels + 0.8, panel_size + 0.6),
        dpi=dpi,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, num_panels, squeeze=False)[0]
    for ax, (title, rgb) in zip(axes, panels):
        ax.imshow(rgb, interpolation="nearest")
        ax.set_title(title)
    heat_axes = axes[len(panels) :]
    heat_image = None
    for i, (ax, scale) in enumerate(zip(heat_axes, scales)):
        # A fixed 0..1 range: a weight of 1 is always the colormap's top colour.
        heat_image = ax.imshow(
            attention[..., i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest"
        )
        ax.set_title(f"scale = {scale}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(heat_image, ax=list(heat_axes), label="attention weight")

    if class_names is not None:
        present = set()
        for class_map in (label, prediction):
            if class_map is not None:
                present.update(np.unique(class_map).tolist())
        handles = [
            Patch(color=palette[c] / 255.0, label=str(class_names[c]))
            for c in sorted(present)
            if c < len(class_names) and c < len(palette)
        ]
        if handles:
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncols=min(len(handles), 8),
                fontsize="small",
            )
    return fig


def save_attention_figure(
    path,
    image,
    attention,
    scales,
    prediction=None,
    label=None,
    class_names=None,
    palette=None,
    cmap="viridis",
    panel_size=3.0,
    dpi=100,
):
    """Draws `attention_figure(...)` and writes it as a PNG, atomically.

    The PNG is rendered in memory and written to a temporary file renamed
    over `path`, so a reader never sees a half-written image.

    Args:
        path: str or os.PathLike. Destination `.png`; its directory must exist.
        image, attention, scales, prediction, label, class_names, palette,
            cmap, panel_size, dpi: as in `attention_figure`.

    Returns:
        str: `path`.

    Example:

    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "attention.png")
    >>> _ = save_attention_figure(out, np.zeros((16, 16, 3), np.uint8),
    ...                           np.full((16, 16, 2), 0.5), scales=(1.0, 0.5))
    """
    fig = attention_figure(
        image,
        attention,
        scales,
        prediction=prediction,
        label=label,
        class_names=class_names,
        palette=palette,
        cmap=cmap,
        panel_size=panel_size,
        dpi=dpi,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return write_bytes_atomic(path, buffer.getvalue())


def figure_to_array(fig):
    """Renders a figure to an RGB array, e.g. for `tf.summary.image`.

    Transparent parts are composited over white.

    Args:
        fig: matplotlib.figure.Figure. A figure whose canvas cannot render
            to a pixel buffer (e.g. a PDF canvas) gets an Agg canvas.

    Returns:
        uint8 array [H, W, 3]. Add a batch axis for TensorBoard:
        `tf.summary.image("attention", figure_to_array(fig)[None], step)`.

    Example:

    >>> fig = attention_figure(np.zeros((16, 16, 3), np.uint8),
    ...                        np.full((16, 16, 2), 0.5), scales=(1.0, 0.5))
    >>> array = figure_to_array(fig)
    >>> array.dtype, array.ndim, array.shape[-1]
    (dtype('uint8'), 3, 3)
    """
    if not isinstance(fig, Figure):
        raise ValueError(
            "`fig` must be a matplotlib Figure. "
            f"Received: fig of type {type(fig).__name__}"
        )
    canvas = fig.canvas
    if not hasattr(canvas, "buffer_rgba"):
        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float64)
    alpha = rgba[..., 3:] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.round(rgb).astype(np.uint8)


def _check_inputs(image, attention, scales, prediction, label):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            "`image` must be a uint8 RGB array [H, W, 3]. "
            f"Received: image.shape={image.shape}, image.dtype={image.dtype}"
        )
    try:
        scales = [float(s) for s in scales]
    except (TypeError, ValueError):
        raise ValueError(
            f"`scales` must be a sequence of numbers. Received: scales={scales}"
        ) from None
    if not scales:
        raise ValueError(f"`scales` must not be empty. Received: scales={scales}")
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 3 or attention.shape != image.shape[:2] + (len(scales),):
        raise ValueError(
            "`attention` must be [H, W, S] with the image's H and W and "
            f"S = len(scales) = {len(scales)}. Received: "
            f"attention.shape={attention.shape}, image.shape={image.shape}"
        )
    if not np.all(np.isfinite(attention)):
        raise ValueError("`attention` must be finite. Received NaN or inf.")
    checked = []
    for name, class_map in (("prediction", prediction), ("label", label)):
        if class_map is not None:
            class_map = np.asarray(class_map)
            if class_map.shape != image.shape[:2]:
                raise ValueError(
                    f"`{name}` must be [H, W] with the image's H and W. "
                    f"Received: {name}.shape={class_map.shape}, "
                    f"image.shape={image.shape}"
                )
        checked.append(class_map)
    return image, attention, scales, checked[0], checked[1]
