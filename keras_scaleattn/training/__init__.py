"""Training: typed configs, Caffe-style SGD, the fit and multi-worker loops.

`load_config(path, overrides)` reads a YAML experiment of
`training/configs/`; `train(config)` runs it (see docs/training.md).
"""

from keras_scaleattn.training.attention_image_callback import AttentionImageCallback
from keras_scaleattn.training.backup_and_restore import BackupAndRestore
from keras_scaleattn.training.caffe_sgd import CaffeSGD
from keras_scaleattn.training.config import DataConfig
from keras_scaleattn.training.config import ExperimentConfig
from keras_scaleattn.training.config import ModelConfig
from keras_scaleattn.training.config import OptimizationConfig
from keras_scaleattn.training.config import RuntimeConfig
from keras_scaleattn.training.config import config_from_dict
from keras_scaleattn.training.config import config_to_yaml
from keras_scaleattn.training.config import load_config
from keras_scaleattn.training.config import save_config
from keras_scaleattn.training.config import validate_config
from keras_scaleattn.training.custom_loop import fit_custom_loop
from keras_scaleattn.training.custom_loop import global_batch_losses
from keras_scaleattn.training.custom_loop import labelled_pixel_counts
from keras_scaleattn.training.epoch_checkpoint import EpochCheckpoint
from keras_scaleattn.training.epoch_checkpoint import save_model_atomic
from keras_scaleattn.training.layerwise_adam import LayerwiseAdam
from keras_scaleattn.training.schedules import PolyDecay
from keras_scaleattn.training.schedules import StepDecay
from keras_scaleattn.training.strategy import make_strategy
from keras_scaleattn.training.trainer import TrainingDivergedError
from keras_scaleattn.training.trainer import TrainingResult
from keras_scaleattn.training.trainer import build_model
from keras_scaleattn.training.trainer import build_optimizer
from keras_scaleattn.training.trainer import train
from keras_scaleattn.training.validation_losses import ValidationLosses
