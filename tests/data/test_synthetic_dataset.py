"""The synthetic multi-scale dataset: the properties it exists for."""

import itertools

import numpy as np
import pytest
from scipy import ndimage

from keras_scaleattn.data import SYNTHETIC_CLASS_NAMES
from keras_scaleattn.data import SYNTHETIC_NUM_CLASSES
from keras_scaleattn.data import SyntheticObject
from keras_scaleattn.data import render_synthetic_image
from keras_scaleattn.data import sample_synthetic_objects
from keras_scaleattn.data import synthetic_scale_arrays
from keras_scaleattn.data import synthetic_scale_dataset
from keras_scaleattn.data.synthetic import RING_COLORS
from keras_scaleattn.data.synthetic import RING_WIDTH
from keras_scaleattn.data.synthetic import STRIPE_PALETTE

H_STRIPES, V_STRIPES, WARM_RING, COOL_RING = 1, 2, 3, 4


def _half(array):
    """The model's scale 0.5: align-corners resize of an odd size = [::2, ::2]."""
    return array[::2, ::2]


@pytest.fixture(scope="module")
def train_arrays():
    return synthetic_scale_arrays("train", num_examples=40, seed=0)


def test_class_names_and_shapes(train_arrays):
    images, labels = train_arrays
    assert SYNTHETIC_CLASS_NAMES == (
        "background", "h_stripes", "v_stripes", "warm_ring", "cool_ring"
    )
    assert SYNTHETIC_NUM_CLASSES == 5
    assert images.shape == (40, 129, 129, 3) and images.dtype == np.uint8
    assert labels.shape == (40, 129, 129) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(5))


