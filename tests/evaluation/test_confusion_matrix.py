import keras
import numpy as np
import pytest

from keras_scaleattn.evaluation import SegmentationConfusionMatrix


def test_hand_computed_case():
    labels = np.array([[0, 0, 1], [1, 2, 255]])
    predictions = np.array([[0, 1, 1], [1, 0, 2]])
    cm = SegmentationConfusionMatrix(3, class_names=["bg", "cat", "dog"])
    cm.update(labels, predictions)
    result = cm.result()
    # Rows = ground truth; the ignored pixel (255 -> 2) is not counted.
    np.testing.assert_array_equal(
        result["confusion_matrix"], [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    )
    assert result["confusion_matrix"].dtype == np.int64
    # IoU: bg 1/(2+2-1), cat 2/(2+3-2), dog 0/(1+0-0).
    assert result["per_class_iou"] == pytest.approx(
        {"bg": 1 / 3, "cat": 2 / 3, "dog": 0.0}
    )
    assert result["miou"] == pytest.approx(1 / 3)
    assert result["pixel_accuracy"] == pytest.approx(3 / 5)
    assert result["mean_class_accuracy"] == pytest.approx((1 / 2 + 1 + 0) / 3)


def test_class_absent_from_both_is_nan_and_left_out_of_the_mean():
    cm = SegmentationConfusionMatrix(4)
    cm.update([[0, 1], [1, 1]], [[0, 1], [1, 0]])
    result = cm.result()
    iou = result["per_class_iou"]
    assert np.isnan(iou["2"]) and np.isnan(iou["3"])
    # bg 1/(1+2-1), class 1 2/(3+2-2).
    assert result["miou"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_class_only_predicted_counts_as_zero():
    cm = SegmentationConfusionMatrix(2)
    cm.update([[0, 0, 0, 0]], [[0, 0, 1, 1]])
    result = cm.result()
    assert result["per_class_iou"] == {"0": 0.5, "1": 0.0}
    assert result["miou"] == pytest.approx(0.25)


def test_empty_matrix_gives_nan_without_warnings():
    with np.errstate(all="raise"):
        result = SegmentationConfusionMatrix(3).result()
    assert np.isnan(result["miou"]) and np.isnan(result["pixel_accuracy"])


def test_matches_keras_mean_iou_and_accuracy_on_random_data():
    rng = np.random.default_rng(0)
    num_classes = 6
    ours = SegmentationConfusionMatrix(num_classes)
    reference = keras.metrics.MeanIoU(
        num_classes, ignore_class=255, sparse_y_true=True, sparse_y_pred=True
    )
    accuracy = keras.metrics.Accuracy()
    # Class 3 never appears (NaN, excluded); class 5 is only predicted.
    label_classes = np.array([0, 1, 2, 4, 255])
    for _ in range(3):
        labels = rng.choice(label_classes, size=(2, 17, 23), p=[0.4, 0.2, 0.2, 0.1, 0.1])
        predictions = rng.choice([0, 1, 2, 4, 5], size=labels.shape)
        ours.update(labels, predictions)
        reference.update_state(labels.ravel(), predictions.ravel())
        accuracy.update_state(
            labels.ravel(), predictions.ravel(), sample_weight=labels.ravel() != 255
        )
    result = ours.result()
    np.testing.assert_array_equal(
        result["confusion_matrix"], np.asarray(reference.total_cm).astype(np.int64)
    )
    assert result["miou"] == pytest.approx(float(reference.result()), rel=1e-5)
    assert result["pixel_accuracy"] == pytest.approx(float(accuracy.result()), rel=1e-6)
    assert np.isnan(result["per_class_iou"]["3"])
    assert result["per_class_iou"]["5"] == 0.0


def test_mask_excludes_pixels():
    cm = SegmentationConfusionMatrix(2)
    cm.update([[0, 1, 1]], [[0, 0, 1]], mask=[[True, False, True]])
    np.testing.assert_array_equal(cm.confusion_matrix, [[1, 0], [0, 1]])


def test_merge_equals_single_accumulation_and_reset():
    rng = np.random.default_rng(1)
    a, b, both = (SegmentationConfusionMatrix(4) for _ in range(3))
    batches = [rng.integers(0, 4, size=(2, 5, 7)) for _ in range(4)]
    for i, (labels, predictions) in enumerate(zip(batches[::2], batches[1::2])):
        (a if i == 0 else b).update(labels, predictions)
        both.update(labels, predictions)
    assert a.merge(b) is a
    np.testing.assert_array_equal(a.confusion_matrix, both.confusion_matrix)
    a.reset()
    assert a.confusion_matrix.sum() == 0
    with pytest.raises(ValueError, match="num_classes=5"):
        a.merge(SegmentationConfusionMatrix(5))


def test_float_labels_with_whole_values_are_accepted():
    cm = SegmentationConfusionMatrix(2)
    cm.update(np.array([[0.0, 1.0, 255.0]], np.float32), np.array([[0, 1, 1]]))
    np.testing.assert_array_equal(cm.confusion_matrix, [[1, 0], [0, 1]])


def test_shape_mismatch_names_both_shapes():
    cm = SegmentationConfusionMatrix(3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        cm.update(np.zeros((2, 3), int), np.zeros((3, 2), int))


def test_out_of_range_labels_and_predictions_are_named():
    cm = SegmentationConfusionMatrix(3)
    with pytest.raises(ValueError, match=r"`labels`.*\[-1, 7\]"):
        cm.update([[0, 7, -1, 255]], [[0, 0, 0, 0]])
    with pytest.raises(ValueError, match=r"`predictions`.*\[3\]"):
        cm.update([[0, 1]], [[0, 3]])
    with pytest.raises(ValueError, match="labels"):
        cm.update([[0.5, 1]], [[0, 1]])
    assert cm.confusion_matrix.sum() == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 0}, "num_classes=0"),
        ({"num_classes": 2, "class_names": ["a"]}, "class_names"),
        ({"num_classes": 2, "class_names": ["a", "a"]}, "class_names"),
        ({"num_classes": 2, "ignore_label": "void"}, "ignore_label=void"),
    ],
)
def test_invalid_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SegmentationConfusionMatrix(**kwargs)
