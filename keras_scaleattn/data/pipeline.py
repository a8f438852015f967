"""Turns a source dataset into the batches the model trains and evaluates on.

A *source* is an unbatched `tf.data.Dataset` of `(image uint8 [H, W, 3] RGB,
label uint8 [H, W])`, 255 = ignore (every loader in `keras_scaleattn.data`
returns one). `make_pipeline` produces float32 RGB images in [0, 255] and
int32 labels; VGG preprocessing (BGR, mean subtraction) is done inside the
model, so the same pipeline feeds training, evaluation and exported models.

Training follows the paper's recipe (PAPER.md, "Training"): optional random
scaling (0.6-1.4 in the paper), padding to the crop size with the mean and the
ignore label, a random 321x321 crop and a random mirror. It is reproducible:
each example's augmentation is drawn with stateless RNG ops from a seed
derived from `seed` and the example's position in the repeated stream
(`epoch * len(source) + index`), the shuffle has a fixed seed, and tf.data runs
with `deterministic=True`. Two iterations of the same pipeline, or of two
pipelines built with the same arguments, give identical batches, while every
epoch inside one iteration gets fresh crops.
"""

import tensorflow as tf

from keras_scaleattn.data import augmentation
from keras_scaleattn.data.validation import check_example
from keras_scaleattn.data.validation import check_int
from keras_scaleattn.data.validation import check_num_classes

# Paper: mini-batch 30 = 3 forward passes of 10, gradients accumulated.
DEFAULT_TRAIN_BATCH_SIZE = 10


def _training_augmentation(crop_size, scale_range, mirror):
    """Returns `fn(seed, image, label)` applying the paper's augmentation."""

    def augment(seed, image, label):
        scale_seed, crop_seed, mirror_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3)
        )
        if scale_range is not None:
            image, label = augmentation.random_scale(
                image, label, scale_seed, scale_range
            )
        image, label = augmentation.pad_to_size(image, label, crop_size)
        image, label = augmentation.random_crop(
            image, label, crop_size, crop_seed
        )
        if mirror:
            image, label = augmentation.random_mirror(image, label, mirror_seed)
        return image, label

    return augment


