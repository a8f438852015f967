import keras
import numpy as np
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.inference import padded_size
from keras_scaleattn.inference import predict_full_resolution
from tests import references

TINY = dict(trunk_width=0.0625, attention_filters=8)


@pytest.mark.parametrize("n, expected", [(33, 33), (34, 41), (500, 505),
                                         (513, 513), (321, 321), (320, 321)])
def test_padded_size_is_next_8k_plus_1(n, expected):
    assert padded_size(n) == expected
    assert int(keras.ops.convert_to_numpy(
        padded_size(keras.ops.convert_to_tensor(n)))) == expected


def test_matches_pad_upsample_crop_reference(rng):
    # The paper's procedure written out: pad with the mean, run the model,
    # upsample the merged logits 8x (align-corners), crop, softmax, argmax.
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5), **TINY)
    images = rng.uniform(0, 255, size=(2, 38, 45, 3)).astype("float32")
    out = predict_full_resolution(model, images)
    assert out["class_map"].shape == (2, 38, 45)
    assert out["attention"].shape == (2, 38, 45, 2)

    padded = np.empty((2, 41, 49, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :38, :45] = images
    raw = model.predict(padded, verbose=0)
    logits = references.resize_align_corners(raw["logits"], 41, 49)[:, :38, :45]
    probs = references.softmax(logits)
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-4)
    np.testing.assert_array_equal(out["class_map"], probs.argmax(-1))
    att = references.resize_align_corners(raw["attention"], 41, 49)[:, :38, :45]
    np.testing.assert_allclose(out["attention"], att, atol=1e-5)


def test_scale_logits_are_each_scale_upsampled_as_the_merged_ones(rng):
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5),
                                    extra_supervision=True, **TINY)
    images = rng.uniform(0, 255, size=(2, 38, 45, 3)).astype("float32")
    out = predict_full_resolution(model, images, scale_logits=True)
    assert out["scale_logits"].shape == (2, 38, 45, 2, 4)

    padded = np.empty((2, 41, 49, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :38, :45] = images
    raw = model.predict(padded, verbose=0)
    for i in range(2):
        expected = references.resize_align_corners(
            raw[f"scale_logits_{i}"], 41, 49)[:, :38, :45]
        np.testing.assert_allclose(out["scale_logits"][..., i, :], expected,
                                   atol=1e-4)


def test_scale_logits_need_extra_supervision(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
                                    extra_supervision=False, **TINY)
    with pytest.raises(ValueError, match="extra supervision"):
        predict_full_resolution(model, np.zeros((33, 33, 3)), scale_logits=True)


def test_flip_averages_mirrored_predictions(rng):
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,), **TINY)
    image = rng.uniform(0, 255, size=(33, 41, 3)).astype("float32")
    plain = predict_full_resolution(model, image)
    mirrored = predict_full_resolution(model, image[:, ::-1])
    both = predict_full_resolution(model, image, flip=True)
    np.testing.assert_allclose(
        both["probabilities"],
        (plain["probabilities"] + mirrored["probabilities"][:, ::-1]) / 2,
        atol=1e-5)


def test_bad_images():
    model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,), **TINY)
    with pytest.raises(ValueError, match="images.shape"):
        predict_full_resolution(model, np.zeros((2, 40, 40, 4)))


@pytest.mark.parametrize("height, width", [(20, 24), (12, 40)])
def test_images_below_the_minimum_size_are_padded_like_any_other(
        rng, height, width):
    # min_input_size is 33 for scales (1, 0.5): the image is padded with the
    # mean to 33 (the smallest 8k + 1 >= 33) on a short side, as the paper
    # pads every image to 513, and the outputs are cropped back.
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5), **TINY)
    assert model.min_input_size == 33
    images = rng.uniform(0, 255, size=(1, height, width, 3)).astype("float32")
    out = predict_full_resolution(model, images)
    size = (max(33, padded_size(height)), max(33, padded_size(width)))
    padded = np.empty((1, *size, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :height, :width] = images
    raw = model.predict(padded, verbose=0)
    logits = references.resize_align_corners(raw["logits"], *size)
    probs = references.softmax(logits[:, :height, :width])
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-4)
    assert out["class_map"].shape == (1, height, width)
