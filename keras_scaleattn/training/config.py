"""Typed training configuration: dataclasses, YAML experiments, overrides.

An experiment is a YAML file under `training/configs/` that sets some fields
of `ExperimentConfig`; everything else keeps the dataclass default. The
defaults are the paper's recipe (PAPER.md, "Training"), so a paper
experiment's YAML only names its data, its model variant and its run folder.
Command-line overrides are dotted `key=value` pairs in YAML syntax
(`model.scales=[1.0,0.5]`, `optimization.steps=500`).

Parsing and type checking are OmegaConf's structured configs: a key that is
not a field, or a value that does not convert to the field's type, is an
error naming the key and the value. `validate_config` then checks the
values themselves (names, ranges, consistency).

Example:

```python
config = load_config("training/configs/synthetic_tiny.yaml",
                     ["optimization.steps=20", "optimization.steps_per_epoch=10",
                      "runtime.model_dir=/tmp/run"])
print(config.model.scales, config.optimization.total_steps)
```
"""

import dataclasses
import math
import os
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Union

import keras
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from keras_scaleattn.data.synthetic import SYNTHETIC_NUM_CLASSES
from keras_scaleattn.data.tfds_sources import tfds_background_class
from keras_scaleattn.data.tfds_sources import tfds_num_classes
from keras_scaleattn.evaluation.report import write_text_atomic
from keras_scaleattn.inference.full_resolution import alignment_step
from keras_scaleattn.layers.scale_pyramid import min_input_size
from keras_scaleattn.layers.scale_pyramid import validate_scales

SCHEDULES = ("step", "poly")
MIXED_PRECISION_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
TRAINING_LOOPS = ("auto", "fit", "custom")
MERGES = ("attention", "max", "average")
# Datasets read from a folder given as `data.data_dir`.
FOLDER_DATASETS = ("voc2012", "person_part", "list_file")


