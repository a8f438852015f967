"""make_pipeline: the contract the model and the training code rely on."""

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn.data import MEAN_RGB
from keras_scaleattn.data import make_pipeline


def _source(sizes, seed=0, num_classes=5):
    """Images of the given sizes whose red channel encodes the label
    (red = 10 * id), so alignment survives any crop or flip."""
    rng = np.random.default_rng(seed)
    examples = []
    for height, width in sizes:
        label = rng.integers(0, num_classes, (height, width), dtype=np.uint8)
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        image[..., 0] = label * 10
        examples.append((image, label))
    return tf.data.Dataset.from_generator(
        lambda: iter(examples),
        output_signature=(
            tf.TensorSpec([None, None, 3], tf.uint8),
            tf.TensorSpec([None, None], tf.uint8),
        ),
    ), examples


def _take(ds, n):
    return [(a.numpy(), b.numpy()) for a, b in ds.take(n)]


def test_training_batches_have_contract_shapes_and_dtypes():
    source, _ = _source([(20, 30), (40, 25), (33, 33)])
    ds = make_pipeline(source, training=True, batch_size=2, crop_size=17)
    images, labels = next(iter(ds))
    assert images.dtype == tf.float32 and labels.dtype == tf.int32
    assert images.shape == (2, 17, 17, 3) and labels.shape == (2, 17, 17)
    assert ds.element_spec[0].shape.as_list() == [2, 17, 17, 3]
    assert ds.options().deterministic is True


def test_training_keeps_label_aligned_and_pads_with_mean_and_ignore():
    # 9x12 images and 15x15 crops: every crop contains padding.
    source, _ = _source([(9, 12), (12, 9)] * 3)
    ds = make_pipeline(source, training=True, batch_size=3, crop_size=15, seed=4)
    mean = np.asarray(MEAN_RGB, np.float32)
    for images, labels in _take(ds, 4):
        padded = labels == 255
        assert padded.any() and (~padded).any()
        np.testing.assert_array_equal(
            images[padded], np.broadcast_to(mean, images[padded].shape)
        )
        np.testing.assert_array_equal(images[~padded][:, 0], labels[~padded] * 10.0)


def test_padding_is_at_bottom_right_when_the_crop_equals_the_padded_size():
    source, examples = _source([(5, 7)])
    ds = make_pipeline(source, training=True, batch_size=1, crop_size=9, mirror=False)
    image, label = _take(ds, 1)[0]
    np.testing.assert_array_equal(image[0, :5, :7], examples[0][0].astype(np.float32))
    np.testing.assert_array_equal(label[0, :5, :7], examples[0][1])
    assert (label[0, 5:] == 255).all() and (label[0, :, 7:] == 255).all()


def test_same_seed_gives_identical_batches_and_a_new_seed_does_not():
    source, _ = _source([(30, 30), (26, 40), (40, 26), (35, 35)])
    kwargs = dict(training=True, batch_size=2, crop_size=21, scale_range=(0.6, 1.4))
    ds = make_pipeline(source, seed=3, **kwargs)
    first = _take(ds, 5)
    again = _take(ds, 5)  # second iteration of the same pipeline
    rebuilt = _take(make_pipeline(source, seed=3, **kwargs), 5)
    other = _take(make_pipeline(source, seed=4, **kwargs), 5)
    for (a_img, a_lab), (b_img, b_lab), (c_img, c_lab) in zip(first, again, rebuilt):
        np.testing.assert_array_equal(a_img, b_img)
        np.testing.assert_array_equal(a_lab, b_lab)
        np.testing.assert_array_equal(a_img, c_img)
        np.testing.assert_array_equal(a_lab, c_lab)
    assert any(not np.array_equal(a[0], o[0]) for a, o in zip(first, other))


def test_each_epoch_gets_new_crops():
    source, examples = _source([(40, 40)])
    ds = make_pipeline(
        source, training=True, batch_size=1, crop_size=11, shuffle_buffer=1, epochs=4
    )
    crops = [img for img, _ in _take(ds, 10)]
    assert len(crops) == 4  # epochs=4 over one example, then the dataset ends
    assert len({c.tobytes() for c in crops}) == 4


def test_evaluation_keeps_full_size_images_and_exact_values():
    source, examples = _source([(10, 14), (7, 5)])
    ds = make_pipeline(source, training=False, crop_size=321)
    out = _take(ds, 5)
    assert len(out) == 2
    for (image, label), (src_image, src_label) in zip(out, examples):
        assert image.dtype == np.float32 and label.dtype == np.int32
        assert image.shape == (1,) + src_image.shape
        np.testing.assert_array_equal(image[0], src_image.astype(np.float32))
        np.testing.assert_array_equal(label[0], src_label)


def test_out_of_range_label_raises_naming_the_values():
    source, _ = _source([(6, 6)], num_classes=9)  # ids up to 8
    for training in (True, False):
        ds = make_pipeline(
            source, training=training, batch_size=1, crop_size=5, num_classes=3
        )
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            _take(ds, 1)
        message = info.value.message
        assert "Label values must be in [0, 3)" in message
        assert "[3 8]" in message  # the offending [min, max]
        assert "example #0" in message


def test_mask_of_another_size_raises_clearly():
    source = tf.data.Dataset.from_tensors(
        (tf.zeros([6, 6, 3], tf.uint8), tf.zeros([6, 5], tf.uint8))
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="Mask size differs"):
        _take(make_pipeline(source, training=False), 1)


def test_empty_source_is_refused():
    empty = tf.data.Dataset.from_tensor_slices(
        (np.zeros([0, 6, 6, 3], np.uint8), np.zeros([0, 6, 6], np.uint8))
    )
    with pytest.raises(ValueError, match="empty"):
        make_pipeline(empty, training=True)


def test_empty_source_of_unknown_size_ends_instead_of_hanging():
    source, _ = _source([(6, 6)])
    empty = source.filter(lambda image, label: False)
    ds = make_pipeline(empty, training=True, batch_size=1, crop_size=5)
    assert _take(ds, 1) == []


def test_bad_arguments_raise_value_error_naming_them():
    source, _ = _source([(6, 6)])
    for kwargs, name in [
        (dict(training=True, batch_size=0), "batch_size"),
        (dict(training=True, crop_size=-1), "crop_size"),
        (dict(training=True, scale_range=(1.5, 0.5)), "scale_range"),
        (dict(training=False, scale_range=(0.5, 1.5)), "scale_range"),
        (dict(training="yes"), "training"),
        (dict(training=True, seed=1.5), "seed"),
        (dict(training=True, num_classes=0), "num_classes"),
        (dict(training=True, shuffle_buffer=0), "shuffle_buffer"),
        (dict(training=True, epochs=0), "epochs"),
    ]:
        with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
            make_pipeline(source, **kwargs)
