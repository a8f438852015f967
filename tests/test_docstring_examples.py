"""Every docstring example of the package runs and prints what it says.

Examples that need files or data that a test machine does not have are
marked `# doctest: +SKIP` where they stand; all others run here.
"""

import doctest
import importlib
import os
import pkgutil

import keras
import numpy as np
import pytest

import keras_scaleattn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _modules():
    names = []
    for info in pkgutil.walk_packages(keras_scaleattn.__path__,
                                      "keras_scaleattn."):
        module = importlib.import_module(info.name)
        if any(t.examples for t in doctest.DocTestFinder().find(module)):
            names.append(info.name)
    return names


MODULES = _modules()


def test_the_package_has_examples():
    # Layers, losses, ops, data, evaluation, inference, training, export.
    assert len(MODULES) >= 40


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(REPO)  # some examples name training/configs/*.yaml
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, globs=dict(vars(module), np=np, keras=keras),
        optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0
