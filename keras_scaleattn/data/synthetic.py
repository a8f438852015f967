"""Built-in synthetic multi-scale dataset: the best scale depends on the object.

Attention to scale (Chen et al., CVPR 2016) pays off when no single scale is
best everywhere: the paper's attention maps put weight on scale 1 for small
objects and on scale 0.5 for large ones (PAPER.md, "Ablations"). This dataset
builds that situation on purpose, in small images that train in minutes on a
CPU, so that per-pixel attention can be shown to beat a single scale and the
max / average merges. Five classes (`SYNTHETIC_CLASS_NAMES`):

0. `background`: a flat colour with low-contrast Gaussian noise (sigma 5).
   Nothing in it tells objects apart.
1. `h_stripes` and 2. `v_stripes`: SMALL objects (squares or discs of side
   10-18 px, one or two pixels of the trunk's stride-8 output) painted with two
   colours alternating with a period of 2 px, by rows (h) or by columns (v).
   Everything else (shape, size, the two colours, the stripe phase) has the
   same distribution in both classes, and they carry no noise. The model makes
   scale 0.5 with an align-corners resize (output size `(n - 1) * 0.5 + 1`), so
   for odd `n` pixel `i` of the half image is pixel `2i` of the original: both
   classes become the same flat patch of one colour (`img[::2, ::2]`). They can
   only be told apart at scale 1.
3. `warm_ring` and 4. `cool_ring`: LARGE discs (radius 24-48 px in a 129 px
   image, scaled with `image_size`) whose interior is a one-pixel checkerboard
   of orange and azure; the class is the checkerboard's phase: the class's own
   colour sits on the pixels whose row + column is even. At scale 1 both
   classes show the same orange/azure dither, shifted by one pixel, which a
   shift-equivariant network could only tell apart by counting pixels from
   the image border. At scale 0.5 the align-corners resize keeps exactly the
   even pixels: one class becomes flat orange, the other flat azure. They are
   meant as the mirror image of the small classes. (Measured: VGG's stride-2
   max pools are not shift-equivariant, and with the interior's pixel noise
   a trained trunk does read the phase at scale 1; so the fine scale is
   weaker than the coarse one on these discs but not blind. See
   docs/results.md, "Making scale 1 blind to the large discs".) A 4 px ring of a random,
   class-independent colour outlines each disc; the ring belongs to the object.

Each image has 1-2 large and 3-6 small objects at random positions; objects
may overlap mildly (centres at least 0.8 x the sum of their radii apart), later
ones (small after large) drawn on top, and labels are exact (a pixel's label
is the class of the last object covering it). Sizes are at least 97 px (the
trunk's stride 8 and the 0.5 scale need room); 8k + 1 sizes (97, 129, 161, ...)
suit the model's align-corners pyramid best. There is no ignore label.

Reproducible: example `i` of a split is drawn from
`numpy.random.default_rng([seed, split_id, i])`, so train / val / test are
independent streams and the first `k` examples do not depend on
`num_examples`.
"""

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

SYNTHETIC_CLASS_NAMES = (
    "background",
    "h_stripes",
    "v_stripes",
    "warm_ring",
    "cool_ring",
)
SYNTHETIC_NUM_CLASSES = len(SYNTHETIC_CLASS_NAMES)

SMALL_CLASSES = (1, 2)
LARGE_CLASSES = (3, 4)
# Side length in pixels of small objects (independent of image size: the
# stripe period is what matters).
SMALL_SIZE_RANGE = (10, 18)
# Radius of large objects in a 129 px image; scaled with the image size.
LARGE_RADIUS_RANGE = (24.0, 48.0)
RING_WIDTH = 4
MIN_IMAGE_SIZE = 97

# The two dither colours of large discs; a class's own colour is on the even
# pixels (row + column even), the one the 0.5 scale keeps.
RING_COLORS = {3: (255, 140, 0), 4: (0, 170, 255)}
# Stripe colours of small objects: saturated, and none is a ring colour.
STRIPE_PALETTE = (
    (230, 30, 30),
    (30, 200, 30),
    (40, 40, 230),
    (240, 240, 240),
    (20, 20, 20),
    (230, 60, 230),
)

_SPLITS = {"train": 0, "val": 1, "test": 2}
_DEFAULT_NUM_EXAMPLES = {"train": 1000, "val": 200, "test": 200}
_BACKGROUND_NOISE = 5.0
_INTERIOR_NOISE = 8.0
_RING_NOISE = 8.0
# Centres of two objects are at least this times the sum of radii apart.
_MIN_SEPARATION = 0.8
_MAX_PLACEMENT_TRIES = 50


