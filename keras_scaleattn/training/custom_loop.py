"""A `strategy.run` training loop, for where Keras 3's `fit` cannot go.

Keras 3's `fit` fails under `MultiWorkerMirroredStrategy` (keras #20585,
tensorflow #72388: `_maybe_symbolic_build` reduces a PerReplica batch and
`reduce_per_replica` reduces scalars with `axis=0`), and Keras'
`gradient_accumulation_steps` fails under any multi-replica strategy (its
update runs in an `ops.cond` in replica context, where the optimizer's
gradient all-reduce is a `merge_call`: "merge_call called while defining a
new graph"). This loop avoids both:

- one `tf.function` per optimizer update pulls `accumulation_steps`
  global batches from a distributed iterator and runs one `strategy.run`;
- each replica sums its gradients over the micro-batches and calls
  `optimizer.apply` once (the optimizer all-reduces with SUM, as in `fit`);
- the loss of every supervised output is the sum of pixel losses over the
  replica's pixels divided by the number of labelled (not ignored) pixels
  of the *global* batch (one all-reduce of the counts), so the summed
  gradients are exactly those of the single-device mean over the global
  batch, ignore label included.

It drives the same Keras callbacks as `fit` (progress bar, TensorBoard,
`BackupAndRestore`, checkpoints, attention images) through
`keras.callbacks.CallbackList`, with the same log names (`loss`,
`logits_loss`, `scale_logits_0_loss`, ...).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_scaleattn.losses.segmentation_cross_entropy import IGNORE_LABEL
from keras_scaleattn.losses.segmentation_cross_entropy import SegmentationCrossEntropy
from keras_scaleattn.losses.segmentation_cross_entropy import subsample_labels
from keras_scaleattn.ops.resize import spatial_size


def labelled_pixel_counts(labels, outputs, names, ignore_label=IGNORE_LABEL):
    """Labelled pixels of the global batch for each output, `[len(names)]`.

    Labels are subsampled to each output's size as the loss does them, so a
    pixel counts when the loss sees it. Call in replica context: the counts
    of all replicas are summed with one all-reduce.
    """
    counts = []
    for name in names:
        labels_here = subsample_labels(labels, spatial_size(outputs[name]))
        valid = ops.not_equal(labels_here, ignore_label)
        counts.append(ops.sum(ops.cast(valid, "float32")))
    counts = ops.stack(counts)
    context = tf.distribute.get_replica_context()
    if context is not None:
        counts = context.all_reduce(tf.distribute.ReduceOp.SUM, counts)
    return counts


def global_batch_losses(outputs, labels, loss_weights, global_counts,
                        ignore_label=IGNORE_LABEL):
    """This replica's share of the loss of the global batch.

    For each output `name` of `loss_weights`, the pixel-wise cross-entropy
    (`SegmentationCrossEntropy`, labels subsampled to the output's size) is
    summed over this replica's labelled pixels and divided by the labelled
    pixels of all replicas (`labelled_pixel_counts`), so the sum over
    replicas is the mean over the global batch, ignore label included.

    Args:
        outputs: dict of logits by output name, `[B, h, w, C]`.
        labels: int tensor `[B, H, W]`, full resolution, `ignore_label` =
            unlabelled.
        loss_weights: dict `name -> float`: the supervised outputs.
        global_counts: float tensor `[len(loss_weights)]`, from
            `labelled_pixel_counts(labels, outputs, list(loss_weights))`.
        ignore_label: int. Defaults to 255.

    Returns:
        `(total, parts)`: the weighted sum (a scalar), and a dict
        `"{name}_loss" -> scalar` of the unweighted per-output losses.
    """
    sum_loss = SegmentationCrossEntropy(ignore_label=ignore_label,
                                        reduction="sum")
    counts = ops.maximum(global_counts, 1.0)
    total = 0.0
    parts = {}
    for index, name in enumerate(loss_weights):
        part = ops.cast(sum_loss(labels, outputs[name]), "float32") / counts[index]
        parts[f"{name}_loss"] = part
        total = total + float(loss_weights[name]) * part
    return total, parts


class _RunningMean:
    def __init__(self):
        self.sums, self.count = {}, 0

    def update(self, logs):
        self.count += 1
        for key, value in logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        return self.result()

    def result(self):
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}


def _make_train_function(model, strategy, loss_weights, accumulation_steps):
    optimizer = model.optimizer
    variables = model.trainable_variables
    names = list(loss_weights)

    def replica_step(micro_batches):
        total_grads = None
        logs = None
        for images, labels in micro_batches:
            with tf.GradientTape() as tape:
                outputs = model(images, training=True)
                with tape.stop_recording():  # constants of the loss
                    counts = labelled_pixel_counts(labels, outputs, names)
                loss, parts = global_batch_losses(outputs, labels, loss_weights,
                                                  counts)
                # Loss scaling for mixed_float16 (LossScaleOptimizer); the
                # identity for other optimizers.
                scaled = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, variables)
            step_logs = {"loss": loss, **parts}
            if total_grads is None:
                total_grads, logs = list(grads), step_logs
            else:
                total_grads = [
                    None if a is None else a + g
                    for a, g in zip(total_grads, grads)
                ]
                logs = {k: logs[k] + step_logs[k] for k in logs}
        if accumulation_steps > 1:
            # Caffe's iter_size: the update uses the mean of the micro-batches.
            total_grads = [None if g is None else g / accumulation_steps
                           for g in total_grads]
            logs = {k: v / accumulation_steps for k, v in logs.items()}
        optimizer.apply(total_grads, variables)
        return logs

    @tf.function
    def train_function(iterator):
        micro_batches = tuple(next(iterator) for _ in range(accumulation_steps))
        per_replica = strategy.run(replica_step, args=(micro_batches,))
        # Each replica's losses are its share of the global mean.
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    return train_function


def fit_custom_loop(model, dataset, *, strategy, epochs, steps_per_epoch,
                    loss_weights, accumulation_steps=1, initial_epoch=0,
                    callbacks=(), verbose=1):
    """Trains `model` with `strategy.run`, driving Keras callbacks.

    The model must be compiled (for `model.optimizer`, which must not use
    Keras' own `gradient_accumulation_steps`) and built inside
    `strategy.scope()`.

    Args:
        model: a compiled `ScaleAttentionSegmenter`.
        dataset: `tf.data.Dataset` of global batches `(images, labels)`,
            repeated at least `(epochs - initial_epoch) * steps_per_epoch *
            accumulation_steps` times.
        strategy: the `tf.distribute.Strategy` the model was built under.
        epochs: int. Index of the last epoch + 1 (as `fit`'s `epochs`).
        steps_per_epoch: int. Optimizer updates per epoch.
        loss_weights: dict `output name -> weight` of the supervised outputs.
        accumulation_steps: int. Global batches per update. Defaults to 1.
        initial_epoch: int. First epoch to run (when resuming).
        callbacks: list of `keras.callbacks.Callback` (`ValidationLosses`
            for `val_*` logs).
        verbose: int. 0 silent, 1 progress bar, 2 one line per epoch.

    Returns:
        `keras.callbacks.History`.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("`model` must be compiled before fit_custom_loop.")
    inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    if inner.gradient_accumulation_steps:
        raise ValueError(
            "The custom loop accumulates gradients itself; the optimizer's "
            "`gradient_accumulation_steps` must be None. Received: "
            f"gradient_accumulation_steps={inner.gradient_accumulation_steps}"
        )
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        list(callbacks) + [history], add_progbar=verbose != 0,
        model=model, verbose=verbose, epochs=epochs, steps=steps_per_epoch,
    )
    train_function = _make_train_function(model, strategy, loss_weights,
                                          accumulation_steps)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    model.stop_training = False
    callback_list.on_train_begin()
    epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        mean = _RunningMean()
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            logs = {k: float(v) for k, v in train_function(iterator).items()}
            callback_list.on_train_batch_end(step, mean.update(logs))
            if model.stop_training:
                break
        epoch_logs = mean.result()
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(epoch_logs)
    return history
