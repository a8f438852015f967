"""Data: source datasets, augmentation and the input pipeline.

Every loader returns a *source*: an unbatched `tf.data.Dataset` of
`(image uint8 [H, W, 3] RGB, label uint8 [H, W])`, 255 = ignore.
`make_pipeline` turns a source into training or evaluation batches of float32
RGB images in [0, 255] and int32 labels (VGG preprocessing happens inside the
model).
"""

from keras_scaleattn.data.augmentation import pad_to_size
from keras_scaleattn.data.augmentation import random_crop
from keras_scaleattn.data.augmentation import random_mirror
from keras_scaleattn.data.augmentation import random_scale
from keras_scaleattn.data.constants import IGNORE_LABEL
from keras_scaleattn.data.constants import MEAN_RGB
from keras_scaleattn.data.file_pairs import file_pair_dataset
from keras_scaleattn.data.file_pairs import read_image_file
from keras_scaleattn.data.file_pairs import read_mask_file
from keras_scaleattn.data.list_file import glob_pair_dataset
from keras_scaleattn.data.list_file import list_file_dataset
from keras_scaleattn.data.list_file import read_pair_list
from keras_scaleattn.data.person_part import PERSON_PART_CLASS_NAMES
from keras_scaleattn.data.person_part import PERSON_PART_NUM_CLASSES
from keras_scaleattn.data.person_part import person_part_dataset
from keras_scaleattn.data.pipeline import make_pipeline
from keras_scaleattn.data.registry import SOURCES
from keras_scaleattn.data.registry import get_source
from keras_scaleattn.data.synthetic import SYNTHETIC_CLASS_NAMES
from keras_scaleattn.data.synthetic import SYNTHETIC_NUM_CLASSES
from keras_scaleattn.data.synthetic import SYNTHETIC_REGION_NAMES
from keras_scaleattn.data.synthetic import SyntheticObject
from keras_scaleattn.data.synthetic import render_synthetic_image
from keras_scaleattn.data.synthetic import sample_synthetic_objects
from keras_scaleattn.data.synthetic import synthetic_region_maps
from keras_scaleattn.data.synthetic import synthetic_regions
from keras_scaleattn.data.synthetic import synthetic_scale_arrays
from keras_scaleattn.data.synthetic import synthetic_scale_dataset
from keras_scaleattn.data.tfds_sources import map_tfds_labels
from keras_scaleattn.data.tfds_sources import tfds_background_class
from keras_scaleattn.data.tfds_sources import tfds_class_names
from keras_scaleattn.data.tfds_sources import tfds_num_classes
from keras_scaleattn.data.tfds_sources import tfds_segmentation_dataset
from keras_scaleattn.data.validation import check_example
from keras_scaleattn.data.validation import validate_labels
from keras_scaleattn.data.voc import VOC_CLASS_NAMES
from keras_scaleattn.data.voc import VOC_NUM_CLASSES
from keras_scaleattn.data.voc import voc_segmentation_dataset