@dataclasses.dataclass(frozen=True)
class SyntheticObject:
    """One object of the synthetic multi-scale dataset.

    Args:
        class_id: int. 1 `h_stripes`, 2 `v_stripes` (small, striped),
            3 `warm_ring`, 4 `cool_ring` (large, ringed).
        center: pair of floats `(row, col)` in pixels.
        size: float. Small objects: side length (square) or diameter (disc)
            in pixels. Large objects: outer radius in pixels.
        shape: str. `"square"` or `"disc"` (small objects; large objects are
            always discs). Defaults to `"disc"`.
        colors: tuple of RGB triples. Small objects: the two stripe colours
            `(A, B)`; large objects: `(interior,)`. Defaults to white/black.
        phase: int, 0 or 1. Small objects: rows (h) or columns (v) with
            `(index + phase) % 2 == 0` get colour A. Defaults to 0.

    Example:

    >>> obj = SyntheticObject(class_id=1, center=(10.5, 20.5), size=8, shape="square")
    >>> image, label = render_synthetic_image([obj], image_size=97, seed=0)
    >>> int((label == 1).sum())
    64
    """

    class_id: int
    center: tuple
    size: float
    shape: str = "disc"
    colors: tuple = ((255, 255, 255), (0, 0, 0))
    phase: int = 0

    def __post_init__(self):
        if self.class_id not in SMALL_CLASSES + LARGE_CLASSES:
            raise ValueError(
                "`class_id` must be one of 1, 2 (small) or 3, 4 (large). "
                f"Received: class_id={self.class_id!r}"
            )
        if self.shape not in ("square", "disc"):
            raise ValueError(
                "`shape` must be 'square' or 'disc'. "
                f"Received: shape={self.shape!r}"
            )
        if not self.size > 0:
            raise ValueError(
                f"`size` must be positive. Received: size={self.size!r}"
            )
        if self.phase not in (0, 1):
            raise ValueError(
                f"`phase` must be 0 or 1. Received: phase={self.phase!r}"
            )

    @property
    def radius(self):
        """Half the extent in pixels (for the overlap rule)."""
        if self.class_id in LARGE_CLASSES:
            return float(self.size)
        return float(self.size) / 2.0


def _object_mask(obj, rows, cols):
    """Boolean footprint of `obj` on the pixel grid."""
    cy, cx = obj.center
    if obj.class_id in LARGE_CLASSES or obj.shape == "disc":
        return (rows - cy) ** 2 + (cols - cx) ** 2 <= obj.radius**2
    half = obj.size / 2.0
    return (np.abs(rows - cy) < half) & (np.abs(cols - cx) < half)


