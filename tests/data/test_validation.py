"""`check_int`: the int check every data entry point uses."""

import numpy as np
import pytest

from keras_scaleattn.data.file_pairs import file_pair_dataset
from keras_scaleattn.data.validation import check_int


@pytest.mark.parametrize("value, kwargs, expected", [
    (3, {}, 3),
    (-4, {}, -4),
    (np.int64(7), {"minimum": 1}, 7),
    (np.uint8(0), {"minimum": 0}, 0),
    (97, {"minimum": 97}, 97),
    (None, {"allow_none": True}, None),
])
def test_accepts_ints_at_or_above_the_minimum(value, kwargs, expected):
    result = check_int(value, "n", **kwargs)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize("value, kwargs, message", [
    (0, {"minimum": 1}, "`n` must be a positive int. Received: n=0"),
    (True, {"minimum": 1}, "`n` must be a positive int. Received: n=True"),
    (2.0, {}, "`n` must be an int. Received: n=2.0"),
    ("3", {}, "`n` must be an int. Received: n='3'"),
    (None, {}, "`n` must be an int. Received: n=None"),
    (-1, {"minimum": 0, "allow_none": True},
     "`n` must be an int >= 0 or None. Received: n=-1"),
    (96, {"minimum": 97}, "`n` must be an int >= 97. Received: n=96"),
])
def test_error_names_argument_value_and_what_is_allowed(value, kwargs, message):
    with pytest.raises(ValueError) as info:
        check_int(value, "n", **kwargs)
    assert str(info.value) == message


def test_file_pair_dataset_checks_shuffle_seed_before_reading(tmp_path):
    # Arguments are checked before the files: the error is about the seed.
    with pytest.raises(ValueError, match="`shuffle_seed` must be an int >= 0 or None"):
        file_pair_dataset([str(tmp_path / "a.jpg")], [str(tmp_path / "a.png")],
                          shuffle_seed=-1)
