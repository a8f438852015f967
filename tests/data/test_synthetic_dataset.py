"""The synthetic multi-scale dataset: the properties it exists for."""

import itertools

import numpy as np
import pytest
from scipy import ndimage

from keras_scaleattn.data import SYNTHETIC_CLASS_NAMES
from keras_scaleattn.data import SYNTHETIC_NUM_CLASSES
from keras_scaleattn.data import SYNTHETIC_REGION_NAMES
from keras_scaleattn.data import SyntheticObject
from keras_scaleattn.data import render_synthetic_image
from keras_scaleattn.data import sample_synthetic_objects
from keras_scaleattn.data import synthetic_scale_arrays
from keras_scaleattn.data import synthetic_region_maps
from keras_scaleattn.data import synthetic_regions
from keras_scaleattn.data import synthetic_scale_dataset
from keras_scaleattn.data.synthetic import LARGE_TINTS
from keras_scaleattn.data.synthetic import OBJECT_ON_DISC
from keras_scaleattn.data.synthetic import STRIPE_COLORS

H_STRIPES, V_STRIPES, WARM_DISC, COOL_DISC = 1, 2, 3, 4
ALL_STRIPE_COLORS = STRIPE_COLORS[H_STRIPES] + STRIPE_COLORS[V_STRIPES]


def _half(array):
    """The model's scale 0.5: align-corners resize of an odd size = [::2, ::2]."""
    return array[::2, ::2]


@pytest.fixture(scope="module")
def train_arrays():
    return synthetic_scale_arrays("train", num_examples=40, seed=0)


def test_class_names_and_shapes(train_arrays):
    images, labels = train_arrays
    assert SYNTHETIC_CLASS_NAMES == (
        "background", "h_stripes", "v_stripes", "warm_disc", "cool_disc"
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
    [(10, 20, 18, "square", 0), (11, 20, 19, "square", 1), (30, 31, 22, "disc", 0),
     (51, 40, 27, "disc", 1), (4, 5, 28, "square", 1)],
)
def test_small_objects_vanish_at_half_scale_and_differ_at_full_scale(
    top, left, size, shape, phase
):
    center = (top + (size - 1) / 2.0, left + (size - 1) / 2.0)
    colors = (STRIPE_COLORS[H_STRIPES][0], STRIPE_COLORS[V_STRIPES][1])
    h = SyntheticObject(H_STRIPES, center, size, shape, colors, phase)
    v = SyntheticObject(V_STRIPES, center, size, shape, colors, phase)
    h_image, h_label = render_synthetic_image([h], 129, seed=3)
    v_image, v_label = render_synthetic_image([v], 129, seed=3)
    empty, _ = render_synthetic_image([], 129, seed=3)

    # Half scale (the pixels the align-corners 0.5 resize keeps): both
    # objects are exactly the background.
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
    palettes = {cls: {tuple(c) for c in STRIPE_COLORS[cls]}
                for cls in (H_STRIPES, V_STRIPES)}
    for image, label in zip(images, labels):
        rows, cols = np.mgrid[:image.shape[0], :image.shape[1]]
        pixels = [tuple(p) for p in image.reshape(-1, 3)]
        colours = {cls: np.array([p in palette for p in pixels]).reshape(label.shape)
                   for cls, palette in palettes.items()}
        any_colour = colours[H_STRIPES] | colours[V_STRIPES]
        # Full scale: h stripes paint the odd rows, v stripes the odd
        # columns, each in its own class's palette.
        h, v = label == H_STRIPES, label == V_STRIPES
        assert colours[H_STRIPES][h & (rows % 2 == 1)].all()
        assert not any_colour[h & (rows % 2 == 0)].any()
        assert colours[V_STRIPES][v & (cols % 2 == 1)].all()
        assert not any_colour[v & (cols % 2 == 0)].any()
        # Half scale: no stripe colour is left anywhere.
        assert not _half(any_colour).any()


