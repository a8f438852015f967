"""Visualization: VOC palette, per-scale attention figures, prediction PNGs."""

from keras_scaleattn.visualization.attention_figure import attention_figure
from keras_scaleattn.visualization.attention_figure import figure_to_array
from keras_scaleattn.visualization.attention_figure import (
    save_attention_figure,
)
from keras_scaleattn.visualization.attention_pictures import (
    write_attention_pictures,
)
from keras_scaleattn.visualization.mask_writer import save_prediction
from keras_scaleattn.visualization.palette import colorize
from keras_scaleattn.visualization.palette import overlay
from keras_scaleattn.visualization.palette import voc_palette

__all__ = [
    "attention_figure",
    "colorize",
    "figure_to_array",
    "overlay",
    "save_attention_figure",
    "save_prediction",
    "voc_palette",
    "write_attention_pictures",
]
