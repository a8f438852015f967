"""Helpers shared by the export tests."""

import importlib.util
import os
from pathlib import Path

import numpy as np

TINY = dict(num_classes=3, scales=(1.0, 0.5), trunk_width=0.0625,
            attention_filters=8)
FIXED_SIZE = (41, 41)
ROOT = Path(__file__).resolve().parents[2]


def load_script(name):
    """Imports `deploy/<name>.py` as a module (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"deploy_{name}", ROOT / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_no_temporaries(directory):
    """No hidden temporary file or directory is left in `directory`."""
    leftovers = [name for name in os.listdir(directory)
                 if name.startswith(".")]
    assert leftovers == [], leftovers


def uint8_batch(rng, batch, height, width):
    return rng.integers(0, 256, size=(batch, height, width, 3),
                        dtype=np.uint8)