def _texture(background, row_shift, col_shift, size=129):
    """The background texture of the module docstring, written out: pixels
    with (row + row_shift, col + col_shift) both even are tinted warm, both
    odd tinted cool, the rest plain."""
    rows, cols = np.mgrid[:size, :size]
    r, c = (rows + row_shift) % 2, (cols + col_shift) % 2
    out = np.empty((size, size, 3))
    out[:] = background
    out[(r == 0) & (c == 0)] += LARGE_TINTS[WARM_DISC]
    out[(r == 1) & (c == 1)] += LARGE_TINTS[COOL_DISC]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_large_discs_are_camouflaged_at_full_scale_and_flat_at_half_scale(seed):
    background = (120.0, 110.0, 130.0)
    warm = SyntheticObject(WARM_DISC, (60.0, 70.0), 30.0)
    cool = SyntheticObject(COOL_DISC, (60.0, 70.0), 30.0)
    empty, _ = render_synthetic_image([], 129, seed=seed, background=background)
    warm_image, warm_label = render_synthetic_image(
        [warm], 129, seed=seed, background=background)
    cool_image, cool_label = render_synthetic_image(
        [cool], 129, seed=seed, background=background)
    rows, cols = np.mgrid[:129, :129]
    disc = np.hypot(rows - 60.0, cols - 70.0) <= 30.0
    np.testing.assert_array_equal(warm_label, np.where(disc, WARM_DISC, 0))
    np.testing.assert_array_equal(cool_label, np.where(disc, COOL_DISC, 0))

    # No noise: the background is the texture shifted by one row or one
    # column, so that its even-even pixels are plain.
    matches = [shift for shift in ((1, 0), (0, 1))
               if np.array_equal(empty, _texture(background, *shift))]
    assert len(matches) == 1
    np.testing.assert_array_equal(warm_image[~disc], empty[~disc])
    np.testing.assert_array_equal(cool_image[~disc], empty[~disc])
    # Full scale: a disc is the same texture with another shift (warm: none,
    # cool: one row and one column), so its colours are the background's
    # colours in the same proportions, and the two classes are one texture
    # shifted diagonally by one pixel.
    np.testing.assert_array_equal(warm_image[disc], _texture(background, 0, 0)[disc])
    np.testing.assert_array_equal(cool_image[disc], _texture(background, 1, 1)[disc])
    inner = disc & np.roll(disc, (1, 1), axis=(0, 1))
    np.testing.assert_array_equal(
        np.roll(warm_image, (1, 1), axis=(0, 1))[inner], cool_image[inner])
    # Half scale (align-corners = even pixels): the background is plain,
    # each disc flat in its class's tint.
    half_disc = _half(disc)
    np.testing.assert_array_equal(_half(empty), np.broadcast_to(background, (65, 65, 3)))
    for image, cls in ((warm_image, WARM_DISC), (cool_image, COOL_DISC)):
        np.testing.assert_array_equal(
            _half(image)[half_disc],
            np.broadcast_to(np.add(background, LARGE_TINTS[cls]), (half_disc.sum(), 3)))


def test_labels_are_exact_and_later_objects_are_drawn_on_top():
    square = SyntheticObject(
        H_STRIPES, (20.5, 30.5), 8, "square", STRIPE_COLORS[H_STRIPES][:2]
    )
    disc = SyntheticObject(V_STRIPES, (24.0, 34.0), 9, "disc",
                           STRIPE_COLORS[V_STRIPES][:2])
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
    assert STRIPE_COLORS[V_STRIPES][0] in overlap_colours
    assert STRIPE_COLORS[H_STRIPES][0] not in overlap_colours


def _footprint(obj, size=129):
    rows, cols = np.mgrid[:size, :size]
    if obj.shape == "disc" or obj.class_id in (WARM_DISC, COOL_DISC):
        return np.hypot(rows - obj.center[0], cols - obj.center[1]) <= obj.radius
    half = obj.size / 2.0
    return (np.abs(rows - obj.center[0]) < half) & (np.abs(cols - obj.center[1]) < half)


def _large_and_small(objects, counts):
    """Checks what every sampled image shares and splits its objects."""
    large = [o for o in objects if o.class_id in (WARM_DISC, COOL_DISC)]
    small = [o for o in objects if o.class_id in (H_STRIPES, V_STRIPES)]
    assert 1 <= len(large) <= 2
    assert objects == large + small  # large first, small on top
    assert all(24 <= o.size <= 48 for o in large)
    assert all(18 <= o.size <= 28 for o in small)
    # The stripe colour is drawn from the object's own class palette.
    assert all(o.colors[o.phase] in STRIPE_COLORS[o.class_id] for o in small)
    for o in objects:
        counts[o.class_id] += 1
    return large, small


