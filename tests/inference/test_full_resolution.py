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
    # Padded to 16k + 1 (49 x 49), so that scale 0.5's image, 25 px, is
    # 8j + 1 too.
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5), **TINY)
    images = rng.uniform(0, 255, size=(2, 38, 45, 3)).astype("float32")
    out = predict_full_resolution(model, images)
    assert out["class_map"].shape == (2, 38, 45)
    assert out["attention"].shape == (2, 38, 45, 2)

    padded = np.empty((2, 49, 49, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :38, :45] = images
    raw = model.predict(padded, verbose=0)
    logits = references.resize_align_corners(raw["logits"], 49, 49)[:, :38, :45]
    probs = references.softmax(logits)
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-4)
    np.testing.assert_array_equal(out["class_map"], probs.argmax(-1))
    att = references.resize_align_corners(raw["attention"], 49, 49)[:, :38, :45]
    np.testing.assert_allclose(out["attention"], att, atol=1e-5)


def test_scale_logits_are_each_scale_upsampled_as_the_merged_ones(rng):
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5),
                                    extra_supervision=True, **TINY)
    images = rng.uniform(0, 255, size=(2, 38, 45, 3)).astype("float32")
    out = predict_full_resolution(model, images, scale_logits=True)
    assert out["scale_logits"].shape == (2, 38, 45, 2, 4)

    padded = np.empty((2, 49, 49, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :38, :45] = images
    raw = model.predict(padded, verbose=0)
    for i in range(2):
        expected = references.resize_align_corners(
            raw[f"scale_logits_{i}"], 49, 49)[:, :38, :45]
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
    # mean to 33 (the smallest 16k + 1 >= 33) on a short side, as the paper
    # pads every image to 513, and the outputs are cropped back.
    model = ScaleAttentionSegmenter(num_classes=4, scales=(1.0, 0.5), **TINY)
    assert model.min_input_size == 33
    images = rng.uniform(0, 255, size=(1, height, width, 3)).astype("float32")
    out = predict_full_resolution(model, images)
    size = (max(33, padded_size(height, 16)), max(33, padded_size(width, 16)))
    padded = np.empty((1, *size, 3), "float32")
    padded[:] = np.array([122.675, 116.669, 104.008], "float32")
    padded[:, :height, :width] = images
    raw = model.predict(padded, verbose=0)
    logits = references.resize_align_corners(raw["logits"], *size)
    probs = references.softmax(logits[:, :height, :width])
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-4)
    assert out["class_map"].shape == (1, height, width)


@pytest.mark.parametrize("scales, step", [((1.0,), 8), ((1.0, 0.5), 16),
                                          ((1.0, 0.75, 0.5), 32),
                                          ((1.5, 1.0), 16)])
def test_every_scale_of_the_padded_side_is_8j_plus_1(scales, step):
    from keras_scaleattn.inference import alignment_step
    from keras_scaleattn.ops.resize import scaled_size

    assert alignment_step(scales) == step
    for n in (33, 100, 321, 500):
        side = padded_size(n, step)
        assert side >= n and side - n < step
        for s in scales:
            assert (scaled_size(side, s) - 1) % 8 == 0, (side, s)


def test_score_maps_of_the_padded_sides_sit_on_every_8th_pixel():
    # Where the trunk's stride-8 pixels really are: pool a one-hot row
    # through three "same" stride-2 max pools (VGG's pool1-3), as the
    # trunk does, and find each output's centre. On a side of 16k + 1 the
    # half-scale image (8j + 1) has them at 0, 8, 16, ..., as upsampling
    # assumes; on 41 (8k + 1, whose half is 21) they are off by 2 pixels of
    # that scale.
    def centres(n):
        out = []
        for i in range(n):
            x = np.full((1, n, 1, 1), -1.0, "float32")
            x[0, i] = 1.0
            for _ in range(3):
                x = keras.ops.convert_to_numpy(keras.ops.max_pool(
                    x, pool_size=(3, 1), strides=(2, 1), padding="same"))
            out.append(x[0, :, 0, 0])
        hits = np.array(out)  # [input pixel, output pixel]
        return [int(np.flatnonzero(hits[:, j] > 0).mean())
                for j in range(hits.shape[1])]

    # (Interior outputs: at the borders the window is cut by the padding.)
    assert centres(25)[1:-1] == [8, 16]   # 49 px at scale 0.5: as assumed
    assert centres(21)[1:-1] == [12]      # 41 px: upsampling assumes 10
