import numpy as np
import pytest

from keras_scaleattn.evaluation import ObjectSizeMIoU
from keras_scaleattn.evaluation import object_size_masks

THRESHOLDS = (5, 20)  # small: area < 5, medium: 5 <= area < 20, large: >= 20


def _scene():
    """A 20x20 label with hand-placed objects and the buckets they belong to."""
    label = np.zeros((20, 20), np.int32)
    small = np.zeros_like(label, dtype=bool)
    medium = np.zeros_like(small)
    large = np.zeros_like(small)
    # A: two class-1 pixels touching at a corner: ONE object of area 2 (8-conn).
    label[0, 0] = label[1, 1] = 1
    small[0, 0] = small[1, 1] = True
    # G: a diagonal line of five class-1 pixels: area 5 -> medium with
    # 8-connectivity (five small objects with 4-connectivity).
    for i in range(5):
        label[i, 10 + i] = 1
        medium[i, 10 + i] = True
    # B + C: two touching 2x2 class-2 squares: one object of area 8 -> medium,
    # though each alone would be small.
    label[3:5, 0:4] = 2
    medium[3:5, 0:4] = True
    # D: 2x2 class-3 square touching C: another class, own object, area 4.
    label[3:5, 4:6] = 3
    small[3:5, 4:6] = True
    # F: area exactly 5 = thresholds[0] -> medium (the bound is exclusive).
    label[8, 0:5] = 3
    medium[8, 0:5] = True
    # E: 5x5 class-1 square, area 25 -> large.
    label[10:15, 10:15] = 1
    large[10:15, 10:15] = True
    # H: a class-4 2x5 bar cut by a void column: two objects of area 4.
    label[17:19, 0:5] = 4
    label[17:19, 2] = 255
    small[17:19, 0:2] = small[17:19, 3:5] = True
    return label, {"small": small, "medium": medium, "large": large}


def test_masks_follow_components_areas_and_thresholds():
    label, expected = _scene()
    masks = object_size_masks(label, thresholds=THRESHOLDS)
    assert set(masks) == {"small", "medium", "large"}
    for name in expected:
        assert masks[name].dtype == bool
        np.testing.assert_array_equal(masks[name], expected[name], err_msg=name)


def test_background_class_none_makes_background_an_object():
    label = np.zeros((6, 6), np.int32)
    label[0, 0] = 1
    masks = object_size_masks(label, thresholds=(2, 10), background_class=None)
    assert masks["small"].sum() == 1 and masks["large"].sum() == 35


def test_invalid_thresholds_and_shapes():
    with pytest.raises(ValueError, match="thresholds"):
        object_size_masks(np.zeros((4, 4), int), thresholds=(20, 5))
    with pytest.raises(ValueError, match="thresholds"):
        ObjectSizeMIoU(3, thresholds=(5,))
    with pytest.raises(ValueError, match=r"label.shape=\(4,\)"):
        object_size_masks(np.zeros(4, int))


def test_object_size_miou_hand_computed():
    label, _ = _scene()
    prediction = label.copy()
    prediction[label == 255] = 0
    # Background predicted as class 1 everywhere: outside every object region,
    # so it must not change any bucket.
    prediction[label == 0] = 1
    prediction[10, 10:15] = 2  # large E: 5 of 25 pixels wrong
    prediction[8, 0:5] = 0  # medium F: all 5 pixels predicted background
    prediction[3:5, 4:6] = 1  # small D (class 3) predicted as class 1
    metric = ObjectSizeMIoU(5, thresholds=THRESHOLDS)
    metric.update(label, prediction)
    result = metric.result()

    large = result["large"]
    # Only class 1 has ground truth in the large region: IoU 20/25.
    assert large["miou"] == pytest.approx(0.8)
    assert large["pixel_accuracy"] == pytest.approx(0.8)
    assert (large["num_pixels"], large["num_objects"]) == (25, 1)

    medium = result["medium"]
    # Class 1 (G): 5/5; class 2: 8/8; class 3: 0/5. Background is predicted
    # there but has no ground truth in the region, so it is not averaged.
    assert medium["miou"] == pytest.approx(2 / 3)
    assert medium["pixel_accuracy"] == pytest.approx(13 / 18)
    assert (medium["num_pixels"], medium["num_objects"]) == (18, 3)
    assert np.isnan(medium["per_class_iou"]["0"])

    small = result["small"]
    # Class 1: TP 2, FP 4 (D's pixels) -> 1/3; class 3: 0; class 4: 8/8.
    assert small["miou"] == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert small["pixel_accuracy"] == pytest.approx(10 / 14)
    assert (small["num_pixels"], small["num_objects"]) == (14, 4)


def test_batch_update_equals_single_updates_and_merge():
    label, _ = _scene()
    rng = np.random.default_rng(0)
    predictions = rng.integers(0, 5, size=(2,) + label.shape)
    batched = ObjectSizeMIoU(5, thresholds=THRESHOLDS)
    batched.update(np.stack([label, label.T]), predictions)
    first, second = (ObjectSizeMIoU(5, thresholds=THRESHOLDS) for _ in range(2))
    first.update(label, predictions[0])
    second.update(label.T, predictions[1])
    merged = first.merge(second).result()
    for name, scores in batched.result().items():
        assert scores["num_objects"] == merged[name]["num_objects"]
        assert scores["num_pixels"] == merged[name]["num_pixels"]
        assert scores["miou"] == pytest.approx(merged[name]["miou"])
    with pytest.raises(ValueError, match="thresholds"):
        first.merge(ObjectSizeMIoU(5))


def test_empty_bucket_is_nan():
    metric = ObjectSizeMIoU(3, thresholds=THRESHOLDS)
    metric.update(np.zeros((4, 4), int), np.zeros((4, 4), int))
    for scores in metric.result().values():
        assert np.isnan(scores["miou"]) and scores["num_pixels"] == 0