def _assert_apart(objects):
    """Centres at least 0.8 x the sum of the radii apart."""
    for a, b in itertools.combinations(objects, 2):
        distance = np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1])
        assert distance >= 0.8 * (a.radius + b.radius) - 1e-6


def _assert_pairs_balanced(counts):
    """Each class of a pair is equally likely."""
    assert 0.4 < counts[1] / (counts[1] + counts[2]) < 0.6
    assert 0.4 < counts[3] / (counts[3] + counts[4]) < 0.6


def test_sampled_objects_follow_the_design():
    counts = {c: 0 for c in range(1, 5)}
    for i in range(150):
        objects = sample_synthetic_objects(np.random.default_rng(i), 129)
        large, small = _large_and_small(objects, counts)
        assert len(small) <= 7
        assert not any(o.decoy for o in objects)
        _assert_apart(objects)
    _assert_pairs_balanced(counts)


def test_sampled_markings_follow_the_design():
    counts = {c: 0 for c in range(1, 5)}
    decoys = {c: 0 for c in (H_STRIPES, V_STRIPES)}
    total_markings = total_discs = 0
    for i in range(150):
        objects = sample_synthetic_objects(np.random.default_rng(i), 129, markings=True)
        large, small = _large_and_small(objects, counts)
        assert len(small) <= 6 + 2 * len(large)
        footprints = {id(o): _footprint(o) for o in objects}
        markings, outer = 0, []
        for o in small:
            hosts = [d for d in large if (footprints[id(o)] & footprints[id(d)]).any()]
            if not hosts:
                assert not o.decoy  # off the discs: always an object
                outer.append(o)
                continue
            # A marking lies wholly on one disc, and is a decoy exactly when
            # its orientation does not match the disc's tint (h on warm and
            # v on cool are objects).
            (host,) = hosts
            assert not (footprints[id(o)] & ~footprints[id(host)]).any()
            assert o.decoy == (o.class_id != OBJECT_ON_DISC[host.class_id])
            markings += 1
            decoys[o.class_id] += o.decoy
        assert markings <= 2 * len(large) and len(outer) <= 6
        total_markings += markings
        total_discs += len(large)
        # Discs and the other small objects keep apart.
        _assert_apart(large + outer)
    # Each class of a pair is equally likely, and so is a decoy of each.
    _assert_pairs_balanced(counts)
    assert 0.35 < decoys[H_STRIPES] / (decoys[H_STRIPES] + decoys[V_STRIPES]) < 0.65
    assert sum(decoys.values()) > 75
    assert 1.1 < total_markings / total_discs <= 1.5  # 1-2 per disc, some dropped


def test_decoys_are_drawn_as_objects_but_keep_the_label_beneath():
    background = (110.0, 130.0, 120.0)
    for disc_class, object_class in OBJECT_ON_DISC.items():
        disc = SyntheticObject(disc_class, (60.0, 60.0), 40.0)
        alone, alone_label = render_synthetic_image(
            [disc], 129, seed=2, background=background)
        for small_class in (H_STRIPES, V_STRIPES):
            rendered = {}
            for decoy in (False, True):
                marking = SyntheticObject(small_class, (55.5, 62.5), 20, "square",
                                          STRIPE_COLORS[small_class][:1], decoy=decoy)
                rendered[decoy] = render_synthetic_image(
                    [disc, marking], 129, seed=2, background=background)
            (image, label), (decoy_image, decoy_label) = rendered[False], rendered[True]
            square = np.zeros((129, 129), bool)
            square[46:66, 53:73] = True
            # Same pixels; the decoy's pixels keep the disc's label.
            np.testing.assert_array_equal(decoy_image, image)
            np.testing.assert_array_equal(decoy_label, alone_label)
            np.testing.assert_array_equal(label, np.where(square, small_class, alone_label))
            # Scale 0.5 cannot tell an object, a decoy and a bare disc apart.
            np.testing.assert_array_equal(_half(image), _half(alone))


