import json
import os

import numpy as np
import pytest

from keras_scaleattn.evaluation import format_markdown_table
from keras_scaleattn.evaluation import size_table_row
from keras_scaleattn.evaluation import write_bytes_atomic
from keras_scaleattn.evaluation import write_json_atomic
from keras_scaleattn.evaluation import write_text_atomic


def test_markdown_table_exact_text():
    rows = {
        "single": {"mIoU": 51.91, "small": np.float32(40.5), "images": 3},
        "attention | E-Supv": {"mIoU": 56.394, "small": float("nan")},
    }
    text = format_markdown_table(rows, ["mIoU", "small", "large", "images", "note"])
    assert text == (
        "| model | mIoU | small | large | images | note |\n"
        "|---|---:|---:|---|---:|---|\n"
        "| single | 51.91 | 40.50 | - | 3 | - |\n"
        "| attention \\| E-Supv | 56.39 | - | - | - | - |\n"
    )


def test_markdown_table_accepts_pairs_and_options():
    text = format_markdown_table(
        [("max", {"mIoU": 0.5302})], ["mIoU"], row_header="merge", float_format="{:.1%}"
    )
    assert text.splitlines() == ["| merge | mIoU |", "|---|---:|", "| max | 53.0% |"]
    with pytest.raises(ValueError, match="rows"):
        format_markdown_table([("max", 1.0)], ["mIoU"])


def test_size_table_row():
    size_result = {b: {"miou": v} for b, v in zip(("small", "medium", "large"), (0.1, 0.2, 0.3))}
    assert size_table_row(0.5, size_result) == pytest.approx(
        {"mIoU": 50.0, "small": 10.0, "medium": 20.0, "large": 30.0}
    )
    with pytest.raises(ValueError, match="size_result"):
        size_table_row(0.5, {"small": {"miou": 0.1}})


def test_write_json_atomic_round_trip(tmp_path):
    path = tmp_path / "result.json"
    obj = {
        "miou": np.float32(0.25),
        "per_class_iou": {"bus": float("nan"), "car": np.float64(0.5)},
        "confusion_matrix": np.array([[1, 2], [3, 4]], np.int64),
        "scales": (1.0, 0.5),
        "attention": {1.0: 0.7, np.int64(2): 0.3},
        "count": np.int64(7),
    }
    assert write_json_atomic(path, obj) == str(path)
    assert json.loads(path.read_text()) == {
        "miou": 0.25,
        "per_class_iou": {"bus": None, "car": 0.5},
        "confusion_matrix": [[1, 2], [3, 4]],
        "scales": [1.0, 0.5],
        "attention": {"1.0": 0.7, "2": 0.3},
        "count": 7,
    }
    assert os.listdir(tmp_path) == ["result.json"]


def test_failed_write_keeps_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "result.json"
    write_json_atomic(path, {"miou": 0.5})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"miou": object()})
    with pytest.raises(TypeError):
        write_bytes_atomic(path, "not bytes")
    assert json.loads(path.read_text()) == {"miou": 0.5}
    assert os.listdir(tmp_path) == ["result.json"]


def test_write_text_atomic_overwrites_with_plain_open_permissions(tmp_path):
    path = tmp_path / "table.md"
    write_text_atomic(path, "old")
    write_text_atomic(str(path), "| a |\nnew é\n")
    assert path.read_text(encoding="utf-8") == "| a |\nnew é\n"
    reference = tmp_path / "reference"
    reference.write_text("x")
    assert os.stat(path).st_mode == os.stat(reference).st_mode
    with pytest.raises(ValueError, match="text"):
        write_text_atomic(path, b"bytes")
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "missing" / "x.md", "x")
