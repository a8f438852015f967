"""Source datasets by name, for configs and command lines.

`get_source("voc2012", data_dir=..., split="val")` is the same as calling
`voc_segmentation_dataset(data_dir=..., split="val")`; a training config can
therefore name its data with a string and a dict of keyword arguments.
"""

import inspect

from keras_scaleattn.data.list_file import glob_pair_dataset
from keras_scaleattn.data.list_file import list_file_dataset
from keras_scaleattn.data.person_part import person_part_dataset
from keras_scaleattn.data.synthetic import synthetic_scale_dataset
from keras_scaleattn.data.tfds_sources import tfds_segmentation_dataset
from keras_scaleattn.data.voc import voc_segmentation_dataset

SOURCES = {
    "synthetic": synthetic_scale_dataset,
    "voc2012": voc_segmentation_dataset,
    "person_part": person_part_dataset,
    "list_file": list_file_dataset,
    "glob": glob_pair_dataset,
    "tfds": tfds_segmentation_dataset,
}


def get_source(name, /, **kwargs):
    """Builds a source dataset from its registered name.

    Names: `"synthetic"` (`synthetic_scale_dataset`), `"voc2012"`
    (`voc_segmentation_dataset`), `"person_part"` (`person_part_dataset`),
    `"list_file"` (`list_file_dataset`), `"glob"` (`glob_pair_dataset`),
    `"tfds"` (`tfds_segmentation_dataset`; pass the tfds name as `name=`, or
    write `"tfds:oxford_iiit_pet"`).

    Args:
        name: str. A registered name (above).
        **kwargs: keyword arguments of that loader.

    Returns:
        The loader's source `tf.data.Dataset` of `(image, label)`.

    Raises:
        ValueError: for an unknown `name` (the message lists the known ones),
            or a keyword argument the loader does not take.

    Example:

    >>> ds = get_source("synthetic", split="val", num_examples=2, image_size=97)
    >>> int(ds.cardinality())
    2
    """
    if isinstance(name, str) and name.startswith("tfds:"):
        if "name" in kwargs:
            raise ValueError(
                "Give the tfds dataset either in the source name or as "
                f"`name=`, not both. Received: name={name!r}, "
                f"kwargs name={kwargs['name']!r}"
            )
        kwargs["name"] = name[len("tfds:") :]
        name = "tfds"
    if name not in SOURCES:
        raise ValueError(
            f"Unknown source name={name!r}. Known names: {sorted(SOURCES)} "
            "(or 'tfds:<tfds name>')."
        )
    loader = SOURCES[name]
    try:
        inspect.signature(loader).bind(**kwargs)
    except TypeError as error:
        raise ValueError(
            f"Bad arguments for source name={name!r} ({loader.__name__}): "
            f"{error}. Received: kwargs={sorted(kwargs)}"
        ) from None
    return loader(**kwargs)