def make_pipeline(
    source,
    *,
    training,
    batch_size=None,
    crop_size=321,
    scale_range=None,
    mirror=True,
    seed=0,
    num_classes=None,
    shuffle_buffer=256,
    drop_remainder=None,
    epochs=None,
):
    """Builds the training or evaluation input pipeline from a source.

    Training (`training=True`), per example: random scaling by a factor
    uniform in `scale_range` (image bilinear, label nearest; off when None),
    padding to at least `crop_size` with `MEAN_RGB` / 255 at the bottom and
    right, a random `crop_size` crop of image and label together, a random
    horizontal mirror; then shuffle, batch, prefetch. The source is repeated
    `epochs` times (forever when None, as the paper trains for a number of
    iterations: pass `steps_per_epoch` to `fit`).

    Evaluation (`training=False`): no augmentation and no padding; images keep
    their own size; batches of `batch_size` (default 1; larger batches need
    equally sized images).

    Both modes check that every mask has its image's size and, if
    `num_classes` is given, that label ids are in `[0, num_classes)` or 255,
    raising `tf.errors.InvalidArgumentError` naming the example's index in
    `source` (file-backed loaders given `num_classes` name the file instead).

    Args:
        source: `tf.data.Dataset` of `(image uint8 [H, W, 3], label uint8
            [H, W])`, unbatched.
        training: bool. Training (augmented, repeated, shuffled) or
            evaluation pipeline.
        batch_size: positive int or None. Defaults to 10 for training (the
            paper's 30 is 3 accumulated batches of 10) and 1 for evaluation.
        crop_size: int or pair (height, width). Training crop size. Defaults
            to 321. Unused when `training=False`.
        scale_range: pair `(min_scale, max_scale)` or None. Random scaling
            range; the paper's is `(0.6, 1.4)`. Defaults to None (off). Must
            be None when `training=False`.
        mirror: bool. Random horizontal flips. Defaults to True. Unused when
            `training=False`.
        seed: int. Seeds the shuffle and every example's augmentation.
            Defaults to 0.
        num_classes: int in [1, 255] or None. If given, label values are
            checked. Defaults to None.
        shuffle_buffer: positive int. Shuffle buffer size in examples (of the
            source's full-size images); 1 disables shuffling. Defaults to 256.
            Unused when `training=False`.
        drop_remainder: bool or None. Drop a last partial batch. Defaults to
            True for training (static batch size) and False for evaluation.
        epochs: positive int or None. Passes over `source` in training;
            None repeats forever. Defaults to None. Unused when
            `training=False` (one pass).

    Returns:
        `tf.data.Dataset` of `(images float32 [B, H, W, 3], labels int32
        [B, H, W])`: `H = W = crop_size` in training, the images' own size in
        evaluation.

    Raises:
        ValueError: for a malformed argument, or an empty `source`.

    Example:

    >>> from keras_scaleattn.data import synthetic_scale_dataset
    >>> source = synthetic_scale_dataset("train", num_examples=4)
    >>> train = make_pipeline(source, training=True, batch_size=2, crop_size=97)
    >>> images, labels = next(iter(train))
    >>> images.shape, images.dtype, labels.shape, labels.dtype
    (TensorShape([2, 97, 97, 3]), tf.float32, TensorShape([2, 97, 97]), tf.int32)
    >>> val = make_pipeline(synthetic_scale_dataset("val", num_examples=2), training=False)
    >>> next(iter(val))[0].shape
    TensorShape([1, 129, 129, 3])
    """
    if not isinstance(source, tf.data.Dataset):
        raise ValueError(
            "`source` must be a tf.data.Dataset of (image, label). "
            f"Received: source of type {type(source).__name__}"
        )
    if not isinstance(training, bool):
        raise ValueError(
            f"`training` must be a bool. Received: training={training!r}"
        )
    seed = check_int(seed, "seed")
    num_classes = check_num_classes(num_classes)
    default_batch = DEFAULT_TRAIN_BATCH_SIZE if training else 1
    batch_size = check_int(
        default_batch if batch_size is None else batch_size, "batch_size",
        minimum=1)
    if drop_remainder is None:
        drop_remainder = training
    if not isinstance(drop_remainder, bool):
        raise ValueError(
            "`drop_remainder` must be a bool or None. "
            f"Received: drop_remainder={drop_remainder!r}"
        )
    element_spec = source.element_spec
    if not (isinstance(element_spec, tuple) and len(element_spec) == 2):
        raise ValueError(
            "`source` must yield (image, label) pairs. "
            f"Received: source with element_spec={element_spec}"
        )
    if int(source.cardinality()) == 0:
        raise ValueError(
            "`source` is empty (cardinality 0); there is nothing to "
            f"{'train' if training else 'evaluate'} on."
        )

    def check(index, example):
        image, label = example
        name = tf.strings.format("example #{} of the source dataset", index)
        return check_example(image, label, name=name, num_classes=num_classes)

    checked = source.enumerate().map(
        check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )

    if training:
        crop_size = augmentation.check_size(crop_size, "crop_size")
        if scale_range is not None:
            scale_range = augmentation.check_scale_range(scale_range)
        if not isinstance(mirror, bool):
            raise ValueError(
                f"`mirror` must be a bool. Received: mirror={mirror!r}"
            )
        shuffle_buffer = check_int(shuffle_buffer, "shuffle_buffer", minimum=1)
        epochs = check_int(epochs, "epochs", minimum=1, allow_none=True)
        augment = _training_augmentation(crop_size, scale_range, mirror)
        base_seed = tf.constant([seed, 0], tf.int64)

        def train_map(position, example):
            image, label = example
            # The position in the repeated stream is unique per (epoch,
            # example): each epoch gets new crops, whatever the shuffle order.
            example_seed = tf.random.experimental.stateless_fold_in(
                base_seed, position
            )
            image, label = augment(example_seed, image, label)
            return image, tf.cast(label, tf.int32)

        ds = checked.repeat(epochs).enumerate()
        if shuffle_buffer > 1:
            # One fixed order per iterator: reshuffling per iteration would make
            # two iterations of the same pipeline differ. Epochs still mix,
            # because the shuffle runs over the repeated stream.
            ds = ds.shuffle(
                shuffle_buffer, seed=seed, reshuffle_each_iteration=False
            )
        ds = ds.map(
            train_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:
        if scale_range is not None:
            raise ValueError(
                "`scale_range` must be None when training=False (evaluation "
                f"uses full-size images). Received: scale_range={scale_range!r}"
            )

        def eval_map(image, label):
            return tf.cast(image, tf.float32), tf.cast(label, tf.int32)

        ds = checked.map(
            eval_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )

    ds = ds.batch(
        batch_size,
        drop_remainder=drop_remainder,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)
