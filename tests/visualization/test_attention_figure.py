import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.visualization import attention_figure
from keras_scaleattn.visualization import figure_to_array
from keras_scaleattn.visualization import save_attention_figure

H, W = 24, 40  # not square, so a transposed panel would show


def _inputs():
    image = np.zeros((H, W, 3), np.uint8)
    image[:, : W // 2] = (255, 0, 0)
    attention = np.zeros((H, W, 2), np.float32)
    attention[..., 0] = 1.0  # scale 1.0 takes all the weight
    label = np.zeros((H, W), np.int32)
    label[7:17, 15:25] = 15
    label[0, :] = 255
    prediction = np.where(label == 255, 0, label)
    return image, attention, label, prediction


def _panel_centre_rgb(fig, array, title):
    (ax,) = [a for a in fig.axes if a.get_title() == title]
    box = ax.get_window_extent()
    # Display coordinates start at the bottom; array rows at the top.
    row = array.shape[0] - int(round((box.y0 + box.y1) / 2))
    col = int(round((box.x0 + box.x1) / 2))
    return array[row, col].astype(int)


@pytest.mark.parametrize("cmap", ["viridis", "magma"])
def test_heat_map_colours_follow_a_fixed_zero_to_one_range(cmap):
    image, attention, label, prediction = _inputs()
    fig = attention_figure(
        image, attention, (1.0, 0.5), prediction=prediction, label=label, cmap=cmap
    )
    array = figure_to_array(fig)
    colormap = matplotlib.colormaps[cmap]
    top = np.round(np.array(colormap(1.0)[:3]) * 255)
    bottom = np.round(np.array(colormap(0.0)[:3]) * 255)
    # Weight 1 everywhere -> the colormap's top colour; weight 0 -> its bottom.
    np.testing.assert_allclose(_panel_centre_rgb(fig, array, "scale = 1.0"), top, atol=2)
    np.testing.assert_allclose(_panel_centre_rgb(fig, array, "scale = 0.5"), bottom, atol=2)
    # The ground-truth panel centre (inside the 15 = person square).
    np.testing.assert_allclose(
        _panel_centre_rgb(fig, array, "ground truth"), (192, 128, 128), atol=2
    )


def test_panels_titles_and_colorbar():
    image, attention, label, prediction = _inputs()
    fig = attention_figure(
        image,
        np.repeat(attention[..., :1] / 3, 3, axis=-1),
        [1, 0.75, 0.5],
        prediction=prediction,
        label=label,
        class_names=["background"] + [f"c{i}" for i in range(1, 15)] + ["person"],
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:6] == [
        "image",
        "ground truth",
        "prediction",
        "scale = 1.0",
        "scale = 0.75",
        "scale = 0.5",
    ]
    colorbar_axes = fig.axes[6]
    assert colorbar_axes.get_ylim() == pytest.approx((0.0, 1.0))
    legend_names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_names == ["background", "person"]


def test_save_png_and_figure_to_array(tmp_path):
    image, attention, label, prediction = _inputs()
    path = tmp_path / "attention.png"
    out = save_attention_figure(path, image, attention, [1.0, 0.5], prediction=prediction, dpi=50)
    assert out == str(path)
    assert os.listdir(tmp_path) == ["attention.png"]
    with Image.open(path) as png:
        png.load()
        width, height = png.size
    # 4 panels of ~3 in * 40/24 wide at 50 dpi: about 1000 x 180 pixels.
    assert 500 < width < 2000 and 100 < height < 400
    assert width > 3 * height
    fig = attention_figure(image, attention, [1.0, 0.5], prediction=prediction, dpi=50)
    array = figure_to_array(fig)
    assert array.dtype == np.uint8
    assert array.shape == (height, width, 3)


def test_shape_errors_name_both_shapes():
    image, attention, label, _ = _inputs()
    both_shapes = r"attention.shape=\(24, 40, 2\), image.shape=\(24, 40, 3\)"
    with pytest.raises(ValueError, match=both_shapes):
        attention_figure(image, attention, [1.0, 0.75, 0.5])
    with pytest.raises(ValueError, match=r"\(40, 24, 2\).*\(24, 40, 3\)"):
        attention_figure(image, attention.transpose(1, 0, 2), [1.0, 0.5])
    with pytest.raises(ValueError, match=r"label.shape=\(24, 39\)"):
        attention_figure(image, attention, [1.0, 0.5], label=label[:, 1:])
    with pytest.raises(ValueError, match="uint8"):
        attention_figure(image.astype(np.float32), attention, [1.0, 0.5])
    with pytest.raises(ValueError, match="fig"):
        figure_to_array(image)
