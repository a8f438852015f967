"""Built-in synthetic multi-scale dataset: the best scale depends on the object.

Attention to scale (Chen et al., CVPR 2016) pays off when no single scale is
best everywhere: the paper's attention maps put weight on scale 1 for small
objects and on scale 0.5 for large ones (PAPER.md, "Ablations"). This dataset
builds that situation on purpose, in small images that train in minutes on a
CPU, so that per-pixel attention can be shown to beat a single scale and the
max / average merges. Each object class is plain at one scale and
camouflaged as background at the other: the small ones are gone at scale
0.5, and the large ones, camouflaged at scale 1, take a scale-1 network far
longer to learn (see below). Five classes (`SYNTHETIC_CLASS_NAMES`):

0. `background`: a fine texture without noise. Take a random colour `N`
   (uniform in [90, 160] per channel). The pixels whose row + column is odd
   are tinted, in a checkerboard of their own: `N` tinted warm
   (`N + (20, 0, -20)`) and `N` tinted cool (`N + (-20, 0, 20)`); the
   pixels whose row + column is even are plain `N`. The model makes scale
   0.5 with an align-corners resize (output size `(n - 1) * 0.5 + 1`), so
   for odd `n` pixel `i` of the half image is pixel `2i` of the original
   (`img[::2, ::2]`): at scale 0.5 the background is plain `N`.
1. `h_stripes` and 2. `v_stripes`: SMALL objects (squares or discs of side
   18-28 px, two to four pixels of the trunk's stride-8 output): stripes on
   the odd rows (h) or the odd columns (v), in a saturated colour of the
   class's own palette (`STRIPE_COLORS`: red, blue or black for h; green,
   white or magenta for v); the even rows / columns show the texture
   beneath. At scale 1 they are obvious; at scale 0.5, which keeps only even
   rows and columns, they are gone: the half image is the texture beneath,
   pixel for pixel, so the coarse scale takes them for background.
3. `warm_disc` and 4. `cool_disc`: LARGE discs (radius 24-48 px in a 129 px
   image, scaled with `image_size`) made of the background's own texture
   shifted by one pixel, so that the tinted pixels are those whose row +
   column is even; the class is the tint on the pixels the half image keeps
   (even row and column): warm for `warm_disc`, cool for `cool_disc`. At
   scale 1 a disc is camouflaged: the background texture, shifted by one
   pixel, with only a faint seam at its outline, and its two classes are
   the same texture shifted by one pixel (diagonally). At scale 0.5 it is
   a flat disc of `N` tinted warm or cool on plain `N`: obvious. Unlike the
   small classes at scale 0.5, this is no true blindness: the half image is
   a subsample of the full one and the trunk's receptive field covers the
   whole image, so scale 1 holds everything scale 0.5 sees, and a network
   can learn the one-pixel phase at scale 1 too, only slowly (a single-scale
   model: disc IoU about 33 after the main job's 1000 updates, 90-93 after
   2000; docs/results.md). The images have no pixel noise on purpose:
   with i.i.d. noise a scale-1-only model labels the discs within the
   main job's 1000 updates already (measured, docs/results.md: presumably
   through its 3x3, stride-2 max pools, each window holding the four pixel
   parities 1, 2, 2 and 4 times, where the max of more noisy samples is
   larger).

Markings (optional: `markings=True`; `data.train_source_kwargs` and
`data.eval_source_kwargs` of a config, as `synthetic_markings.yaml`). Each
large disc also carries 1-2 small striped objects (h or v, drawn as above).
Whether such an object is an object or a marking of the disc depends on both
scales: an h object on a warm disc and a v object on a cool disc are objects
(labelled `h_stripes` / `v_stripes`); an h object on a cool disc and a v
object on a warm disc are *decoys*, markings labelled as the disc beneath.
Scale 1 sees the stripes but (until it has learnt the camouflage, see
above) not the disc's tint, so an h pattern is
`h_stripes` or `cool_disc` to it; scale 0.5 sees the tint but not the
stripes, so a warm disc is `warm_disc` or `h_stripes` to it. The label is
the class both scales allow, and which scale holds it depends on what the
other scale sees: scale 1 where pattern and tint agree, scale 0.5 where they
do not. Attention computes its weights from both scales' features and can
make that choice; a max keeps each scale's own best guesses, and an average
can reach the label only by spreading each scale's scores over both of its
candidates in the right proportions (measured in docs/results.md).

So a merge that trusts scale 1 misses the large discs and one that trusts
scale 0.5 misses the small objects; an average blurs the two, and a max
works only as far as the informed scale is the more confident one. Each
image has 1-2 large and 4-7 small objects at random positions (with
markings: 1-2 large discs with their 1-2 markings each and 3-6 other small
objects, clear of the large discs); objects may overlap mildly (centres at
least 0.8 x the sum of their radii apart), later ones (small after large)
drawn on top, and labels are exact (a pixel's label is the class of the last
object covering it, a decoy counting as the disc beneath it). Sizes are at
least 97 px (the trunk's stride 8 and the 0.5 scale need room); 8k + 1 sizes
(97, 129, 161, ...) suit the model's align-corners pyramid best. There is no
ignore label.

Reproducible: example `i` of a split is drawn from
`numpy.random.default_rng([seed, split_id, i])`, so train / val / test are
independent streams and the first `k` examples do not depend on
`num_examples`.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_scaleattn.data.validation import check_int

SYNTHETIC_CLASS_NAMES = (
    "background",
    "h_stripes",
    "v_stripes",
    "warm_disc",
    "cool_disc",
)
SYNTHETIC_NUM_CLASSES = len(SYNTHETIC_CLASS_NAMES)
# The regions of `synthetic_region_maps`: where each kind of object lies.
SYNTHETIC_REGION_NAMES = (
    "background",
    "small_object",    # a small object off the large discs
    "object_on_disc",  # a small object on a disc (a marking that is one)
    "decoy",           # a marking labelled as its disc
    "bare_disc",       # the rest of a large disc
)

SMALL_CLASSES = (1, 2)
LARGE_CLASSES = (3, 4)
# Side length in pixels of small objects (independent of image size: the
# stripe period is what matters). At least two output pixels of the stride-8
# score map: with 10-18 px objects (one or two output pixels) no merge got
# beyond 40 IoU on them (docs/results.md).
SMALL_SIZE_RANGE = (18, 28)
# Number of small objects per image (fewer if they do not fit); with
# markings, the number off the large discs and the number on each disc.
SMALL_COUNT_RANGE = (4, 7)
MARKED_SMALL_COUNT_RANGE = (3, 6)
MARKING_COUNT_RANGE = (1, 2)
# The small class that is an object on each large class (the other one is
# a decoy there): h on warm, v on cool.
OBJECT_ON_DISC = {3: 1, 4: 2}
# Radius of large objects in a 129 px image; scaled with the image size.
LARGE_RADIUS_RANGE = (24.0, 48.0)
MIN_IMAGE_SIZE = 97

# The tint (added to the background colour) each large class shows at
# scale 0.5, on the even pixels; at scale 1 the background has both tints too.
LARGE_TINTS = {3: (20.0, 0.0, -20.0), 4: (-20.0, 0.0, 20.0)}
# Stripe colours of each small class: saturated, far from any background.
# The colour tells the class as well as the orientation does: with one
# palette shared by both classes, the 1/8-width trunk separated them poorly
# within the main job's 1000 updates (docs/results.md).
STRIPE_COLORS = {
    1: ((230, 30, 30), (40, 40, 230), (20, 20, 20)),
    2: ((30, 200, 30), (240, 240, 240), (230, 60, 230)),
}

_SPLITS = {"train": 0, "val": 1, "test": 2}
_DEFAULT_NUM_EXAMPLES = {"train": 1000, "val": 200, "test": 200}
# Centres of two objects are at least this times the sum of radii apart.
_MIN_SEPARATION = 0.8
_MAX_PLACEMENT_TRIES = 50


@dataclasses.dataclass(frozen=True)
class SyntheticObject:
    """One object of the synthetic multi-scale dataset.

    Args:
        class_id: int. 1 `h_stripes`, 2 `v_stripes` (small, striped),
            3 `warm_disc`, 4 `cool_disc` (large, camouflaged discs).
        center: pair of floats `(row, col)` in pixels.
        size: float. Small objects: side length (square) or diameter (disc)
            in pixels. Large objects: outer radius in pixels.
        shape: str. `"square"` or `"disc"` (small objects; large objects are
            always discs). Defaults to `"disc"`.
        colors: tuple of RGB triples. Small objects: two candidate stripe
            colours `(A, B)`; unused by large objects. Defaults to
            white/black.
        phase: int, 0 or 1. Small objects: the stripes are painted in
            `colors[phase]`. Defaults to 0.
        decoy: bool. Small objects only: drawn as usual but labelled as
            the large disc beneath it, or background (a marking of a large
            disc, module docstring). Defaults to False.

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
    decoy: bool = False

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
        if self.decoy and self.class_id not in SMALL_CLASSES:
            raise ValueError(
                "`decoy` must be False for large objects "
                f"(class_id={self.class_id}). Received: decoy={self.decoy!r}"
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
    """Draws objects of the synthetic dataset on the textured background.

    Objects are drawn in order, each on top of the previous ones; the label
    of a pixel is the class of the last object covering it (0 if none),
    where a decoy counts as the large disc beneath it (or background).

    Args:
        objects: sequence of `SyntheticObject`.
        image_size: int >= 97. Height and width. Defaults to 129.
        seed: int or `numpy.random.Generator`. The background's phase
            and, if `background` is None, its colour. Defaults to 0.
        background: RGB triple or None. Background colour `N` (module
            docstring); None draws one uniformly in [90, 160] per channel.
            Defaults to None.

    Returns:
        `(image, label)`: uint8 `[S, S, 3]` and uint8 `[S, S]`.

    Raises:
        ValueError: if `image_size` is below 97 or an object is not a
            `SyntheticObject`.

    Example:

    >>> disc = SyntheticObject(class_id=3, center=(64, 64), size=30)
    >>> image, label = render_synthetic_image([disc], seed=1)
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
    background = np.asarray(background, np.float32).reshape(3)
    # Colour of texture cell (row parity, column parity): the background
    # colour tinted warm on cell (0, 0) and cool on cell (1, 1), plain on
    # the other two.
    warm, cool = (background + np.asarray(LARGE_TINTS[c], np.float32)
                  for c in LARGE_CLASSES)
    tile = np.stack([np.stack([warm, background]),
                     np.stack([background, cool])])
    shape = (image_size, image_size)
    rows, cols = np.meshgrid(
        np.arange(image_size, dtype=np.float32),
        np.arange(image_size, dtype=np.float32),
        indexing="ij",
    )
    int_rows, int_cols = rows.astype(np.int64), cols.astype(np.int64)
    # Texture phase (row shift, column shift) of every pixel. The background
    # is shifted by one row or by one column (at random), so that the pixels
    # the half image keeps (even row, even column) are plain. No pixel
    # noise, on purpose (module docstring).
    shift = int(rng.integers(2))
    row_shift = np.full(shape, shift, np.int64)
    col_shift = np.full(shape, 1 - shift, np.int64)
    label = np.zeros(shape, np.uint8)
    # The labels of the large discs alone: what a decoy is labelled as.
    large_label = np.zeros(shape, np.uint8)
    masks = []
    for obj in objects:
        if not isinstance(obj, SyntheticObject):
            raise ValueError(
                "`objects` must hold SyntheticObject instances. "
                f"Received: an object of type {type(obj).__name__}"
            )
        mask = _object_mask(obj, rows, cols)
        masks.append(mask)
        if obj.class_id in LARGE_CLASSES:
            # The background's texture shifted by one pixel: at scale 1 a
            # large disc is camouflaged, only a seam outlines it; its even
            # pixels wear the class's tint.
            shift = LARGE_CLASSES.index(obj.class_id)
            row_shift[mask] = shift
            col_shift[mask] = shift
        if obj.decoy:
            label[mask] = large_label[mask]
        else:
            label[mask] = obj.class_id
        if obj.class_id in LARGE_CLASSES:
            large_label[mask] = obj.class_id
    texture = tile[(int_rows + row_shift) % 2, (int_cols + col_shift) % 2]
    image = texture.copy()
    for obj, mask in zip(objects, masks):
        if obj.class_id in SMALL_CLASSES:
            # Stripes on the odd rows (h) or columns (v) only; the even ones
            # show the texture beneath (background or large disc, not an
            # earlier small object), so that the half image (even rows and
            # columns) does not see the object at all: at scale 0.5 a small
            # object is gone. (`phase` picks which of the two palette
            # colours paints the stripes.)
            index = int_rows if obj.class_id == 1 else int_cols
            odd = mask & ((index % 2) == 1)
            image[mask] = texture[mask]
            image[odd] = np.asarray(obj.colors[obj.phase], np.float32)
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


def _inside(center, disc, margin):
    """Whether `center` is within `disc.radius - margin` of the disc's centre."""
    distance = np.hypot(center[0] - disc.center[0], center[1] - disc.center[1])
    return distance <= disc.radius - margin


def _small_attributes(rng, image_size):
    """Size, shape, top-left-based centre, palette index and class of a
    small object (every attribute before the class: the same distribution
    for both classes)."""
    low_s, high_s = SMALL_SIZE_RANGE
    size = int(rng.integers(low_s, high_s + 1))
    shape = ("square", "disc")[int(rng.integers(2))]
    top, left = (int(v) for v in rng.integers(0, image_size - size + 1, size=2))
    center = (top + (size - 1) / 2.0, left + (size - 1) / 2.0)
    color_index = int(rng.integers(len(STRIPE_COLORS[1])))
    class_id = int(rng.choice(SMALL_CLASSES))
    return size, shape, center, STRIPE_COLORS[class_id][color_index], class_id


def sample_synthetic_objects(rng, image_size=129, markings=False):
    """Draws the objects of one random synthetic image.

    1-2 large camouflaged discs, then 4-7 small striped squares or discs.
    With `markings`, each large disc carries 1-2 small striped objects, h
    or v at random, which are decoys where their orientation does not match
    the disc's tint (`OBJECT_ON_DISC`: h on warm and v on cool are objects),
    and 3-6 other small objects are kept clear of the large discs. Each
    object is placed by rejection sampling (up to 50 tries; an object that
    does not fit is dropped): markings lie wholly on their own disc and off
    the other one. Every attribute except the class is drawn before the
    class, from the same distribution for both classes of a pair; a small
    object's stripe colour is then the drawn entry of its class's palette
    (`STRIPE_COLORS`).

    Args:
        rng: `numpy.random.Generator`.
        image_size: int >= 97. Defaults to 129.
        markings: bool. Add the markings (module docstring). Defaults to
            False.

    Returns:
        list of `SyntheticObject`: large discs, then their markings, then
        the other small objects.

    Raises:
        ValueError: if `image_size` is below 97.

    Example:

    >>> objects = sample_synthetic_objects(np.random.default_rng(0))
    >>> objects[0].class_id in (3, 4), objects[-1].class_id in (1, 2)
    (True, True)
    """
    image_size = _check_image_size(image_size)
    scale = image_size / 129.0
    low_r, high_r = (r * scale for r in LARGE_RADIUS_RANGE)
    placed, discs = [], []
    for _ in range(int(rng.integers(1, 3))):
        for _ in range(_MAX_PLACEMENT_TRIES):
            radius = float(rng.uniform(low_r, high_r))
            low_c, high_c = radius / 2, image_size - 1 - radius / 2
            center = tuple(float(c) for c in rng.uniform(low_c, high_c, size=2))
            class_id = int(rng.choice(LARGE_CLASSES))
            if _far_enough(center, radius, placed):
                placed.append((center, radius))
                discs.append(SyntheticObject(class_id, center, radius, "disc"))
                break
    marks = []
    low_n, high_n = MARKING_COUNT_RANGE
    for disc in (discs if markings else ()):
        on_disc = []
        for _ in range(int(rng.integers(low_n, high_n + 1))):
            for _ in range(_MAX_PLACEMENT_TRIES):
                size, shape, center, color, class_id = _small_attributes(
                    rng, image_size)
                # 0.75 x size: more than half a square's diagonal.
                if (
                    _inside(center, disc, 0.75 * size)
                    and not any(_inside(center, other, -0.75 * size)
                                for other in discs if other is not disc)
                    and _far_enough(center, size / 2.0, on_disc)
                ):
                    on_disc.append((center, size / 2.0))
                    marks.append(SyntheticObject(
                        class_id, center, size, shape, (color,),
                        decoy=class_id != OBJECT_ON_DISC[disc.class_id],
                    ))
                    break
    small = []
    low_n, high_n = MARKED_SMALL_COUNT_RANGE if markings else SMALL_COUNT_RANGE
    for _ in range(int(rng.integers(low_n, high_n + 1))):
        for _ in range(_MAX_PLACEMENT_TRIES):
            size, shape, center, color, class_id = _small_attributes(
                rng, image_size)
            # With markings, any small object on a disc is a marking.
            if (
                not (markings and any(_inside(center, disc, -0.75 * size)
                                      for disc in discs))
                and _far_enough(center, size / 2.0, placed)
            ):
                placed.append((center, size / 2.0))
                small.append(SyntheticObject(
                    class_id, center, size, shape, (color,)
                ))
                break
    return discs + marks + small


def _check_image_size(image_size):
    return check_int(image_size, "image_size", minimum=MIN_IMAGE_SIZE)


def _check_arrays_arguments(split, num_examples, image_size, seed, markings):
    if not isinstance(markings, bool):
        raise ValueError(
            f"`markings` must be a bool. Received: markings={markings!r}"
        )
    split = _check_split(split)
    image_size = _check_image_size(image_size)
    num_examples = check_int(num_examples, "num_examples", minimum=1,
                             allow_none=True)
    if num_examples is None:
        num_examples = _DEFAULT_NUM_EXAMPLES[split]
    seed = check_int(seed, "seed", minimum=0)
    return split, num_examples, image_size, seed


def _split_objects(split, num_examples, image_size, seed, markings):
    """Yields `(i, rng, objects)` for example `i` of a split: its generator
    (`[seed, split_id, i]`, the module's reproducibility rule), left where
    the rendering continues, and its sampled objects."""
    for i in range(num_examples):
        rng = np.random.default_rng([int(seed), _SPLITS[split], i])
        yield i, rng, sample_synthetic_objects(rng, image_size, markings)


def _check_split(split):
    if split not in _SPLITS:
        raise ValueError(
            f"`split` must be one of {list(_SPLITS)}. Received: split={split!r}"
        )
    return split


def synthetic_scale_arrays(
    split="train", num_examples=None, image_size=129, seed=0, markings=False
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
        markings: bool. Striped markings on the large discs, objects or
            decoys (module docstring). Defaults to False.

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
    split, num_examples, image_size, seed = _check_arrays_arguments(
        split, num_examples, image_size, seed, markings)
    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    labels = np.empty((num_examples, image_size, image_size), np.uint8)
    for i, rng, objects in _split_objects(
        split, num_examples, image_size, seed, markings
    ):
        images[i], labels[i] = render_synthetic_image(
            objects, image_size, seed=rng
        )
    return images, labels


def synthetic_regions(objects, image_size=129):
    """The region map of one synthetic image (`SYNTHETIC_REGION_NAMES`).

    Labels say which class a pixel is, not why it is hard: a decoy and a
    bare disc share a label. This map tells them apart, for statistics on
    the markings (`training/markings.py`).

    Args:
        objects: sequence of `SyntheticObject`, as for
            `render_synthetic_image`.
        image_size: int >= 97. Defaults to 129.

    Returns:
        uint8 `[S, S]`: 0 background, 1 small object off the large discs,
        2 small object on a large disc (with markings: a marking that is an
        object; without: one that overlaps a disc's edge), 3 decoy, 4 the
        rest of a large disc; the last object covering a pixel decides.

    Example:

    >>> disc = SyntheticObject(3, (64, 64), 30)
    >>> decoy = SyntheticObject(2, (64, 64), 10, "square", decoy=True)
    >>> regions = synthetic_regions([disc, decoy])
    >>> [int(regions[64, c]) for c in (0, 40, 64)]
    [0, 4, 3]
    """
    image_size = _check_image_size(image_size)
    rows, cols = np.meshgrid(
        np.arange(image_size, dtype=np.float32),
        np.arange(image_size, dtype=np.float32),
        indexing="ij",
    )
    regions = np.zeros((image_size, image_size), np.uint8)
    on_disc = np.zeros((image_size, image_size), bool)
    for obj in objects:
        mask = _object_mask(obj, rows, cols)
        if obj.class_id in LARGE_CLASSES:
            regions[mask] = 4
            on_disc |= mask
        elif obj.decoy:
            regions[mask] = 3
        else:
            regions[mask] = 2 if (mask & on_disc).any() else 1
    return regions


def synthetic_region_maps(
    split="train", num_examples=None, image_size=129, seed=0, markings=False
):
    """Region maps (`synthetic_regions`) of a split's images.

    Same arguments as `synthetic_scale_arrays`, and the same images: map
    `i` belongs to image `i`.

    Args:
        split: str. `"train"`, `"val"` or `"test"`. Defaults to `"train"`.
        num_examples: positive int or None. Defaults to 1000 for train and
            200 for val and test.
        image_size: int >= 97. Defaults to 129.
        seed: int >= 0. Defaults to 0.
        markings: bool. As `synthetic_scale_arrays`. Defaults to False.

    Returns:
        uint8 `[N, S, S]`.

    Raises:
        ValueError: as `synthetic_scale_arrays`.

    Example:

    >>> synthetic_region_maps("val", num_examples=2, image_size=97).shape
    (2, 97, 97)
    """
    split, num_examples, image_size, seed = _check_arrays_arguments(
        split, num_examples, image_size, seed, markings)
    maps = np.empty((num_examples, image_size, image_size), np.uint8)
    for i, _, objects in _split_objects(
        split, num_examples, image_size, seed, markings
    ):
        maps[i] = synthetic_regions(objects, image_size)
    return maps


def synthetic_scale_dataset(
    split="train", num_examples=None, image_size=129, seed=0, markings=False
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
        markings: bool. As `synthetic_scale_arrays`. Defaults to False.

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
        split, num_examples, image_size, seed, markings
    )
    return tf.data.Dataset.from_tensor_slices((images, labels))
