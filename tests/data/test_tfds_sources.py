"""tfds sources: label mappings, and loading through tfds.testing.mock_data."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_scaleattn.data import map_tfds_labels
from keras_scaleattn.data import tfds_class_names
from keras_scaleattn.data import tfds_num_classes
from keras_scaleattn.data import tfds_segmentation_dataset

# Cityscapes' 19 evaluated classes, in train-id order, by label id
# (cityscapesScripts helpers/labels.py: road, sidewalk, building, wall, fence,
# pole, traffic light, traffic sign, vegetation, terrain, sky, person, rider,
# car, truck, bus, train, motorcycle, bicycle).
CITYSCAPES_EVAL_IDS = [
    7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33
]


def _expected(name, raw):
    """Reference mapping written from each dataset's documentation."""
    raw = np.asarray(raw)
    if name == "oxford_iiit_pet":
        return np.select([raw == 1, raw == 2], [1, 0], 255).astype(np.uint8)
    if name.startswith("cityscapes"):
        out = np.full(raw.shape, 255, np.uint8)
        for train_id, label_id in enumerate(CITYSCAPES_EVAL_IDS):
            out[raw == label_id] = train_id
        return out
    return np.where(raw == 0, 255, raw.astype(int) - 1).astype(np.uint8)


@pytest.mark.parametrize(
    "name, raw_values",
    [
        ("oxford_iiit_pet", [1, 2, 3]),
        ("cityscapes/semantic_segmentation", list(range(34))),
        ("scene_parse150", list(range(101))),
    ],
)
def test_label_mappings_match_the_datasets_documentation(name, raw_values):
    raw = np.array(raw_values, np.uint8).reshape(1, -1)
    label, known = map_tfds_labels(name, raw)
    np.testing.assert_array_equal(label.numpy(), _expected(name, raw))
    assert bool(tf.reduce_all(known))
    present = set(label.numpy().ravel()) - {255}
    assert present == set(range(tfds_num_classes(name)))


@pytest.mark.parametrize(
    "name, bad",
    [("oxford_iiit_pet", 0), ("oxford_iiit_pet", 4), ("scene_parse150", 101)],
)
def test_values_a_dataset_never_has_are_flagged(name, bad):
    _, known = map_tfds_labels(name, np.array([[1, bad]], np.uint8))
    assert known.numpy().tolist() == [[True, False]]


def _as_dataset_fn(examples):
    """A mock `_as_dataset` yielding the given feature dicts."""

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        del self, decoders, shuffle_files
        ds = tf.data.Dataset.from_generator(
            lambda: iter(examples),
            output_signature={
                k: tf.TensorSpec(np.asarray(v).shape, tf.as_dtype(np.asarray(v).dtype))
                for k, v in examples[0].items()
            },
        )
        if read_config is not None and read_config.add_tfds_id:
            template = f"mock-{split}__{{}}"
            ds = ds.enumerate().map(
                lambda i, ex: {"tfds_id": tf.strings.format(template, i), **ex}
            )
        return ds

    return as_dataset


def _pet_example(rng, raw_mask, file_name="pet.jpg"):
    height, width = raw_mask.shape
    return {
        "image": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "segmentation_mask": raw_mask[..., None].astype(np.uint8),
        "file_name": np.array(file_name.encode()),
    }


def test_pets_through_tfds_load_maps_trimap_and_keeps_image():
    rng = np.random.default_rng(0)
    examples = [_pet_example(rng, rng.integers(1, 4, (6, 9))) for _ in range(2)]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(examples)):
        ds = tfds_segmentation_dataset("oxford_iiit_pet", "train")
        out = list(ds.as_numpy_iterator())
    assert len(out) == 2
    for (image, label), example in zip(out, examples):
        np.testing.assert_array_equal(image, example["image"])
        np.testing.assert_array_equal(
            label, _expected("oxford_iiit_pet", example["segmentation_mask"][..., 0])
        )


def test_cityscapes_and_ade_through_tfds_load():
    rng = np.random.default_rng(1)
    city = [{
        "image_id": np.array(b"aachen_000000_000019"),
        "image_left": rng.integers(0, 256, (4, 8, 3), dtype=np.uint8),
        "segmentation_label": rng.integers(0, 34, (4, 8, 1), dtype=np.uint8),
    }]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(city)):
        ds = tfds_segmentation_dataset("cityscapes", "validation")
        (image, label), = ds.as_numpy_iterator()
    np.testing.assert_array_equal(image, city[0]["image_left"])
    raw = city[0]["segmentation_label"][..., 0]
    np.testing.assert_array_equal(label, _expected("cityscapes", raw))
    # ADE instance masks: class in R, instance id in G (ignored).
    annotation = rng.integers(0, 101, (5, 7, 3), dtype=np.uint8)
    image = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    ade = [{"image": image, "annotation": annotation}]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(ade)):
        ds = tfds_segmentation_dataset("scene_parse150", "test")
        (_, label), = ds.as_numpy_iterator()
    raw = annotation[..., 0]
    np.testing.assert_array_equal(label, _expected("scene_parse150", raw))


def test_default_mock_data_sizes_raise_the_size_mismatch_error():
    # tfds' default mock draws image and mask sizes independently: a real user
    # would want exactly this error, naming the example, not a later crash.
    with tfds.testing.mock_data(num_examples=2):
        ds = tfds_segmentation_dataset("oxford_iiit_pet", "train")
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            list(ds)
    assert "Mask size differs" in info.value.message
    assert "oxford_iiit_pet split train example" in info.value.message


def test_unexpected_raw_value_names_the_example():
    rng = np.random.default_rng(2)
    raw = np.ones((4, 4), np.uint8)
    raw[1, 1] = 7
    examples = [_pet_example(rng, raw)]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(examples)):
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            list(tfds_segmentation_dataset("oxford_iiit_pet", "train"))
    assert "Unexpected mask values" in info.value.message
    assert "[7 7]" in info.value.message and "mock-train__0" in info.value.message


def test_dataset_not_prepared_names_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        tfds_segmentation_dataset("oxford_iiit_pet", data_dir=str(tmp_path / "tfds"))
    assert str(tmp_path / "tfds") in str(info.value)


def test_unsupported_name_lists_supported_ones():
    with pytest.raises(ValueError, match="scene_parse150"):
        tfds_segmentation_dataset("voc/2012")


def test_class_names_follow_the_mapping():
    # Pet trimap 1 (pet) -> class 1, 2 (background) -> class 0.
    assert tfds_class_names("oxford_iiit_pet") == ("background", "pet")
    names = tfds_class_names("cityscapes/semantic_segmentation:1.0.0")
    assert len(names) == tfds_num_classes("cityscapes")
    # Train ids in cityscapesScripts' order: 0 road, 11 person, 18 bicycle.
    assert (names[0], names[11], names[18]) == ("road", "person", "bicycle")
    assert tfds_class_names("scene_parse150") is None
    with pytest.raises(ValueError, match="Unsupported tfds dataset"):
        tfds_class_names("voc/2012")
