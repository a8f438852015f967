"""Training from an `ExperimentConfig`: data, model, optimizer, loop, outputs.

`train(config)` does the whole run:

1. makes the strategy (`runtime.strategy`), seeds Keras, opens the
   datasets, and writes the resolved config to `<model_dir>/config.yaml`
   (atomically);
2. inside `strategy.scope()`: builds the `ScaleAttentionSegmenter` (with the
   mixed-precision policy as its dtype), loads ImageNet weights or a
   trained segmenter's (`model.init_from`, read before the scope) if
   configured, compiles it with `CaffeSGD`, the step/poly schedule and the
   1 + S losses, and builds the optimizer;
3. restores `<model_dir>/backup/` (the package's `BackupAndRestore`) if a
   previous run of the same command was interrupted, and skips the batches
   that run already consumed, so that the resumed run sees the same data as
   an uninterrupted one (a config that differs from that run's in a key
   that can change the weights is refused before step 1 writes anything:
   `check_resumable`);
4. trains with `model.fit` (Keras progress bar, validation losses,
   TensorBoard scalars, attention images, checkpoints every N epochs) or,
   for multi-worker and for accumulation over several replicas, with
   `fit_custom_loop` (the same callbacks);
5. saves `<model_dir>/model.keras` atomically.

Layout of `<model_dir>`: `config.yaml`, `model.keras`, `checkpoints/epoch-NNNN.keras`,
`backup/` (only while a run is unfinished), `logs/train`, `logs/validation`,
`logs/attention` (TensorBoard).
"""

import dataclasses
import importlib.util
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_scaleattn.cli import RunFailedError
from keras_scaleattn.data import get_source
from keras_scaleattn.data import make_pipeline
from keras_scaleattn.data.person_part import PERSON_PART_CLASS_NAMES
from keras_scaleattn.data.synthetic import SYNTHETIC_CLASS_NAMES
from keras_scaleattn.data.tfds_sources import tfds_class_names
from keras_scaleattn.data.voc import VOC_CLASS_NAMES
from keras_scaleattn.models import ScaleAttentionSegmenter
from keras_scaleattn.models import load_segmenter_weights
from keras_scaleattn.models import load_vgg16_imagenet_weights
from keras_scaleattn.models import segmenter_weight_arrays
from keras_scaleattn.models.segmenter_weights import describe_loaded
from keras_scaleattn.training.attention_image_callback import AttentionImageCallback
from keras_scaleattn.training.backup_and_restore import BackupAndRestore
from keras_scaleattn.training.caffe_sgd import CaffeSGD
from keras_scaleattn.training.layerwise_adam import LayerwiseAdam
from keras_scaleattn.training.config import batches_per_epoch
from keras_scaleattn.training.config import load_config
from keras_scaleattn.training.config import save_config
from keras_scaleattn.training.config import tfds_name
from keras_scaleattn.training.config import validate_config
from keras_scaleattn.training.custom_loop import fit_custom_loop
from keras_scaleattn.training.epoch_checkpoint import EpochCheckpoint
from keras_scaleattn.training.epoch_checkpoint import save_model_atomic
from keras_scaleattn.training.epoch_checkpoint import weights_are_finite
from keras_scaleattn.training.schedules import PolyDecay
from keras_scaleattn.training.schedules import StepDecay
from keras_scaleattn.training.strategy import data_parallel_distribution
from keras_scaleattn.training.strategy import is_chief
from keras_scaleattn.training.strategy import make_strategy
from keras_scaleattn.training.strategy import num_devices
from keras_scaleattn.training.validation_losses import ValidationLosses

def class_names_for(config):
    """The class names of a config: `data.class_names` if given, else the
    dataset's built-in names if they fit `data.num_classes`, else None
    (class ids: one's own classes in, say, the VOC folder layout)."""
    if config.data.class_names is not None:
        return list(config.data.class_names)
    name = tfds_name(config.data)
    if name is not None:
        names = tfds_class_names(name)
    else:
        names = _CLASS_NAMES.get(config.data.dataset)
    if names is None or len(names) != config.data.num_classes:
        return None
    return list(names)


