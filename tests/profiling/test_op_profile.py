"""Op-by-op profile: structure of the breakdown of a small graph."""

import numpy as np
import pytest

from tests.conftest import requires_tensorflow

pytestmark = requires_tensorflow


def test_breakdown_names_op_types_and_scopes():
    import tensorflow as tf

    from keras_scaleattn.profiling import op_time_breakdown

    kernel = tf.constant(np.ones((3, 3, 3, 4), np.float32))

    @tf.function
    def function(x):
        with tf.name_scope("block"):
            y = tf.nn.conv2d(x, kernel, 1, "SAME")
        return tf.image.resize(y, (8, 8))

    x = np.zeros((1, 16, 16, 3), np.float32)
    result = op_time_breakdown(function, [x], runs=2)
    assert set(result) == {"wall_s", "kernel_s", "by_op", "by_scope",
                           "top_nodes"}
    assert any("Conv2D" in op for op in result["by_op"])
    assert any("Resize" in op for op in result["by_op"])
    assert result["kernel_s"] == pytest.approx(sum(result["by_op"].values()))
    assert list(result["by_op"].values()) == sorted(
        result["by_op"].values(), reverse=True)
    node, op, seconds = result["top_nodes"][0]
    assert isinstance(node, str) and seconds >= 0
    with pytest.raises(ValueError, match="runs"):
        op_time_breakdown(function, [x], runs=0)
