"""Mixed precision from the config: float32 weights, finite losses."""

import keras
import numpy as np
import pytest

from keras_scaleattn.training import CaffeSGD
from keras_scaleattn.training import train
from training_helpers import tiny_config


@pytest.mark.parametrize("policy, loop", [("mixed_bfloat16", "fit"),
                                          ("mixed_float16", "custom")])
def test_mixed_precision_trains(tmp_path, policy, loop):
    config = tiny_config(tmp_path, optimization={"steps": 1, "mixed_precision": policy},
                         runtime={"training_loop": loop})
    result = train(config)
    model = result.model
    assert result.training_loop == loop
    # The layers compute in the policy (the model object itself reports
    # float32: ScaleAttentionSegmenter does not pass dtype to keras.Model).
    assert model.get_layer("trunk").dtype_policy.name == policy
    assert model.get_layer("scale_attention").dtype_policy.name == policy
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert np.isfinite(result.history["loss"][0])
    if policy == "mixed_float16":
        # Loss scaling around CaffeSGD, as compile sets it up for fit.
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(model.optimizer.inner_optimizer, CaffeSGD)
    else:
        assert isinstance(model.optimizer, CaffeSGD)
    assert int(model.optimizer.iterations) == 1