_CLASS_NAMES = {
    "synthetic": SYNTHETIC_CLASS_NAMES,
    "voc2012": VOC_CLASS_NAMES,
    "person_part": PERSON_PART_CLASS_NAMES,
}


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Where a run writes, under `model_dir`."""

    model_dir: str
    config: str
    model: str
    checkpoints: str
    backup: str
    logs: str

    @classmethod
    def from_model_dir(cls, model_dir):
        model_dir = os.path.abspath(os.path.expanduser(model_dir))
        return cls(
            model_dir=model_dir,
            config=os.path.join(model_dir, "config.yaml"),
            model=os.path.join(model_dir, "model.keras"),
            checkpoints=os.path.join(model_dir, "checkpoints"),
            backup=os.path.join(model_dir, "backup"),
            logs=os.path.join(model_dir, "logs"),
        )


# Config keys that cannot change the weights a run trains: what is
# evaluated, drawn, logged or kept, how verbosely, and where the run is
# (`runtime.model_dir`, the same folder however it is spelt). The evaluation
# split feeds only the validation losses and the attention images, which
# run the model in inference mode (no dropout RNG draw, no weight update).
# Every other key is part of the recipe: the data and its augmentation and
# order (`data.data_dir` too: the same path may hold other images), the
# model, the optimization, the initialisation and dropout seed, and the
# strategy and loop (replicas draw their own dropout masks; the loops sum
# accumulated gradients in different orders).
WEIGHT_NEUTRAL_KEYS = (
    "data.eval_split", "data.num_eval_examples", "data.eval_source_kwargs",
    "data.class_names", "data.size_thresholds", "data.background_class",
    "runtime.model_dir", "runtime.checkpoint_every_epochs",
    "runtime.keep_checkpoints", "runtime.tensorboard",
    "runtime.attention_image_every_epochs", "runtime.validation_steps",
    "runtime.verbose",
)


def _flat_config(config):
    return {f"{section}.{key}": value
            for section, fields in dataclasses.asdict(config).items()
            for key, value in fields.items()}


def config_differences(old, new):
    """The keys of two configs whose difference can change trained weights.

    Keys of `WEIGHT_NEUTRAL_KEYS` are left out, and so is
    `optimization.scale_loss_weights` when neither config has
    `model.extra_supervision` (without it no output has a per-scale loss).

    Args:
        old: `ExperimentConfig`, e.g. the one a run was trained with.
        new: `ExperimentConfig`.

    Returns:
        list of `(dotted key, old value, new value)`, in field order; empty
        when a model trained with `old` is the model `new` would train.
    """
    neutral = set(WEIGHT_NEUTRAL_KEYS)
    if not (old.model.extra_supervision or new.model.extra_supervision):
        neutral.add("optimization.scale_loss_weights")
    old_values, new_values = _flat_config(old), _flat_config(new)
    return [(key, old_values.get(key), new_values.get(key))
            for key in dict.fromkeys([*old_values, *new_values])
            if key not in neutral and old_values.get(key) != new_values.get(key)]


def format_differences(differences):
    """`config_differences` as `"key: old -> new, ..."`."""
    return ", ".join(f"{key}: {old!r} -> {new!r}"
                     for key, old, new in differences)


def stored_config_differences(config, model_dir):
    """`config_differences` between the config stored in `model_dir` and `config`.

    Args:
        config: `ExperimentConfig`.
        model_dir: str. A run's folder, holding the `config.yaml` it was
            trained with.

    Returns:
        list of `(dotted key, stored value, value of config)`.

    Raises:
        ValueError: if `<model_dir>/config.yaml` is missing or cannot be
            read (the message names the file).
    """
    path = RunPaths.from_model_dir(model_dir).config
    if not os.path.isfile(path):
        raise ValueError(
            f"{model_dir} holds a trained model or a backup but no config.yaml "
            "to check this config against, so it cannot tell what it was "
            f"trained with. Expected: {path}")
    try:
        # Not validated: a run made by an earlier version, under rules
        # since tightened, is still compared key by key.
        stored = load_config(path, validate=False)
    except ValueError as error:
        raise ValueError(
            f"Cannot read the config {model_dir} was trained with: {error}"
        ) from None
    return config_differences(stored, config)


def check_resumable(config, paths):
    """Fails if `paths.backup` was written by a run of another recipe.

    Resuming continues the interrupted run: its remaining epochs must train
    under the config its first epochs trained under. Only
    `config_differences` count (verbosity, logging, checkpoints, validation
    and what is evaluated may change; their new values are written to
    config.yaml).

    Args:
        config: `ExperimentConfig` of the new run.
        paths: `RunPaths` of `config.runtime.model_dir`.

    Raises:
        ValueError: naming the keys that differ (stored -> new values) and
            what to do instead, or the missing or unreadable config.yaml.
    """
    differences = stored_config_differences(config, paths.model_dir)
    if differences:
        raise ValueError(
            f"`runtime.model_dir` holds an unfinished run trained with another "
            f"config ({paths.config}): {format_differences(differences)}. "
            "Resuming would train the rest of it under this one. Resume it "
            f"with its own config (--config {paths.config}), choose a new "
            f"runtime.model_dir, or delete {paths.model_dir} to start over. "
            f"Received: runtime.model_dir={config.runtime.model_dir!r}"
        )


class TrainingDivergedError(RunFailedError):
    """Training ended with non-finite weights (a NaN or infinite loss)."""


@dataclasses.dataclass
class TrainingResult:
    """What `train` did and where it wrote.

    Attributes:
        model: the trained model.
        history: dict `log name -> list of per-epoch values` of the epochs
            run by this call.
        paths: `RunPaths`.
        initial_epoch: epoch the run started at (> 0 when resumed).
        training_loop: `"fit"` or `"custom"`.
        num_replicas: replicas of the strategy (the JAX devices under
            `data_parallel_distribution`).
        chief: whether this process wrote the outputs.
    """

    model: keras.Model
    history: dict
    paths: RunPaths
    initial_epoch: int
    training_loop: str
    num_replicas: int
    chief: bool


def source_kwargs(data, training):
    """Keyword arguments of `get_source(data.dataset, ...)` for one split.

    Args:
        data: `DataConfig`.
        training: bool. The training split (else the evaluation split).

    Returns:
        dict.
    """
    split = data.train_split if training else data.eval_split
    name = data.dataset
    if name == "synthetic":
        kwargs = {
            "split": split,
            "num_examples": data.num_train_examples if training else data.num_eval_examples,
            "image_size": data.image_size,
            "seed": data.seed,
        }
    elif name in ("voc2012", "person_part"):
        kwargs = {"data_dir": data.data_dir, "split": split,
                  "num_classes": data.num_classes}
    elif name == "list_file":
        kwargs = {"root_dir": data.data_dir, "list_file": split,
                  "num_classes": data.num_classes}
    elif name == "glob":
        kwargs = {"num_classes": data.num_classes}
    elif name == "tfds" or name.startswith("tfds:"):
        kwargs = {"split": split, "data_dir": data.data_dir}
    else:
        kwargs = {}
    extra = data.train_source_kwargs if training else data.eval_source_kwargs
    kwargs.update(extra)
    return kwargs


def build_sources(config):
    """The training and evaluation source datasets (unbatched, uint8)."""
    data = config.data
    train = get_source(data.dataset, **source_kwargs(data, training=True))
    evaluation = get_source(data.dataset, **source_kwargs(data, training=False))
    return train, evaluation


def build_train_dataset(config, source, skip_batches=0):
    """Augmented, shuffled, repeated global batches, minus `skip_batches`.

    `skip_batches` makes a resumed run start where the interrupted one
    stopped: the pipeline is deterministic, so skipping the consumed batches
    reproduces the uninterrupted stream (the skipped batches are computed
    and dropped: augmentation only, no model work).
    """
    data = config.data
    dataset = make_pipeline(
        source, training=True, batch_size=data.batch_size,
        crop_size=data.crop_size,
        scale_range=None if data.scale_range is None else tuple(data.scale_range),
        mirror=data.mirror, seed=data.seed, num_classes=data.num_classes,
        shuffle_buffer=data.shuffle_buffer,
    )
    if skip_batches:
        dataset = dataset.skip(skip_batches)
    return dataset


def build_eval_dataset(config, source):
    """Evaluation batches of one full image each."""
    return make_pipeline(source, training=False, batch_size=1,
                         num_classes=config.data.num_classes)


def build_model(config, init_weights=None):
    """The `ScaleAttentionSegmenter` of `config.model` (call in the scope).

    Args:
        config: `ExperimentConfig`.
        init_weights: None, or the weights of `model.init_from` read by
            `read_init_weights` (outside the distribution scope) to copy
            into the model; None with `model.init_from` set reads them here.

    Raises:
        FileNotFoundError: if `model.imagenet_weights` or
            `model.init_from` does not exist.
        ValueError: if `model.init_from` is no segmenter of this trunk.
    """
    model_config = config.model
    model = ScaleAttentionSegmenter(
        num_classes=config.data.num_classes,
        scales=tuple(model_config.scales),
        merge=model_config.merge,
        extra_supervision=model_config.extra_supervision,
        trunk_width=model_config.trunk_width,
        attention_filters=model_config.attention_filters,
        dropout=model_config.dropout,
        dtype=config.optimization.mixed_precision,
    )
    if model_config.imagenet_weights is not None:
        load_vgg16_imagenet_weights(model, _weights_path(config))
    if model_config.init_from is not None:
        if init_weights is None:
            init_weights = read_init_weights(config)
        report = load_segmenter_weights(model, init_weights,
                                        argument="model.init_from")
        print(f"model.init_from={model_config.init_from!r}: "
              f"{describe_loaded(report)}")
    return model


def read_init_weights(config):
    """The weights of `model.init_from` by path, or None if it is unset.

    Read before `strategy.scope()`, so that the source model's variables
    are not created (and mirrored) under the strategy.

    Raises:
        FileNotFoundError, ValueError: naming `model.init_from`, for a
            missing file or one that is not a segmenter.
    """
    if config.model.init_from is None:
        return None
    return segmenter_weight_arrays(
        os.path.expanduser(config.model.init_from), argument="model.init_from")


def _weights_path(config):
    path = os.path.expanduser(config.model.imagenet_weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            "`model.imagenet_weights` does not exist. Received: "
            f"model.imagenet_weights={config.model.imagenet_weights!r}"
        )
    return path


def loss_weights(config, model):
    """Loss weight of each supervised output: merged, then every scale."""
    opt = config.optimization
    weights = {}
    for name in model.supervised_outputs:
        if name == "logits":
            weights[name] = opt.merged_loss_weight
        else:
            index = int(name.rsplit("_", 1)[1])
            weights[name] = (1.0 if opt.scale_loss_weights is None
                             else opt.scale_loss_weights[index])
    return weights


def build_learning_rate(config, accumulation_steps):
    """The `StepDecay` or `PolyDecay` of `config.optimization`.

    Args:
        config: `ExperimentConfig`.
        accumulation_steps: int. Micro-steps per optimizer update as the
            optimizer counts them (Keras' accumulation), else 1.
    """
    opt = config.optimization
    if opt.schedule == "step":
        return StepDecay(opt.base_lr, step_size=opt.step_size,
                         gamma=opt.step_gamma,
                         accumulation_steps=accumulation_steps,
                         warmup_steps=opt.warmup_steps)
    return PolyDecay(opt.base_lr, max_steps=opt.total_steps,
                     power=opt.poly_power, accumulation_steps=accumulation_steps,
                     warmup_steps=opt.warmup_steps)


def build_optimizer(config, keras_accumulation=True):
    """The optimizer of `config.optimization` (call inside the strategy scope).

    `CaffeSGD` (the paper's) or, with `optimizer: adam`, `LayerwiseAdam`
    (Keras Adam with the same per-layer learning-rate multipliers).

    Under `mixed_float16`, wrapped in a `keras.optimizers.LossScaleOptimizer`
    here rather than by `compile`: `compile` wraps only when the *model's*
    policy is mixed_float16, and `ScaleAttentionSegmenter` passes its dtype
    to its layers but not to `keras.Model`.

    Args:
        config: `ExperimentConfig`.
        keras_accumulation: bool. Use the optimizer's own
            `gradient_accumulation_steps` (the `fit` loop); False when the
            loop accumulates (`fit_custom_loop`).
    """
    opt = config.optimization
    steps = opt.gradient_accumulation_steps if keras_accumulation else 1
    if opt.optimizer == "adam":
        optimizer = LayerwiseAdam(
            learning_rate=build_learning_rate(config, steps),
            head_lr_multiplier=opt.head_lr_multiplier,
            bias_lr_multiplier=opt.bias_lr_multiplier,
            gradient_accumulation_steps=steps if steps > 1 else None,
        )
    else:
        optimizer = CaffeSGD(
            learning_rate=build_learning_rate(config, steps),
            momentum=opt.momentum,
            l2_weight_decay=opt.weight_decay,
            head_lr_multiplier=opt.head_lr_multiplier,
            bias_lr_multiplier=opt.bias_lr_multiplier,
            gradient_accumulation_steps=steps if steps > 1 else None,
        )
    if opt.mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def choose_training_loop(config, strategy):
    """`"fit"` or `"custom"` for `runtime.training_loop` and the strategy.

    `"auto"` picks the custom loop where `fit` does not work: under
    `MultiWorkerMirroredStrategy` (keras #20585) and for gradient
    accumulation over several replicas (Keras' accumulation all-reduces
    inside an `ops.cond`, which tf.distribute rejects).
    """
    requested = config.runtime.training_loop
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    accumulate_replicas = (config.optimization.gradient_accumulation_steps > 1
                           and strategy.num_replicas_in_sync > 1)
    if requested == "fit" and (multi_worker or accumulate_replicas):
        reason = ("MultiWorkerMirroredStrategy" if multi_worker else
                  "gradient accumulation over several replicas")
        raise ValueError(
            f"`runtime.training_loop` cannot be 'fit' with {reason} (Keras 3 "
            "fails there; use 'auto' or 'custom'). Received: "
            f"runtime.training_loop={requested!r}"
        )
    if requested == "auto":
        return "custom" if multi_worker or accumulate_replicas else "fit"
    return requested


def restore_backup(backup, model):
    """Restores `backup`'s state into `model` now; returns its epoch.

    `BackupAndRestore` restores at `on_train_begin`, after the data iterator
    exists; calling it first tells how many batches to skip. The epoch is
    the one of the backup actually restored, which is the previous copy
    (`double_checkpoint`) when the latest one cannot be read. The restore at
    `on_train_begin` then loads the same files again.

    Raises:
        ValueError: if the backup exists but cannot be restored.
    """
    backup.set_model(model)
    backup.on_train_begin()
    return backup.backed_up_epoch()


def _check_same_epoch(strategy, epoch):
    """Fails if the workers of a cluster restored different epochs."""
    per_replica = strategy.run(lambda: tf.constant([epoch], tf.int64))
    epochs = strategy.gather(per_replica, axis=0).numpy().tolist()
    if len(set(epochs)) > 1:
        raise RuntimeError(
            f"Workers restored different epochs from the backup ({epochs}): "
            "every worker must see the chief's `<model_dir>/backup` (a shared "
            "file system)."
        )


def _attention_callback(config, model, eval_source, log_dir):
    image, label = next(iter(eval_source.take(1)))
    return AttentionImageCallback(
        log_dir, image.numpy(), np.asarray(label.numpy()), scales=model.scales,
        every_epochs=config.runtime.attention_image_every_epochs,
        class_names=class_names_for(config),
    )


def train(config, strategy=None, callbacks=()):
    """Trains the model of `config` and saves everything under `model_dir`.

    Running the same command again after an interruption resumes from the
    last completed epoch (the backup), with the same data, and ends with the
    same weights as an uninterrupted run.

    Args:
        config: `ExperimentConfig` (validated again here).
        strategy: `tf.distribute.Strategy` or None to make the one of
            `runtime.strategy`.
        callbacks: extra `keras.callbacks.Callback`s (after the package's).

    Returns:
        `TrainingResult`.

    A `model_dir` holding an unfinished run (`backup/`) is resumed only
    if that run's `config.yaml` differs from `config` in no key that can
    change the trained weights (`check_resumable`, `WEIGHT_NEUTRAL_KEYS`);
    this is checked before anything is written.

    Raises:
        FileExistsError: if `model_dir` already holds a finished run.
        FileNotFoundError: for a missing `model.imagenet_weights`,
            `model.init_from` or dataset folder (from the data loaders).
        ValueError: for an invalid config, or a `model_dir` holding an
            unfinished run of another config (naming the keys that differ),
            or a backup that cannot be restored.
    """
    validate_config(config)
    run = config.runtime
    paths = RunPaths.from_model_dir(run.model_dir)
    if os.path.exists(paths.model) and not os.path.isdir(paths.backup):
        raise FileExistsError(
            f"`runtime.model_dir` already holds a finished run ({paths.model}). "
            "Choose another runtime.model_dir or delete it. Received: "
            f"runtime.model_dir={run.model_dir!r}"
        )
    if os.path.isdir(paths.backup):
        check_resumable(config, paths)
    if config.model.imagenet_weights is not None:
        _weights_path(config)
    # Outside every scope, and before anything is written.
    init_weights = read_init_weights(config)
    if run.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            "`runtime.tensorboard` needs the tensorboard package (pip install "
            "tensorboard), or set runtime.tensorboard=false. Received: "
            "runtime.tensorboard=True"
        )
    if strategy is None:
        strategy = make_strategy(run.strategy)
    # On JAX: keras.distribution.DataParallel over the local devices (None
    # on TensorFlow, where `strategy` splits the batches).
    distribution = data_parallel_distribution(run.strategy)
    if distribution is not None:
        devices = num_devices(distribution)
        if config.data.batch_size % devices:
            raise ValueError(
                f"`data.batch_size` must be a multiple of the {devices} JAX "
                f"devices the batches are split over (runtime.strategy="
                f"{run.strategy!r}; 'default' trains on one). Received: "
                f"data.batch_size={config.data.batch_size}"
            )
        with distribution.scope():
            return _train(config, paths, strategy, callbacks,
                          num_replicas=devices, init_weights=init_weights)
    return _train(config, paths, strategy, callbacks,
                  num_replicas=strategy.num_replicas_in_sync,
                  init_weights=init_weights)


def _train(config, paths, strategy, callbacks, num_replicas,
           init_weights=None):
    """`train` after its checks, in the JAX distribution's scope if any."""
    run, opt = config.runtime, config.optimization
    chief = is_chief(strategy)
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    loop = choose_training_loop(config, strategy)
    keras.utils.set_random_seed(run.seed)

    # The data first: a missing dataset folder fails before anything is
    # written.
    train_source, eval_source = build_sources(config)
    if chief:
        os.makedirs(paths.model_dir, exist_ok=True)
        save_config(config, paths.config)

    with strategy.scope():
        model = build_model(config, init_weights)
        weights = loss_weights(config, model)
        model.compile(optimizer=build_optimizer(config, keras_accumulation=loop == "fit"),
                      loss="auto", loss_weights=weights)
        # Built here, in the scope: BackupAndRestore would otherwise build it
        # outside, and the variables would not be mirrored.
        model.optimizer.build(model.trainable_variables)

    # Only the chief writes the backup; every worker restores it. Deleted by
    # `train` only once model.keras is written: a run killed in between
    # still resumes (and runs no more epochs).
    backup = BackupAndRestore(paths.backup, write=chief, delete_checkpoint=False)
    initial_epoch = restore_backup(backup, model)
    if multi_worker:
        _check_same_epoch(strategy, initial_epoch)
    num_epochs = opt.num_epochs
    train_dataset = build_train_dataset(
        config, train_source, skip_batches=initial_epoch * batches_per_epoch(config))
    all_callbacks = [backup, keras.callbacks.TerminateOnNaN()]
    if chief and run.validation_steps:
        # Before TensorBoard, which reads the `val_*` logs it adds.
        all_callbacks.append(ValidationLosses(
            build_eval_dataset(config, eval_source).take(run.validation_steps),
            weights))
    if chief and run.checkpoint_every_epochs:
        all_callbacks.append(EpochCheckpoint(
            paths.checkpoints, every_epochs=run.checkpoint_every_epochs,
            keep=run.keep_checkpoints))
    if chief and run.tensorboard:
        # No graph: the custom loop has no `train_function` to draw.
        all_callbacks.append(keras.callbacks.TensorBoard(
            paths.logs, write_graph=False, update_freq="epoch"))
        has_attention = "attention" in model.output_names
        if run.attention_image_every_epochs and has_attention:
            all_callbacks.append(_attention_callback(
                config, model, eval_source, os.path.join(paths.logs, "attention")))
    all_callbacks += list(callbacks)
    verbose = run.verbose if chief else 0

    if loop == "fit":
        history = model.fit(
            train_dataset, epochs=num_epochs, initial_epoch=initial_epoch,
            steps_per_epoch=batches_per_epoch(config), callbacks=all_callbacks,
            verbose=verbose, shuffle=False,  # the pipeline shuffles
        )
    else:
        history = fit_custom_loop(
            model, train_dataset, strategy=strategy, epochs=num_epochs,
            steps_per_epoch=opt.steps_per_epoch, loss_weights=weights,
            accumulation_steps=opt.gradient_accumulation_steps,
            initial_epoch=initial_epoch, callbacks=all_callbacks,
            verbose=verbose,
        )
    losses = history.history.get("loss") or [0.0]
    if not (weights_are_finite(model) and np.isfinite(losses[-1])):
        raise TrainingDivergedError(
            "Training diverged: the loss or the weights are not finite (see "
            "the NaN loss above); no model.keras was written, and no "
            "checkpoint or backup of a non-finite epoch. Lower "
            "optimization.base_lr and start a new runtime.model_dir."
        )
    if chief:
        save_model_atomic(model, paths.model)
        shutil.rmtree(paths.backup, ignore_errors=True)
    return TrainingResult(
        model=model, history=dict(history.history), paths=paths,
        initial_epoch=initial_epoch, training_loop=loop,
        num_replicas=num_replicas, chief=chief,
    )