@dataclasses.dataclass
class DataConfig:
    """Where the examples come from and how they are augmented and batched.

    Args:
        dataset: str. A `keras_scaleattn.data.get_source` name: `"synthetic"`,
            `"voc2012"`, `"person_part"`, `"list_file"`, `"glob"`, `"tfds"` or
            `"tfds:<name>"`. Defaults to `"voc2012"`.
        data_dir: str or None. The dataset folder (VOC2012, VOC2010 for
            person_part, the root of a list file; the tfds data folder).
        train_split: str. Training split (a list name; for `list_file` the
            list file's path). Defaults to `"train"` (the paper's VOC runs use `"train_aug"`).
        eval_split: str. Split of the attention images and validation.
            Defaults to `"val"`.
        num_classes: int. Classes including background; for a tfds dataset
            its own count (`tfds_num_classes`). Defaults to `21`.
        class_names: list of `num_classes` distinct str, or None. Names of
            the classes in the evaluation tables and the attention pictures'
            legend; None uses the dataset's own names where it has them and
            they fit `num_classes` (synthetic, VOC, Person-Part, the pet and
            Cityscapes tfds sources) and class ids elsewhere (your own
            folders, `scene_parse150`).
        background_class: int, None or `"auto"`. The class that is not an
            object in the by-size evaluation (its pixels are the
            `background` row); None for a dataset without one, where every
            class's connected components count as objects. `"auto"` (the
            default, see `background_class_for`): a tfds dataset's own
            (`tfds_background_class`: None for Cityscapes, whose class 0 is
            road), else 0 (VOC, Person-Part, synthetic).
        crop_size: int. Training crop side. Defaults to `321` (paper).
        scale_range: pair of floats or None. Random scaling range, e.g.
            `[0.6, 1.4]`; None disables it (paper's default recipe).
        mirror: bool. Random horizontal flips. Defaults to `True`.
        batch_size: int. Global batch per forward pass, split over replicas.
            Defaults to `10` (paper: 3 accumulated batches of 10).
        shuffle_buffer: int. Examples in the shuffle buffer. Defaults to 256.
        seed: int. Seed of the shuffle, the augmentation and the synthetic
            images. Defaults to `0`.
        image_size: int. Synthetic images' side. Defaults to `129`.
        num_train_examples: int or None. Synthetic training images (None:
            the dataset's default of 1000).
        num_eval_examples: int or None. Synthetic evaluation images (None:
            200).
        train_source_kwargs: dict. Extra keyword arguments of the training
            source's loader (e.g. `image_glob`, `mask_glob` for `"glob"`).
        eval_source_kwargs: dict. The same for the evaluation source.
    """

    dataset: str = "voc2012"
    data_dir: Optional[str] = None
    train_split: str = "train"
    eval_split: str = "val"
    num_classes: int = 21
    class_names: Optional[List[str]] = None
    crop_size: int = 321
    scale_range: Optional[List[float]] = None
    mirror: bool = True
    batch_size: int = 10
    shuffle_buffer: int = 256
    seed: int = 0
    image_size: int = 129
    num_train_examples: Optional[int] = None
    num_eval_examples: Optional[int] = None
    size_thresholds: List[int] = dataclasses.field(
        default_factory=lambda: [32**2, 96**2])
    background_class: Optional[Union[int, str]] = "auto"
    train_source_kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    eval_source_kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ModelConfig:
    """The `ScaleAttentionSegmenter` and its initialisation.

    Args:
        scales: list of floats. Defaults to `[1.0, 0.75, 0.5]` (paper's best).
        merge: str. `"attention"`, `"max"` or `"average"`.
        extra_supervision: bool. The paper's E-Supv (1 + S losses).
        trunk_width: float. Trunk filter multiplier (1.0 = VGG-16).
        attention_filters: int or None. att_conv1 filters (None: 512 x width).
        dropout: float. Dropout of fc6, fc7 and the attention head.
        imagenet_weights: str or None. Local Keras VGG-16 weights file
            (`load_vgg16_imagenet_weights`); None starts from scratch.
        init_from: str or None. A trained segmenter (`.keras`, e.g. another
            run's `model.keras`) to fine-tune: every weight it shares
            (`load_segmenter_weights`: the trunk, which must have the same
            width; fc8 when the classes match; the attention head when the
            scales do) is copied, the rest initialised as usual. Replaces
            `imagenet_weights`. Defaults to None.
    """

    scales: List[float] = dataclasses.field(
        default_factory=lambda: [1.0, 0.75, 0.5])
    merge: str = "attention"
    extra_supervision: bool = True
    trunk_width: float = 1.0
    attention_filters: Optional[int] = None
    dropout: float = 0.5
    imagenet_weights: Optional[str] = None
    init_from: Optional[str] = None


