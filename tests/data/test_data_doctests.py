"""The docstring examples of keras_scaleattn.data run and print what they say."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from keras_scaleattn.data import augmentation
from keras_scaleattn.data import file_pairs
from keras_scaleattn.data import pipeline
from keras_scaleattn.data import registry
from keras_scaleattn.data import synthetic
from keras_scaleattn.data import tfds_sources
from keras_scaleattn.data import validation

# voc, list_file and person_part have examples only (skipped) that need data.
MODULES = [augmentation, file_pairs, pipeline, registry, synthetic, tfds_sources,
           validation]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples(module):
    globs = dict(vars(module), np=np, tf=tf)
    result = doctest.testmod(module, globs=globs, verbose=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0