def test_deterministic_by_seed_split_and_index():
    a = synthetic_scale_arrays("val", num_examples=3, image_size=97, seed=5)
    b = synthetic_scale_arrays("val", num_examples=3, image_size=97, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    prefix = synthetic_scale_arrays("val", num_examples=2, image_size=97, seed=5)
    np.testing.assert_array_equal(prefix[0], a[0][:2])
    other_seed = synthetic_scale_arrays("val", num_examples=3, image_size=97, seed=6)
    other_split = synthetic_scale_arrays("test", num_examples=3, image_size=97, seed=5)
    assert not np.array_equal(a[0], other_seed[0])
    assert not np.array_equal(a[0], other_split[0])


def test_dataset_yields_the_arrays():
    images, labels = synthetic_scale_arrays("test", num_examples=2, image_size=97)
    ds = synthetic_scale_dataset("test", num_examples=2, image_size=97)
    out = list(ds.as_numpy_iterator())
    assert len(out) == 2
    for (image, label), ref_image, ref_label in zip(out, images, labels):
        np.testing.assert_array_equal(image, ref_image)
        np.testing.assert_array_equal(label, ref_label)


@pytest.mark.parametrize(
    "top, left, size, shape, phase",
    [(10, 20, 10, "square", 0), (11, 20, 11, "square", 1), (30, 31, 14, "disc", 0),
     (51, 40, 17, "disc", 1), (4, 5, 18, "square", 1)],
)
def test_small_objects_vanish_at_half_scale_and_differ_at_full_scale(
    top, left, size, shape, phase
):
    center = (top + (size - 1) / 2.0, left + (size - 1) / 2.0)
    colors = (STRIPE_PALETTE[0], STRIPE_PALETTE[3])
    h = SyntheticObject(H_STRIPES, center, size, shape, colors, phase)
    v = SyntheticObject(V_STRIPES, center, size, shape, colors, phase)
    h_image, h_label = render_synthetic_image([h], 129, seed=3)
    v_image, v_label = render_synthetic_image([v], 129, seed=3)
    empty, _ = render_synthetic_image([], 129, seed=3)

    # Half scale (the pixels the align-corners 0.5 resize keeps): both
    # objects are exactly the background, noise included.
    np.testing.assert_array_equal(_half(h_image), _half(empty))
    np.testing.assert_array_equal(_half(v_image), _half(empty))
    # Full scale: stripes of the palette colour on odd rows (h) or columns (v).
    inside = h_label > 0
    rows, cols = np.nonzero(inside)
    odd_rows, odd_cols = rows % 2 == 1, cols % 2 == 1
    np.testing.assert_array_equal(h_image[rows[odd_rows], cols[odd_rows]],
                                  np.broadcast_to(colors[phase], (odd_rows.sum(), 3)))
    np.testing.assert_array_equal(v_image[rows[odd_cols], cols[odd_cols]],
                                  np.broadcast_to(colors[phase], (odd_cols.sum(), 3)))
    assert (h_image[inside] != v_image[inside]).any()


def _equal_neighbour_fraction(image, label, cls, axis):
    """Among pairs of adjacent pixels both of class `cls`, the fraction with
    the same colour (neighbours along `axis`)."""
    if axis == 0:
        a, b, la, lb = image[:-1], image[1:], label[:-1], label[1:]
    else:
        a, b, la, lb = image[:, :-1], image[:, 1:], label[:, :-1], label[:, 1:]
    both = (la == cls) & (lb == cls)
    return float((a[both] == b[both]).all(-1).mean())


def test_generated_stripes_orientation_only_visible_at_full_scale(train_arrays):
    images, labels = train_arrays
    palette = {tuple(c) for c in STRIPE_PALETTE}
    for image, label in zip(images, labels):
        rows, cols = np.mgrid[:image.shape[0], :image.shape[1]]
        colours = np.array([tuple(p) in palette for p in image.reshape(-1, 3)])
        colours = colours.reshape(label.shape)
        # Full scale: h stripes paint the odd rows, v stripes the odd columns.
        h, v = label == H_STRIPES, label == V_STRIPES
        assert colours[h & (rows % 2 == 1)].all()
        assert not colours[h & (rows % 2 == 0)].any()
        assert colours[v & (cols % 2 == 1)].all()
        assert not colours[v & (cols % 2 == 0)].any()
        # Half scale: no stripe colour is left on a small object.
        assert not _half(colours)[_half(h | v)].any()


def test_large_classes_are_one_dither_at_full_scale_and_flat_at_half_scale():
    warm = SyntheticObject(WARM_RING, (60.0, 70.0), 30.0, colors=((100, 120, 90),))
    cool = SyntheticObject(COOL_RING, (60.0, 70.0), 30.0, colors=((100, 120, 90),))
    warm_image, warm_label = render_synthetic_image([warm], 129, seed=9)
    cool_image, cool_label = render_synthetic_image([cool], 129, seed=9)

    rows, cols = np.mgrid[:129, :129]
    distance = np.hypot(rows - 60.0, cols - 70.0)
    disc = distance <= 30.0
    ring = disc & (distance > 30.0 - RING_WIDTH)
    interior = disc & ~ring
    np.testing.assert_array_equal(warm_label, np.where(disc, WARM_RING, 0))
    np.testing.assert_array_equal(cool_label, np.where(disc, COOL_RING, 0))
    # The ring and the background are the same in both classes.
    np.testing.assert_array_equal(warm_image[~interior], cool_image[~interior])
    # Full scale: the same two colours, in both classes, half the pixels each;
    # a one-pixel shift maps one class's dither onto the other's.
    even = (rows + cols) % 2 == 0
    for image, own, other in [(warm_image, WARM_RING, COOL_RING),
                              (cool_image, COOL_RING, WARM_RING)]:
        assert np.abs(image[interior & even].mean(0) - RING_COLORS[own]).max() < 6
        assert np.abs(image[interior & ~even].mean(0) - RING_COLORS[other]).max() < 6
    shifted = np.roll(warm_image, 1, axis=1).astype(int)
    inner = interior & np.roll(interior, 1, axis=1)
    assert np.abs(shifted[inner] - cool_image[inner].astype(int)).mean() < 15
    # Half scale (align-corners = even pixels): flat, in the class's colour.
    half_interior = _half(interior)
    assert np.abs(_half(warm_image)[half_interior].mean(0)
                  - RING_COLORS[WARM_RING]).max() < 6
    assert np.abs(_half(cool_image)[half_interior].mean(0)
                  - RING_COLORS[COOL_RING]).max() < 6


def test_large_object_interiors_are_far_from_their_ring(train_arrays):
    _, labels = train_arrays
    far, total = 0, 0
    for label in labels:
        large = (label == WARM_RING) | (label == COOL_RING)
        depth = ndimage.distance_transform_edt(large)
        far += int((depth > 12 + RING_WIDTH).sum())
        total += int(large.sum())
    # A large share of the pixels is more than 12 px inside the ring.
    assert far / total > 0.3


def test_labels_are_exact_and_later_objects_are_drawn_on_top():
    square = SyntheticObject(
        H_STRIPES, (20.5, 30.5), 8, "square", STRIPE_PALETTE[1:3]
    )
    disc = SyntheticObject(V_STRIPES, (24.0, 34.0), 9, "disc", STRIPE_PALETTE[4:6])
    image, label = render_synthetic_image([square, disc], 97, seed=0)

    expected = np.zeros((97, 97), np.uint8)
    expected[17:25, 27:35] = H_STRIPES
    for r in range(97):
        for c in range(97):
            if (r - 24.0) ** 2 + (c - 34.0) ** 2 <= 4.5**2:
                expected[r, c] = V_STRIPES
    np.testing.assert_array_equal(label, expected)
    # On top: the overlap shows the disc's stripe colour, not the square's.
    overlap_colours = {tuple(p) for p in image[label == V_STRIPES]}
    assert STRIPE_PALETTE[4] in overlap_colours
    assert STRIPE_PALETTE[1] not in overlap_colours


def test_sampled_objects_follow_the_design():
    counts = {c: 0 for c in range(1, 5)}
    for i in range(150):
        objects = sample_synthetic_objects(np.random.default_rng(i), 129)
        large = [o for o in objects if o.class_id in (WARM_RING, COOL_RING)]
        small = [o for o in objects if o.class_id in (H_STRIPES, V_STRIPES)]
        assert 1 <= len(large) <= 2 and len(small) <= 6
        assert objects[: len(large)] == large  # large first, small on top
        assert all(24 <= o.size <= 48 for o in large)
        assert all(10 <= o.size <= 18 for o in small)
        for a, b in itertools.combinations(objects, 2):
            distance = np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1])
            assert distance >= 0.8 * (a.radius + b.radius) - 1e-6
        for o in objects:
            counts[o.class_id] += 1
    # Each class of a pair is equally likely.
    assert 0.4 < counts[1] / (counts[1] + counts[2]) < 0.6
    assert 0.4 < counts[3] / (counts[3] + counts[4]) < 0.6


def test_bad_arguments_raise_value_error_naming_them():
    for kwargs, name in [
        (dict(image_size=96), "image_size"),
        (dict(split="dev"), "split"),
        (dict(num_examples=0), "num_examples"),
        (dict(seed=-1), "seed"),
    ]:
        with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
            synthetic_scale_arrays(**kwargs)
    with pytest.raises(ValueError, match="Received: class_id=7"):
        SyntheticObject(7, (1.0, 1.0), 5)