@dataclasses.dataclass
class OptimizationConfig:
    """Caffe-style SGD, its schedule, accumulation, precision and losses.

    A *step* is one optimizer update (the paper's iteration, of
    `data.batch_size * gradient_accumulation_steps` images); an *epoch* is
    `steps_per_epoch` updates, the unit of checkpoints, backups, TensorBoard
    epoch scalars and attention images.

    Args:
        optimizer: str. `"caffe_sgd"` (the paper's SGD with learning-rate
            multipliers and L2 decay) or `"adam"` (`LayerwiseAdam`: Adam
            on the same schedule with the same learning-rate multipliers,
            without L2 decay: for training small networks from scratch,
            e.g. the synthetic main job).
        steps: int or None. Total updates (paper: 6000). Give either `steps`
            (a multiple of `steps_per_epoch`) or `epochs`.
        epochs: int or None. Number of epochs when `steps` is None.
        steps_per_epoch: int. Updates per epoch. Defaults to `500`.
        base_lr: float. Defaults to `1e-3` (paper).
        head_lr_multiplier: float. Learning-rate multiplier of fc8 and the
            attention head, for both optimizers. Defaults to `10.0` (paper).
        bias_lr_multiplier: float. Multiplier of every bias, for both
            optimizers (Caffe: 2).
        momentum: float. Defaults to `0.9`.
        weight_decay: float. Caffe L2 decay of weights (not biases).
            Defaults to `5e-4`.
        schedule: str. `"step"` (x `step_gamma` every `step_size` updates)
            or `"poly"` (`(1 - step / steps) ** poly_power`).
        step_size: int. Defaults to `2000` (paper).
        step_gamma: float. Defaults to `0.1` (paper).
        poly_power: float. Defaults to `0.9`.
        warmup_steps: int. Updates of linear learning-rate warm-up before
            the schedule (`StepDecay`/`PolyDecay`). Defaults to `0` (the
            paper has none); Adam from scratch needs it (synthetic_tiny).
        gradient_accumulation_steps: int. Forward/backward passes per update
            (Caffe's `iter_size`; paper: 3). 1 disables accumulation.
        mixed_precision: str. `"float32"`, `"mixed_float16"` or
            `"mixed_bfloat16"`.
        merged_loss_weight: float. Weight of the merged output's loss.
        scale_loss_weights: list of floats or None. Weight of each scale's
            own loss (extra supervision); None weighs each 1 (paper).
    """

    optimizer: str = "caffe_sgd"
    steps: Optional[int] = 6000
    epochs: Optional[int] = None
    steps_per_epoch: int = 500
    base_lr: float = 1e-3
    head_lr_multiplier: float = 10.0
    bias_lr_multiplier: float = 2.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "step"
    step_size: int = 2000
    step_gamma: float = 0.1
    poly_power: float = 0.9
    warmup_steps: int = 0
    gradient_accumulation_steps: int = 3
    mixed_precision: str = "float32"
    merged_loss_weight: float = 1.0
    scale_loss_weights: Optional[List[float]] = None

    @property
    def num_epochs(self):
        """Epochs of the run: `epochs`, or `steps / steps_per_epoch`."""
        if self.epochs is not None:
            return self.epochs
        return self.steps // self.steps_per_epoch

    @property
    def total_steps(self):
        """Optimizer updates of the run."""
        return self.num_epochs * self.steps_per_epoch


@dataclasses.dataclass
class RuntimeConfig:
    """Where and how the run executes.

    Args:
        model_dir: str. Folder of the run: `config.yaml`, `checkpoints/`,
            `backup/`, `logs/`, `model.keras`.
        strategy: str. `"auto"` (MirroredStrategy over the local GPUs if
            there are several, else the default strategy), `"default"`,
            `"mirrored"` or `"multi_worker"` (from `TF_CONFIG`). On JAX,
            `"auto"` and `"mirrored"` are `keras.distribution.DataParallel`
            over the local devices and `"multi_worker"` is refused; on other
            backends only `"auto"` and `"default"` (one device).
        training_loop: str. `"fit"` (`model.fit`), `"custom"` (the package's
            `strategy.run` loop) or `"auto"`: custom for multi-worker (Keras
            3's `fit` is broken there) and for gradient accumulation over
            several replicas, fit otherwise. `"custom"` needs TensorFlow.
        seed: int. Seed of the weight initialisation and dropout.
        checkpoint_every_epochs: int. Epochs between model checkpoints
            (`checkpoints/epoch-NNNN.keras`); 0 disables them.
        keep_checkpoints: int. Most recent checkpoints kept; 0 keeps all.
        tensorboard: bool. Write TensorBoard scalars to `logs/`.
        attention_image_every_epochs: int. Epochs between attention figures
            in TensorBoard (needs `tensorboard` and an attention model); 0
            disables them.
        validation_steps: int. Evaluation batches (of one image) run at the
            end of every epoch; 0 disables validation.
        verbose: int. `fit` verbosity: 1 progress bar, 2 one line per epoch,
            0 silent.
    """

    model_dir: str = "runs/default"
    strategy: str = "auto"
    training_loop: str = "auto"
    seed: int = 0
    checkpoint_every_epochs: int = 1
    keep_checkpoints: int = 3
    tensorboard: bool = True
    attention_image_every_epochs: int = 1
    validation_steps: int = 0
    verbose: int = 1


