"""The attention figure reaches TensorBoard as an image summary."""

import glob

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.training import AttentionImageCallback


def read_images(log_dir):
    """`(tag, step, height, width)` of every image summary in `log_dir`."""
    found = []
    for path in glob.glob(f"{log_dir}/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    # tf.summary.image stores [width, height, png...].
                    tensor = tf.make_ndarray(value.tensor)
                    width, height = int(tensor[0]), int(tensor[1])
                    png = tf.io.decode_png(tensor[2])
                    assert png.shape[:2] == (height, width)
                    found.append((value.tag, event.step, height, width))
    return sorted(found)


def test_writes_one_figure_every_second_epoch(tmp_path, rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    trunk_width=0.0625, attention_filters=8)
    model.compile()
    image = rng.integers(0, 256, (41, 45, 3)).astype("uint8")
    label = rng.integers(0, 3, (41, 45))
    callback = AttentionImageCallback(tmp_path, image, label, scales=model.scales,
                                      every_epochs=2)
    images = rng.uniform(0, 255, (2, 33, 33, 3)).astype("float32")
    model.fit(images, rng.integers(0, 3, (2, 33, 33)), epochs=4, verbose=0,
              callbacks=[callback])
    written = read_images(tmp_path)
    assert [(tag, step) for tag, step, _, _ in written] == [("attention", 1),
                                                           ("attention", 3)]
    # Image, ground truth, prediction and two heat maps: a wide figure.
    _, _, height, width = written[0]
    assert width > 3 * height


def test_a_model_without_attention_is_refused(tmp_path, rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,),
                                    trunk_width=0.0625)
    callback = AttentionImageCallback(tmp_path, np.zeros((33, 33, 3), np.uint8))
    callback.set_model(model)
    with pytest.raises(ValueError, match="attention"):
        callback.render()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="every_epochs"):
        AttentionImageCallback(tmp_path, np.zeros((8, 8, 3)), every_epochs=0)
    with pytest.raises(ValueError, match="image"):
        AttentionImageCallback(tmp_path, np.zeros((8, 8)))