def render_synthetic_image(objects, image_size=129, *, seed=0, background=None):
    """Draws objects of the synthetic dataset on a noisy background.

    Objects are drawn in order, each on top of the previous ones; the label
    of a pixel is the class of the last object covering it (0 if none).

    Args:
        objects: sequence of `SyntheticObject`.
        image_size: int >= 97. Height and width. Defaults to 129.
        seed: int or `numpy.random.Generator`. Noise and, if `background` is
            None, the background colour. Defaults to 0.
        background: RGB triple or None. Background colour; None draws one
            uniformly in [90, 160] per channel. Defaults to None.

    Returns:
        `(image, label)`: uint8 `[S, S, 3]` and uint8 `[S, S]`.

    Raises:
        ValueError: if `image_size` is below 97 or an object is not a
            `SyntheticObject`.

    Example:

    >>> ring = SyntheticObject(class_id=3, center=(64, 64), size=30, colors=((90, 90, 90),))
    >>> image, label = render_synthetic_image([ring], seed=1)
    >>> image.shape, label.dtype, int(label[64, 64]), int(label[0, 0])
    ((129, 129, 3), dtype('uint8'), 3, 0)
    """
    image_size = _check_image_size(image_size)
    if isinstance(seed, np.random.Generator):
        rng = seed
    else:
        rng = np.random.default_rng(seed)
    if background is None:
        background = rng.uniform(90.0, 160.0, size=3)
    shape = (image_size, image_size)
    image = np.empty(shape + (3,), np.float32)
    image[:] = np.asarray(background, np.float32)
    image += rng.normal(0.0, _BACKGROUND_NOISE, size=shape + (3,))
    background_image = image.copy()
    label = np.zeros(shape, np.uint8)
    rows, cols = np.meshgrid(
        np.arange(image_size, dtype=np.float32),
        np.arange(image_size, dtype=np.float32),
        indexing="ij",
    )
    for obj in objects:
        if not isinstance(obj, SyntheticObject):
            raise ValueError(
                "`objects` must hold SyntheticObject instances. "
                f"Received: an object of type {type(obj).__name__}"
            )
        mask = _object_mask(obj, rows, cols)
        if obj.class_id in SMALL_CLASSES:
            # Stripe phase is tied to absolute image coordinates, so that the
            # align-corners half image (even rows and columns) sees colour A
            # for both classes when phase is 0 and colour B when it is 1.
            # The stripes on the pixels the half image keeps are background
            # (same colour, same noise): at scale 0.5 a small object is gone,
            # so the coarse scale confidently calls it background.
            # (`phase` only picks which palette colour paints the odd lines.)
            index = rows if obj.class_id == 1 else cols
            use_a = (index.astype(np.int64) % 2) == 0
            color_b = np.asarray(obj.colors[obj.phase], np.float32)
            paint = np.where(use_a[..., None], background_image, color_b)
            image[mask] = paint[mask]
        else:
            # A one-pixel checkerboard of both ring colours whose phase is
            # the class: pixels with an even row + column sum wear the
            # class's own colour. At scale 1 both classes show the same
            # orange/azure dither; the align-corners half image keeps exactly
            # the even pixels, so there one class is flat orange, the other
            # flat azure. A thin neutral ring outlines every large disc.
            cy, cx = obj.center
            distance = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
            ring = mask & (distance > obj.radius - RING_WIDTH)
            interior = mask & ~ring
            own = np.asarray(RING_COLORS[obj.class_id], np.float32)
            other = np.asarray(
                RING_COLORS[LARGE_CLASSES[0] + LARGE_CLASSES[1] - obj.class_id],
                np.float32)
            even = ((rows.astype(np.int64) + cols.astype(np.int64)) % 2) == 0
            paint = np.where(even[..., None], own, other)
            image[interior] = paint[interior] + rng.normal(
                0.0, _INTERIOR_NOISE, size=(int(interior.sum()), 3)
            )
            image[ring] = np.asarray(obj.colors[0], np.float32) + rng.normal(
                0.0, _RING_NOISE, size=(int(ring.sum()), 3)
            )
        label[mask] = obj.class_id
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return image, label


def _far_enough(center, radius, placed):
    for other_center, other_radius in placed:
        distance = np.hypot(
            center[0] - other_center[0], center[1] - other_center[1]
        )
        if distance < _MIN_SEPARATION * (radius + other_radius):
            return False
    return True


def sample_synthetic_objects(rng, image_size=129):
    """Draws the objects of one random synthetic image.

    1-2 large ringed discs, then 3-6 small striped squares or discs, each
    placed by rejection sampling (up to 50 tries; an object that does not fit
    is dropped). Every attribute except the class is drawn before the class,
    from the same distribution for both classes of a pair.

    Args:
        rng: `numpy.random.Generator`.
        image_size: int >= 97. Defaults to 129.

    Returns:
        list of `SyntheticObject`, large ones first.

    Raises:
        ValueError: if `image_size` is below 97.

    Example:

    >>> objects = sample_synthetic_objects(np.random.default_rng(0))
    >>> sorted({o.class_id in (3, 4) for o in objects})
    [False, True]
    """
    image_size = _check_image_size(image_size)
    scale = image_size / 129.0
    low_r, high_r = (r * scale for r in LARGE_RADIUS_RANGE)
    placed, objects = [], []
    for _ in range(int(rng.integers(1, 3))):
        for _ in range(_MAX_PLACEMENT_TRIES):
            radius = float(rng.uniform(low_r, high_r))
            low_c, high_c = radius / 2, image_size - 1 - radius / 2
            center = tuple(float(c) for c in rng.uniform(low_c, high_c, size=2))
            interior = tuple(int(c) for c in rng.integers(50, 211, size=3))
            class_id = int(rng.choice(LARGE_CLASSES))
            if _far_enough(center, radius, placed):
                placed.append((center, radius))
                objects.append(SyntheticObject(
                    class_id, center, radius, "disc", (interior,)
                ))
                break
    low_s, high_s = SMALL_SIZE_RANGE
    for _ in range(int(rng.integers(3, 7))):
        for _ in range(_MAX_PLACEMENT_TRIES):
            size = int(rng.integers(low_s, high_s + 1))
            shape = ("square", "disc")[int(rng.integers(2))]
            top, left = (
                int(v) for v in rng.integers(0, image_size - size + 1, size=2)
            )
            center = (top + (size - 1) / 2.0, left + (size - 1) / 2.0)
            first, second = rng.choice(
                len(STRIPE_PALETTE), size=2, replace=False
            )
            colors = (STRIPE_PALETTE[first], STRIPE_PALETTE[second])
            phase = int(rng.integers(2))
            class_id = int(rng.choice(SMALL_CLASSES))
            if _far_enough(center, size / 2.0, placed):
                placed.append((center, size / 2.0))
                objects.append(SyntheticObject(
                    class_id, center, size, shape, colors, phase
                ))
                break
    return objects