@dataclasses.dataclass
class ExperimentConfig:
    """A whole training run: `data`, `model`, `optimization`, `runtime`."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optimization: OptimizationConfig = dataclasses.field(
        default_factory=OptimizationConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)


def _error_message(error):
    """An OmegaConf error as one line naming the key (and the value)."""
    message = getattr(error, "msg", None) or str(error)
    message = message.splitlines()[0]
    key = getattr(error, "full_key", None)
    return f"`{key}`: {message}" if key else message


def _apply_override(node, override):
    """Merges one `key=value` override into `node`, naming it in errors."""
    if not isinstance(override, str):
        raise ValueError(
            "Overrides must be 'key=value' strings. Received: "
            f"override={override!r}"
        )
    key, sep, _ = override.partition("=")
    if not sep or not key.strip():
        raise ValueError(
            "Overrides must be 'key=value' (e.g. optimization.steps=500). "
            f"Received: override={override!r}"
        )
    try:
        return OmegaConf.merge(node, OmegaConf.from_dotlist([override]))
    except OmegaConfBaseException as error:
        raise ValueError(
            f"Override {override!r}: {_error_message(error)}") from None


def background_class_for(config):
    """The class that is not an object in the by-size tables, or None.

    `data.background_class`, with `"auto"` resolved: a tfds dataset's own
    (`tfds_background_class`), else 0.

    Args:
        config: `ExperimentConfig`.

    Returns:
        int or None.
    """
    value = config.data.background_class
    if value != "auto":
        return value
    name = tfds_name(config.data)
    return tfds_background_class(name) if name is not None else 0


def config_from_dict(values, overrides=(), origin="config", validate=True):
    """Builds a validated `ExperimentConfig` from nested dicts and overrides.

    Args:
        values: dict (or OmegaConf node) of the fields to set, nested like
            the dataclasses (`{"model": {"scales": [1.0, 0.5]}}`).
        overrides: sequence of `"dotted.key=value"` strings applied after
            `values`.
        origin: str. What `values` came from, for error messages.
        validate: bool. Run `validate_config`. Defaults to True; False reads
            a config stored by an earlier version as it was (types are
            still checked), e.g. to compare a run's recipe.

    Returns:
        `ExperimentConfig`.

    Raises:
        ValueError: for an unknown key, a value of the wrong type or a value
            `validate_config` rejects; the message names the key and value.
    """
    schema = OmegaConf.structured(ExperimentConfig)
    try:
        merged = OmegaConf.merge(schema, values if values is not None else {})
    except OmegaConfBaseException as error:
        raise ValueError(f"{origin}: {_error_message(error)}") from None
    if isinstance(overrides, str):
        raise ValueError(
            "`overrides` must be a list of 'key=value' strings. Received: "
            f"overrides={overrides!r}"
        )
    for override in overrides:
        merged = _apply_override(merged, override)
    try:
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise ValueError(f"{origin}: {_error_message(error)}") from None
    if validate:
        validate_config(config)
    return config


def load_config(path, overrides=(), validate=True):
    """Reads a YAML experiment, applies overrides and validates the result.

    Args:
        path: str or os.PathLike. A YAML file of `ExperimentConfig` fields.
        overrides: sequence of `"dotted.key=value"` strings, values in YAML
            syntax: `model.scales=[1.0,0.5]`, `runtime.tensorboard=false`,
            `model.imagenet_weights=null`.
        validate: bool. Run `validate_config` (see `config_from_dict`).
            Defaults to True.

    Returns:
        `ExperimentConfig`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: for invalid YAML, an unknown key, a value of the wrong
            type, a malformed override or an invalid value (naming the key
            and the value received).

    Example:

    >>> config = load_config("training/configs/synthetic_tiny.yaml",
    ...                      ["optimization.steps_per_epoch=5"])
    >>> config.optimization.steps_per_epoch
    5
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Config file does not exist: {path!r}")
    try:
        values = OmegaConf.load(path)
    except Exception as error:  # YAML parser errors have several types.
        raise ValueError(f"Cannot read config file {path!r}: {error}") from None
    if values is None or not OmegaConf.is_dict(values):
        raise ValueError(
            f"Config file {path!r} must hold a mapping of sections "
            f"(data, model, optimization, runtime). Received: {values!r}"
        )
    return config_from_dict(values, overrides, origin=f"Config file {path!r}",
                            validate=validate)


