"""A function of a model's inputs, compiled for the Keras backend."""

import keras


def compile_model_function(model, function):
    """Compiles `function(*tensors)`, which calls `model`, for the backend.

    - TensorFlow: `tf.function(reduce_retracing=True)`: after the first two
      input shapes, one relaxed trace serves any height and width.
    - JAX: `jax.jit` of a stateless call. The model's variables are read at
      every call and passed in, so a function built once sees the weights of
      later training updates (as a validation callback needs); XLA compiles
      once per distinct input shape.
    - Other backends: `function` itself, run eagerly.

    Build the result once and call it many times: each new compiled function
    traces the model again.

    Args:
        model: the `keras.Model` that `function` calls.
        function: callable of backend tensors returning a nest of tensors.

    Returns:
        A callable with `function`'s signature.

    Example:

    >>> import numpy as np
    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0,),
    ...                                 trunk_width=0.0625, dropout=0.0)
    >>> logits = compile_model_function(
    ...     model, lambda images: model(images, training=False)["logits"])
    >>> tuple(logits(np.zeros((1, 41, 41, 3), "float32")).shape)
    (1, 6, 6, 3)
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "jax":
        import jax

        @jax.jit
        def stateless(trainable, non_trainable, *args):
            mapping = list(zip(model.trainable_variables, trainable)) + list(
                zip(model.non_trainable_variables, non_trainable))
            with keras.StatelessScope(state_mapping=mapping):
                return function(*args)

        def run(*args):
            return stateless([v.value for v in model.trainable_variables],
                             [v.value for v in model.non_trainable_variables],
                             *args)

        return run
    return function