def _check_image_size(image_size):
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, numbers.Integral)
        or image_size < MIN_IMAGE_SIZE
    ):
        raise ValueError(
            f"`image_size` must be an int >= {MIN_IMAGE_SIZE}. "
            f"Received: image_size={image_size!r}"
        )
    return int(image_size)


def _check_split(split):
    if split not in _SPLITS:
        raise ValueError(
            f"`split` must be one of {list(_SPLITS)}. Received: split={split!r}"
        )
    return split


def synthetic_scale_arrays(
    split="train", num_examples=None, image_size=129, seed=0
):
    """The synthetic multi-scale dataset as NumPy arrays.

    Args:
        split: str. `"train"`, `"val"` or `"test"` (independent streams).
            Defaults to `"train"`.
        num_examples: positive int or None. Defaults to 1000 for train and
            200 for val and test.
        image_size: int >= 97. Height and width of every image. Defaults to
            129.
        seed: int >= 0. Defaults to 0.

    Returns:
        `(images, labels)`: uint8 `[N, S, S, 3]` RGB and uint8 `[N, S, S]`
        class ids in `0..SYNTHETIC_NUM_CLASSES - 1`.

    Raises:
        ValueError: for an unknown `split`, a `num_examples` that is not a
            positive int, an `image_size` below 97 or a negative `seed`.

    Example:

    >>> images, labels = synthetic_scale_arrays("val", num_examples=2, image_size=97)
    >>> images.shape, labels.shape, images.dtype
    ((2, 97, 97, 3), (2, 97, 97), dtype('uint8'))
    """
    split = _check_split(split)
    image_size = _check_image_size(image_size)
    if num_examples is None:
        num_examples = _DEFAULT_NUM_EXAMPLES[split]
    if (
        isinstance(num_examples, bool)
        or not isinstance(num_examples, numbers.Integral)
        or num_examples < 1
    ):
        raise ValueError(
            "`num_examples` must be a positive int or None. "
            f"Received: num_examples={num_examples!r}"
        )
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 0
    ):
        raise ValueError(f"`seed` must be an int >= 0. Received: seed={seed!r}")
    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    labels = np.empty((num_examples, image_size, image_size), np.uint8)
    for i in range(num_examples):
        rng = np.random.default_rng([int(seed), _SPLITS[split], i])
        objects = sample_synthetic_objects(rng, image_size)
        images[i], labels[i] = render_synthetic_image(
            objects, image_size, seed=rng
        )
    return images, labels


def synthetic_scale_dataset(
    split="train", num_examples=None, image_size=129, seed=0
):
    """The synthetic multi-scale dataset as a source `tf.data.Dataset`.

    See the module docstring for the design. Same arguments and examples as
    `synthetic_scale_arrays`.

    Args:
        split: str. `"train"`, `"val"` or `"test"`. Defaults to `"train"`.
        num_examples: positive int or None. Defaults to 1000 for train and
            200 for val and test.
        image_size: int >= 97. Defaults to 129.
        seed: int >= 0. Defaults to 0.

    Returns:
        `tf.data.Dataset` of `(image uint8 [S, S, 3], label uint8 [S, S])`.

    Raises:
        ValueError: as `synthetic_scale_arrays`.

    Example:

    >>> ds = synthetic_scale_dataset("train", num_examples=3, image_size=97)
    >>> ds.element_spec[0].shape, int(ds.cardinality())
    (TensorShape([97, 97, 3]), 3)
    """
    images, labels = synthetic_scale_arrays(
        split, num_examples, image_size, seed
    )
    return tf.data.Dataset.from_tensor_slices((images, labels))