def config_to_yaml(config):
    """The YAML text of a config (every field, resolved)."""
    return OmegaConf.to_yaml(OmegaConf.structured(config))


def save_config(config, path):
    """Writes the resolved config as YAML, atomically; returns `path`."""
    return write_text_atomic(path, config_to_yaml(config))


def _fail(key, value, requirement):
    raise ValueError(f"`{key}` {requirement}. Received: {key}={value!r}")


def _positive(key, value):
    # `not value > 0` also refuses NaN; infinity is no step size either.
    if value is None or not value > 0 or math.isinf(value):
        _fail(key, value, "must be a positive, finite number")


def _non_negative(key, value):
    if not value >= 0 or math.isinf(value):
        _fail(key, value, "must be a finite number >= 0")


def _one_of(key, value, choices):
    if value not in choices:
        _fail(key, value, f"must be one of {list(choices)}")


def tfds_name(data):
    """The tfds dataset a `DataConfig` reads (`"tfds:<name>"`, or `"tfds"`
    with `name` in the source kwargs), or None."""
    if data.dataset.startswith("tfds:"):
        return data.dataset[len("tfds:"):]
    if data.dataset == "tfds":
        return data.train_source_kwargs.get("name")
    return None


def _steps_suggestion(steps, steps_per_epoch):
    """Ways to make `steps` a multiple of `steps_per_epoch`, for an error."""
    below = steps // steps_per_epoch * steps_per_epoch
    multiples = [m for m in (below, below + steps_per_epoch) if m > 0]
    # The largest epoch length up to the current one that divides `steps`.
    divisor = next(d for d in range(steps_per_epoch, 0, -1) if steps % d == 0)
    return ("Use optimization.steps="
            + " or ".join(str(m) for m in multiples)
            + f", or keep {steps} steps with optimization.steps_per_epoch="
            f"{divisor}.")


