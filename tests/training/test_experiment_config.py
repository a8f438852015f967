"""Configs: YAML experiments, dotted overrides, errors naming key and value."""

import glob
import os

import pytest
import yaml

from keras_scaleattn.training import ExperimentConfig
from keras_scaleattn.training import load_config
from keras_scaleattn.training import save_config
from keras_scaleattn.training.config import config_from_dict
from training_helpers import REPO
from training_helpers import tiny_values

CONFIG_DIR = os.path.join(REPO, "training", "configs")
CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))


def test_the_named_experiments_exist():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {"synthetic_tiny.yaml", "voc2012_attention_3scales.yaml",
            "voc2012_single.yaml", "voc2012_max.yaml", "voc2012_average.yaml",
            "person_part_attention.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_every_yaml_loads_into_the_dataclasses(path):
    config = load_config(path)
    assert isinstance(config, ExperimentConfig)
    # Every key of the file reached the config (no silent defaults).
    with open(path) as f:
        raw = yaml.safe_load(f)
    for section, values in raw.items():
        for key, value in values.items():
            got = getattr(getattr(config, section), key)
            assert got == value, f"{section}.{key}: {got!r} != {value!r}"


def test_paper_recipe_in_the_best_voc_experiment():
    config = load_config(os.path.join(CONFIG_DIR, "voc2012_attention_3scales.yaml"))
    assert config.model.scales == [1.0, 0.75, 0.5]
    assert config.model.merge == "attention" and config.model.extra_supervision
    assert config.data.crop_size == 321 and config.data.batch_size == 10
    assert config.optimization.gradient_accumulation_steps == 3
    assert config.optimization.base_lr == 1e-3
    assert config.optimization.total_steps == 6000
    assert config.optimization.schedule == "step"
    assert config.optimization.step_size == 2000
    assert config.model.imagenet_weights


def test_variants_differ_only_in_the_model():
    load = lambda name: load_config(os.path.join(CONFIG_DIR, name))  # noqa: E731
    best = load("voc2012_attention_3scales.yaml")
    assert load("voc2012_single.yaml").model.scales == [1.0]
    assert load("voc2012_max.yaml").model.merge == "max"
    assert load("voc2012_average.yaml").model.merge == "average"
    for name in ("voc2012_single.yaml", "voc2012_max.yaml", "voc2012_average.yaml"):
        other = load(name)
        assert other.optimization == best.optimization
        assert other.data == best.data
    person = load("person_part_attention.yaml")
    assert person.data.dataset == "person_part" and person.data.num_classes == 7


def test_overrides_are_typed(tmp_path):
    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
    config = load_config(path, ["model.scales=[1.0,0.75,0.5]",
                                "optimization.steps=100",
                                "optimization.steps_per_epoch=25",
                                "optimization.base_lr=2e-4",
                                "runtime.tensorboard=false",
                                "data.scale_range=[0.6,1.4]",
                                f"runtime.model_dir={tmp_path}"])
    assert config.model.scales == [1.0, 0.75, 0.5]
    assert config.optimization.steps == 100 and config.optimization.num_epochs == 4
    assert config.optimization.base_lr == pytest.approx(2e-4)
    assert config.runtime.tensorboard is False
    assert config.data.scale_range == [0.6, 1.4]
    assert config.runtime.model_dir == str(tmp_path)


def test_resolved_config_round_trips(tmp_path):
    config = config_from_dict(tiny_values(tmp_path))
    path = save_config(config, tmp_path / "config.yaml")
    assert load_config(path) == config
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.parametrize("override, words", [
    ("model.scalez=[1.0]", ["model.scalez"]),
    ("optimisation.steps=3", ["optimisation"]),
    ("optimization.steps=abc", ["optimization.steps", "abc"]),
    ("optimization.steps=1.5", ["optimization.steps", "1.5"]),
    ("runtime.tensorboard=maybe", ["runtime.tensorboard", "maybe"]),
    ("model.scales=1.0", ["model.scales"]),
    ("optimization.schedule=cosine", ["optimization.schedule", "cosine"]),
    ("runtime.strategy=tpu", ["runtime.strategy", "tpu"]),
    ("optimization.mixed_precision=float16", ["optimization.mixed_precision", "float16"]),
    ("model.merge=sum", ["model.merge", "sum"]),
    ("model.dropout=1.0", ["model.dropout", "1.0"]),
    ("optimization.steps=7", ["optimization.steps", "7", "steps_per_epoch"]),
    ("optimization.scale_loss_weights=[1.0]", ["optimization.scale_loss_weights"]),
    ("optimization.warmup_steps=-1", ["optimization.warmup_steps", "-1"]),
    ("optimization.warmup_steps=2.5", ["optimization.warmup_steps", "2.5"]),
    ("data.num_classes=9", ["data.num_classes", "9", "must be 5", "synthetic"]),
    ("data.class_names=[a,b,c]", ["data.class_names", "['a', 'b', 'c']",
                                  "5 distinct"]),
    ("data.class_names=[a,b,c,d,a]", ["data.class_names", "distinct"]),
    ("data.class_names=[a,b,c,d,'']", ["data.class_names", "non-empty"]),
    ("optimization.steps", ["key=value", "optimization.steps"]),
])
def test_bad_override_names_key_and_value(tmp_path, override, words):
    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
    with pytest.raises(ValueError) as info:
        load_config(path, ["optimization.steps_per_epoch=5", override])
    for word in words:
        assert word in str(info.value), str(info.value)


def test_unknown_key_in_a_file_names_the_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  scales: [1.0]\n  attention_filterz: 8\n")
    with pytest.raises(ValueError, match="model.attention_filterz") as info:
        load_config(path)
    assert "bad.yaml" in str(info.value)


def test_wrong_type_in_a_file_names_the_key_and_value(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  batch_size: ten\n")
    with pytest.raises(ValueError, match="data.batch_size") as info:
        load_config(path)
    assert "ten" in str(info.value)


def test_missing_config_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_a_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_config(path)


def test_exactly_one_of_steps_and_epochs(tmp_path):
    values = tiny_values(tmp_path, optimization={"steps": None, "epochs": None})
    with pytest.raises(ValueError, match="optimization.epochs"):
        config_from_dict(values)
    values = tiny_values(tmp_path, optimization={"steps": None, "epochs": 3,
                                                 "steps_per_epoch": 2})
    assert config_from_dict(values).optimization.total_steps == 6


def test_folder_datasets_need_a_data_dir(tmp_path):
    values = tiny_values(tmp_path, data={"dataset": "voc2012", "num_classes": 21})
    with pytest.raises(ValueError, match="data.data_dir"):
        config_from_dict(values)


def test_imagenet_weights_need_a_full_width_trunk(tmp_path):
    values = tiny_values(tmp_path, model={"imagenet_weights": "/w.h5"})
    with pytest.raises(ValueError, match="model.imagenet_weights"):
        config_from_dict(values)


def test_class_names_override_the_datasets_own(tmp_path):
    from keras_scaleattn.training.trainer import class_names_for

    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
    config = load_config(path)
    assert class_names_for(config) == [
        "background", "h_stripes", "v_stripes", "warm_disc", "cool_disc"]
    config = load_config(path, ["data.class_names=[bg,h,v,warm,cool]"])
    assert class_names_for(config) == ["bg", "h", "v", "warm", "cool"]
    # Own folders have no built-in names: class ids unless named.
    folder = load_config(path, ["data.dataset=glob", "data.data_dir=/x",
                                "data.num_classes=3"])
    assert class_names_for(folder) is None


def test_tfds_datasets_fix_the_number_of_classes(tmp_path):
    from keras_scaleattn.training.trainer import class_names_for

    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
    base = ["data.data_dir=/tfds", "data.num_classes=2"]
    pets = load_config(path, base + ["data.dataset=tfds:oxford_iiit_pet"])
    assert class_names_for(pets) == ["background", "pet"]
    named = load_config(path, base + ["data.dataset=tfds",
                                      "data.train_source_kwargs={name: oxford_iiit_pet}"])
    assert class_names_for(named) == ["background", "pet"]
    with pytest.raises(ValueError) as info:
        load_config(path, ["data.dataset=tfds:oxford_iiit_pet",
                           "data.data_dir=/tfds"])   # num_classes 5
    assert "`data.num_classes` must be 2 for the tfds dataset 'oxford_iiit_pet'" in str(info.value)
    with pytest.raises(ValueError, match="`data.dataset` names no supported tfds"):
        load_config(path, base + ["data.dataset=tfds:voc/2012"])
    city = load_config(path, ["data.dataset=tfds:cityscapes/semantic_segmentation",
                              "data.data_dir=/tfds", "data.num_classes=19",
                              "data.background_class=null"])
    assert class_names_for(city)[:3] == ["road", "sidewalk", "building"]
    ade = load_config(path, ["data.dataset=tfds:scene_parse150",
                             "data.data_dir=/tfds", "data.num_classes=100",
                             "data.background_class=null"])
    assert class_names_for(ade) is None


def test_steps_not_a_multiple_of_an_epoch_suggests_both_fixes(tmp_path):
    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")  # 250 per epoch
    with pytest.raises(ValueError) as info:
        load_config(path, ["optimization.steps=400"])
    message = str(info.value)
    assert "optimization.steps=400, optimization.steps_per_epoch=250" in message
    assert ("Use optimization.steps=250 or 500, or keep 400 steps with "
            "optimization.steps_per_epoch=200.") in message
    # Each suggestion is accepted.
    for fix in (["optimization.steps=500"],
                ["optimization.steps=400", "optimization.steps_per_epoch=200"]):
        load_config(path, fix)
    with pytest.raises(ValueError, match="Use optimization.steps=250, or "
                       "keep 100 steps with optimization.steps_per_epoch=100"):
        load_config(path, ["optimization.steps=100"])


def test_the_documented_override_examples_load():
    path = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
    # docs/training.md and README.md.
    load_config(path, ["optimization.steps=250"])
    load_config(path, ["model.scales=[1.0,0.75,0.5]", "optimization.steps=500",
                       "optimization.base_lr=0.002", "runtime.tensorboard=false",
                       "runtime.model_dir=runs/three_scales"])
    load_config(path, ["model.scales=[1.0,0.5]", "optimization.steps=500",
                       "runtime.strategy=mirrored"])


@pytest.mark.parametrize("override, words", [
    ({"data": {"crop_size": 320}},
     ["data.crop_size", "must be 16k + 1 for model.scales=[1.0, 0.5]",
      "nearest: 305 or 321", "Received: data.crop_size=320"]),
    ({"data": {"crop_size": 41}},  # 8k + 1, but scale 0.5's 21 px is not
     ["data.crop_size", "16k + 1", "nearest: 33 or 49"]),
    ({"data": {"crop_size": 305}, "model": {"scales": [1.0, 0.75, 0.5]}},
     ["data.crop_size", "32k + 1", "nearest: 289 or 321"]),
    ({"data": {"crop_size": 17}, "model": {"scales": [1.0, 0.5]}},
     ["data.crop_size", "at least 33", "data.crop_size=17"]),
    ({"data": {"crop_size": 25}, "model": {"scales": [1.0, 0.5]}},
     ["data.crop_size", "16k + 1", "nearest: 33. Received"]),
    ({"model": {"scales": [1.0, 1.0]}}, ["model.scales", "distinct"]),
    ({"model": {"scales": [1.0, 3.0]}}, ["model.scales", "(0, 2]"]),
    ({"optimization": {"base_lr": float("nan")}},
     ["optimization.base_lr", "finite", "nan"]),
    ({"optimization": {"head_lr_multiplier": float("inf")}},
     ["optimization.head_lr_multiplier", "finite"]),
    ({"optimization": {"weight_decay": float("nan")}},
     ["optimization.weight_decay", "finite"]),
    ({"runtime": {"seed": -1}}, ["runtime.seed", "2**32 - 1", "-1"]),
    ({"data": {"seed": 2**32}}, ["data.seed", "2**32 - 1"]),
])
def test_values_the_run_would_fail_on_later_are_refused_at_load(
        tmp_path, override, words):
    sections = {key: value for key, value in override.items()}
    with pytest.raises(ValueError) as info:
        config_from_dict(tiny_values(tmp_path, **sections))
    for word in words:
        assert word in str(info.value)


def test_crop_sizes_of_the_form_8k_plus_1_are_accepted(tmp_path):
    for crop in (33, 49, 321, 513):
        values = tiny_values(tmp_path, data={"crop_size": crop})
        assert config_from_dict(values).data.crop_size == crop


# Sorted ids; image i is 4 + i pixels high, so its height names it.
PAPER_IDS = [f"2007_{i:06d}" for i in range(8)]


def _paper_data_folder(root):
    """A tiny folder in both paper layouts: VOC 2012 (train_aug list of
    paths, val list of ids) and PASCAL-Person-Part (list/train.txt,
    list/val.txt), sharing JPEGImages/; all labels 0."""
    import numpy as np
    from PIL import Image

    for folder in ("JPEGImages", "SegmentationClass", "SegmentationClassAug",
                   "SegmentationPart", "ImageSets/Segmentation", "list"):
        os.makedirs(os.path.join(root, folder))
    for i, image_id in enumerate(PAPER_IDS):
        Image.fromarray(np.full((4 + i, 6, 3), 30 * i, np.uint8)).save(
            os.path.join(root, "JPEGImages", f"{image_id}.jpg"))
        for folder in ("SegmentationClass", "SegmentationClassAug",
                       "SegmentationPart"):
            Image.fromarray(np.zeros((4 + i, 6), np.uint8)).save(
                os.path.join(root, folder, f"{image_id}.png"))
    lists = {
        "ImageSets/Segmentation/train_aug.txt":
            "/JPEGImages/{id}.jpg /SegmentationClassAug/{id}.png",
        "ImageSets/Segmentation/val.txt": "{id}",
        "list/train.txt": "/JPEGImages/{id}.jpg /SegmentationPart/{id}.png",
        "list/val.txt": "/JPEGImages/{id}.jpg /SegmentationPart/{id}.png",
    }
    for path, line in lists.items():
        with open(os.path.join(root, path), "w") as f:
            f.write("".join(line.format(id=i) + "\n" for i in PAPER_IDS))
    return root


def _image_orders(config):
    """The training and evaluation sources' images, as list positions."""
    from keras_scaleattn.training.trainer import build_sources

    return [[image.shape[0] - 4 for image, _ in source.as_numpy_iterator()]
            for source in build_sources(config)]


@pytest.mark.parametrize("name", ["voc2012_single", "voc2012_max",
                                  "voc2012_average", "voc2012_attention_3scales",
                                  "person_part_attention"])
def test_paper_configs_shuffle_the_sorted_image_list(name, tmp_path):
    # A list sorted by id (VOC: by year) through a 256-image shuffle buffer
    # alone gives batches of neighbouring ids: the paper configs shuffle the
    # training list once, in a fixed order (train_source_kwargs.shuffle_seed).
    path = os.path.join(CONFIG_DIR, f"{name}.yaml")
    data_dir = f"data.data_dir={_paper_data_folder(str(tmp_path / 'data'))}"
    config = load_config(path, [data_dir])
    assert config.data.train_source_kwargs == {"shuffle_seed": 0}
    in_list_order = list(range(len(PAPER_IDS)))
    train, evaluation = _image_orders(config)
    assert sorted(train) == in_list_order  # every image, once
    assert train != in_list_order
    assert evaluation == in_list_order  # only training is shuffled
    # The same seed gives the same order; another seed another one.
    assert _image_orders(load_config(path, [data_dir]))[0] == train
    other = load_config(path, [data_dir,
                               "data.train_source_kwargs.shuffle_seed=1"])
    other_train = _image_orders(other)[0]
    assert sorted(other_train) == in_list_order and other_train != train
    # Without shuffle_seed, the training images come in list order.
    with open(path) as f:
        values = yaml.safe_load(f)
    del values["data"]["train_source_kwargs"]["shuffle_seed"]
    unshuffled = config_from_dict(values, [data_dir])
    assert _image_orders(unshuffled)[0] == in_list_order


def test_background_class(tmp_path):
    from keras_scaleattn.training.config import background_class_for

    config = config_from_dict(tiny_values(tmp_path))
    assert config.data.background_class == "auto"
    assert background_class_for(config) == 0
    values = tiny_values(tmp_path, data={"background_class": None})
    assert background_class_for(config_from_dict(values)) is None
    values = tiny_values(tmp_path, data={"background_class": 3})
    assert background_class_for(config_from_dict(values)) == 3
    for bad in (5, -1, "road"):
        with pytest.raises(ValueError, match=r"data.background_class.*\[0, 5\)"):
            config_from_dict(tiny_values(tmp_path, data={"background_class": bad}))
    # "auto" is a tfds dataset's own: Cityscapes has none (class 0 is road).
    for name, classes, expected in (
            ("tfds:cityscapes/semantic_segmentation", 19, None),
            ("tfds:scene_parse150", 100, None), ("tfds:oxford_iiit_pet", 2, 0)):
        config = config_from_dict(tiny_values(
            tmp_path, data={"dataset": name, "num_classes": classes}))
        assert background_class_for(config) == expected


def test_stored_configs_of_earlier_rules_still_load_unvalidated(tmp_path):
    # A run's config.yaml written before crop sides had to be 16k + 1.
    values = tiny_values(tmp_path, data={"crop_size": 40})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(ValueError, match=r"16k \+ 1"):
        load_config(path)
    assert load_config(path, validate=False).data.crop_size == 40


def test_the_own_data_guide_yaml_loads(tmp_path):
    # docs/own_data.md: the first YAML block is the user's experiment.
    text = open(os.path.join(REPO, "docs", "own_data.md")).read()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "my_data.yaml"
    path.write_text(block)
    config = load_config(str(path))
    assert config.data.dataset == "glob" and config.data.background_class == 0
