import numpy as np
import pytest
from PIL import Image

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.visualization import write_attention_pictures

TINY = dict(trunk_width=0.0625, attention_filters=8)


def test_one_png_per_image(tmp_path, rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5), **TINY)
    examples = [(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8),
                 rng.integers(0, 3, (40, 48))) for _ in range(2)]
    paths = write_attention_pictures(model, examples, tmp_path / "pics")
    assert [p.rsplit("/", 1)[-1] for p in map(str, paths)] == [
        "attention_0.png", "attention_1.png"]
    for path in paths:
        with Image.open(path) as picture:
            # Image, truth, prediction and two heat maps side by side.
            assert picture.width > 4 * picture.height / 2


def test_needs_an_attention_model(tmp_path):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    merge="max", **TINY)
    with pytest.raises(ValueError, match="merge='max'"):
        write_attention_pictures(model, [], tmp_path)