def validate_config(config):
    """Checks values the types alone do not; raises ValueError naming the key.

    Args:
        config: `ExperimentConfig`.

    Returns:
        `config`, unchanged.
    """
    data, model = config.data, config.model
    opt, run = config.optimization, config.runtime
    _one_of("optimization.optimizer", opt.optimizer, ("caffe_sgd", "adam"))

    if not data.dataset:
        _fail("data.dataset", data.dataset, "must name a dataset")
    if data.dataset in FOLDER_DATASETS and not data.data_dir:
        _fail("data.data_dir", data.data_dir,
              f"must be set for data.dataset={data.dataset!r}")
    if not (len(data.size_thresholds) == 2
            and 0 < data.size_thresholds[0] < data.size_thresholds[1]):
        _fail("data.size_thresholds", data.size_thresholds,
              "must be two increasing positive areas in pixels")
    if not 1 <= data.num_classes <= 255:
        _fail("data.num_classes", data.num_classes, "must be in [1, 255]")
    if data.class_names is not None and not (
        len(data.class_names) == data.num_classes
        and all(name for name in data.class_names)
        and len(set(data.class_names)) == len(data.class_names)
    ):
        _fail("data.class_names", data.class_names,
              f"must be null or {data.num_classes} distinct, non-empty names "
              f"(data.num_classes={data.num_classes})")
    name = tfds_name(data)
    if name is not None:
        try:
            expected = tfds_num_classes(name)
        except ValueError as error:
            _fail("data.dataset", data.dataset, f"names no supported tfds "
                  f"dataset ({error})")
        if data.num_classes != expected:
            _fail("data.num_classes", data.num_classes,
                  f"must be {expected} for the tfds dataset {name!r} (its "
                  "classes after label mapping: "
                  "keras_scaleattn/data/tfds_sources.py)")
    if data.background_class not in (None, "auto") and not (
            isinstance(data.background_class, int)
            and 0 <= data.background_class < data.num_classes):
        _fail("data.background_class", data.background_class,
              f"must be 'auto', null or a class id in [0, {data.num_classes})")
    if data.dataset == "synthetic" and data.num_classes != SYNTHETIC_NUM_CLASSES:
        _fail("data.num_classes", data.num_classes,
              f"must be {SYNTHETIC_NUM_CLASSES} for data.dataset='synthetic' "
              "(keras_scaleattn.data.SYNTHETIC_CLASS_NAMES)")
    for key in ("crop_size", "batch_size", "shuffle_buffer", "image_size"):
        _positive(f"data.{key}", getattr(data, key))
    for key in ("num_train_examples", "num_eval_examples"):
        value = getattr(data, key)
        if value is not None:
            _positive(f"data.{key}", value)
    if data.scale_range is not None and not (
        len(data.scale_range) == 2 and 0 < data.scale_range[0] <= data.scale_range[1]
    ):
        _fail("data.scale_range", data.scale_range,
              "must be null or [min, max] with 0 < min <= max")

    try:
        scales = validate_scales(model.scales)
    except ValueError:
        _fail("model.scales", model.scales, "must be a non-empty list of "
              "distinct numbers in (0, 2], none below 0.001")
    step = alignment_step(scales)
    smallest = min_input_size(scales)
    if (data.crop_size - 1) % step:
        # With a side of 8k + 1 the stride-8 score map's pixels sit exactly on
        # every 8th pixel, where the loss subsamples the labels (the paper's
        # 321 and 513), and each scaled crop must be 8j + 1 too; on another
        # side TensorFlow's "same" pooling centres them up to 7 pixels (of
        # that scale) away, so the labels would be shifted.
        below = (data.crop_size - 1) // step * step + 1
        nearest = [n for n in (below, below + step) if n >= smallest]
        _fail("data.crop_size", data.crop_size,
              f"must be {step}k + 1 for model.scales={model.scales} (e.g. "
              "321, 513: every scale's stride-8 score map then lines up "
              "with the labels, see alignment_step); nearest: "
              + " or ".join(str(n) for n in nearest))
    if data.crop_size < smallest:
        _fail("data.crop_size", data.crop_size,
              f"must be at least {smallest} for model.scales={model.scales} "
              "(each scaled crop must keep 17 pixels for the stride-8 trunk)")
    _one_of("model.merge", model.merge, MERGES)
    _positive("model.trunk_width", model.trunk_width)
    if model.attention_filters is not None:
        _positive("model.attention_filters", model.attention_filters)
    if not 0.0 <= model.dropout < 1.0:
        _fail("model.dropout", model.dropout, "must be in [0, 1)")
    if model.imagenet_weights is not None and model.trunk_width != 1.0:
        _fail("model.imagenet_weights", model.imagenet_weights,
              "needs model.trunk_width=1.0 (ImageNet VGG-16 is full width); "
              f"model.trunk_width={model.trunk_width}")
    if model.init_from is not None and model.imagenet_weights is not None:
        _fail("model.init_from", model.init_from,
              "cannot be combined with model.imagenet_weights="
              f"{model.imagenet_weights!r} (the trained model already holds "
              "the trunk: set model.imagenet_weights=null)")

    if (opt.steps is None) == (opt.epochs is None):
        raise ValueError(
            "Give exactly one of `optimization.steps` and "
            "`optimization.epochs`. Received: "
            f"optimization.steps={opt.steps!r}, optimization.epochs={opt.epochs!r}"
        )
    _positive("optimization.steps_per_epoch", opt.steps_per_epoch)
    if opt.epochs is not None:
        _positive("optimization.epochs", opt.epochs)
    else:
        _positive("optimization.steps", opt.steps)
        if opt.steps % opt.steps_per_epoch:
            raise ValueError(
                "`optimization.steps` must be a multiple of "
                "`optimization.steps_per_epoch` (an epoch is the unit of "
                f"checkpoints and resumption). Received: optimization.steps="
                f"{opt.steps}, optimization.steps_per_epoch="
                f"{opt.steps_per_epoch}. "
                + _steps_suggestion(opt.steps, opt.steps_per_epoch)
            )
    for key in ("base_lr", "head_lr_multiplier", "bias_lr_multiplier",
                "step_size", "step_gamma", "poly_power",
                "gradient_accumulation_steps"):
        _positive(f"optimization.{key}", getattr(opt, key))
    if not 0.0 <= opt.momentum <= 1.0:
        _fail("optimization.momentum", opt.momentum, "must be in [0, 1]")
    _non_negative("optimization.weight_decay", opt.weight_decay)
    _non_negative("optimization.warmup_steps", opt.warmup_steps)
    _one_of("optimization.schedule", opt.schedule, SCHEDULES)
    _one_of("optimization.mixed_precision", opt.mixed_precision,
            MIXED_PRECISION_POLICIES)
    _non_negative("optimization.merged_loss_weight", opt.merged_loss_weight)
    if opt.scale_loss_weights is not None:
        if len(opt.scale_loss_weights) != len(model.scales) or any(
            w < 0 for w in opt.scale_loss_weights
        ):
            _fail("optimization.scale_loss_weights", opt.scale_loss_weights,
                  f"must be null or {len(model.scales)} weights >= 0, one per "
                  f"scale of model.scales={model.scales}")

    if not run.model_dir:
        _fail("runtime.model_dir", run.model_dir, "must be a folder path")
    _one_of("runtime.strategy", run.strategy, STRATEGIES)
    _one_of("runtime.training_loop", run.training_loop, TRAINING_LOOPS)
    if run.strategy == "multi_worker" and run.training_loop == "fit":
        _fail("runtime.training_loop", run.training_loop,
              "cannot be 'fit' with runtime.strategy='multi_worker' (Keras 3's "
              "fit is broken under MultiWorkerMirroredStrategy, keras #20585)")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        # tf.distribute and the custom loop (a tf.function) need TensorFlow
        # tensors; on JAX the trainer runs `model.fit`, over the local
        # devices with keras.distribution.DataParallel (strategy.py).
        allowed = ("auto", "default", "mirrored") if backend == "jax" else (
            "auto", "default")
        if run.strategy not in allowed:
            _fail("runtime.strategy", run.strategy,
                  f"must be one of {list(allowed)} under "
                  f"KERAS_BACKEND={backend!r} (the others need "
                  "KERAS_BACKEND=tensorflow)")
        if run.training_loop == "custom":
            _fail("runtime.training_loop", run.training_loop,
                  f"must be 'auto' or 'fit' under KERAS_BACKEND={backend!r}: "
                  "the custom loop needs KERAS_BACKEND=tensorflow")
    for key in ("checkpoint_every_epochs", "keep_checkpoints",
                "attention_image_every_epochs", "validation_steps"):
        _non_negative(f"runtime.{key}", getattr(run, key))
    _one_of("runtime.verbose", run.verbose, (0, 1, 2))
    for key, seed in (("data.seed", data.seed), ("runtime.seed", run.seed)):
        if not 0 <= seed < 2**32:
            _fail(key, seed, "must be in [0, 2**32 - 1]")
    return config


def batches_per_epoch(config):
    """Forward/backward batches of one epoch (updates x accumulation)."""
    opt = config.optimization
    return opt.steps_per_epoch * opt.gradient_accumulation_steps