def test_region_maps_tell_decoys_from_objects_on_the_same_images():
    assert SYNTHETIC_REGION_NAMES == (
        "background", "small_object", "object_on_disc", "decoy", "bare_disc")
    images, labels = synthetic_scale_arrays("val", num_examples=30, seed=3, markings=True)
    regions = synthetic_region_maps("val", num_examples=30, seed=3, markings=True)
    assert regions.shape == labels.shape and regions.dtype == np.uint8
    # Region and label agree: background and objects keep their class; a
    # decoy is labelled as its disc, like a bare disc.
    np.testing.assert_array_equal(labels[regions == 0], 0)
    assert set(np.unique(labels[regions == 1])) == {H_STRIPES, V_STRIPES}
    assert set(np.unique(labels[regions == 2])) == {H_STRIPES, V_STRIPES}
    assert set(np.unique(labels[regions == 3])) == {WARM_DISC, COOL_DISC}
    assert set(np.unique(labels[regions == 4])) == {WARM_DISC, COOL_DISC}
    # Decoys and objects on discs carry stripes (their pixels differ from
    # the disc's texture at full scale), in every region map.
    assert (regions == 3).any() and (regions == 2).any()
    # An object on a disc is h on warm or v on cool (read at scale 0.5,
    # where the pixel shows its disc's tint on the plain background colour
    # N); a decoy the other way round, labelled as its disc.
    checked = 0
    for image, label, region in zip(images, labels, regions):
        half, half_region, half_label = (_half(a) for a in (image, region, label))
        plain = half[half_region == 0][0].astype(int)  # N
        np.testing.assert_array_equal(half[half_region == 0], np.broadcast_to(
            plain, ((half_region == 0).sum(), 3)))
        for pixel in zip(*np.nonzero((half_region == 2) | (half_region == 3))):
            warm = half[pixel][0] > plain[0]  # warm: +20 red, cool: -20
            if half_region[pixel] == 2:
                assert half_label[pixel] == (H_STRIPES if warm else V_STRIPES)
            else:
                assert half_label[pixel] == (WARM_DISC if warm else COOL_DISC)
            checked += 1
    assert checked > 100


def test_without_markings_there_are_no_decoys():
    regions = synthetic_region_maps("val", num_examples=20, seed=3)
    # No decoys; a small object that overlaps a disc's edge counts as on it.
    assert not (regions == 3).any()
    assert (regions == 1).any() and (regions == 4).any()
    # The markings change the images, not the stream's other draws' seeds.
    plain = synthetic_scale_arrays("val", num_examples=2, image_size=97)
    marked = synthetic_scale_arrays("val", num_examples=2, image_size=97, markings=True)
    assert not np.array_equal(plain[1], marked[1])


def test_synthetic_regions_of_given_objects():
    disc = SyntheticObject(COOL_DISC, (60.0, 60.0), 40.0)
    on_disc = SyntheticObject(V_STRIPES, (50.0, 50.0), 12, "square")
    decoy = SyntheticObject(H_STRIPES, (70.0, 70.0), 12, "square", decoy=True)
    off = SyntheticObject(H_STRIPES, (10.0, 120.0), 10, "square")
    regions = synthetic_regions([disc, on_disc, decoy, off], 129)
    assert regions[50, 50] == 2 and regions[70, 70] == 3
    assert regions[10, 120] == 1 and regions[60, 90] == 4 and regions[0, 0] == 0


def test_bad_arguments_raise_value_error_naming_them():
    for kwargs, name in [
        (dict(image_size=96), "image_size"),
        (dict(split="dev"), "split"),
        (dict(num_examples=0), "num_examples"),
        (dict(seed=-1), "seed"),
        (dict(markings="yes"), "markings"),
    ]:
        with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
            synthetic_scale_arrays(**kwargs)
    with pytest.raises(ValueError, match="Received: class_id=7"):
        SyntheticObject(7, (1.0, 1.0), 5)
    with pytest.raises(ValueError, match="`decoy`.*Received: decoy=True"):
        SyntheticObject(WARM_DISC, (1.0, 1.0), 5, decoy=True)
