"""Runs a serialized TensorRT engine on NumPy batches (TensorRT 10 and 11).

TensorRT and cuda-python are imported when a runner is made, never at
module import, so the package works without them. The name-based tensor API
(`set_input_shape`, `set_tensor_address`, `execute_async_v3`) is the same in
TensorRT 10 and 11.
"""

import os

import numpy as np

from keras_scaleattn.export.tensorrt_engine import EngineProfile


def _cudart():
    try:  # cuda-python >= 12.6
        from cuda.bindings import runtime as cudart
    except ImportError:  # older cuda-python
        from cuda import cudart
    return cudart


class TensorRTRunner:
    """Executes a TensorRT engine built by `build_engine`.

    Device buffers are kept between calls and grown when a larger input
    arrives; one CUDA stream serialises the copies and the execution.

    Args:
        path: str or os.PathLike. A serialized engine (`.engine` / `.plan`)
            built by this machine's TensorRT version for this GPU model.

    Raises:
        ImportError: if TensorRT or cuda-python is not installed.
        ValueError: if the file does not deserialize (truncated, another
            kind of file, or built by another TensorRT version / GPU).

    Example:

    >>> runner = TensorRTRunner("exports/model_fp16.plan")  # doctest: +SKIP
    >>> runner.profile.max_shape  # doctest: +SKIP
    (1, 513, 513)
    >>> runner.run(np.zeros((1, 65, 65, 3), np.float32))["class_map"].shape  # doctest: +SKIP
    (1, 65, 65)
    """

    def __init__(self, path):
        import tensorrt as trt

        self._trt = trt
        self._cudart = _cudart()
        path = os.fspath(path)
        with open(path, "rb") as f:
            data = f.read()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(data)
        if self.engine is None:
            raise ValueError(
                f"TensorRT could not deserialize {path!r}: a truncated file, "
                "another kind of file, or an engine built by another "
                "TensorRT version or for another GPU.")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i)
                 for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n)
                  == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise ValueError(
                f"{path!r} must have one input (images). Inputs: {inputs}")
        self.input_name = inputs[0]
        self.output_names = [n for n in names if n != self.input_name]
        shapes = self.engine.get_tensor_profile_shape(self.input_name, 0)
        self.profile = EngineProfile(
            *[tuple(int(d) for d in shape)[:3] for shape in shapes],
            input_name=self.input_name)
        self.input_dtype = np.dtype(trt.nptype(
            self.engine.get_tensor_dtype(self.input_name)))
        self._stream = self._check(self._cudart.cudaStreamCreate())
        self._buffers = {}

    def _check(self, result):
        error, *values = result
        if error != self._cudart.cudaError_t.cudaSuccess:
            raise RuntimeError(f"CUDA error: {error}")
        return values[0] if len(values) == 1 else values

    def _buffer(self, name, nbytes):
        pointer, capacity = self._buffers.get(name, (None, 0))
        if capacity < nbytes:
            if pointer is not None:
                self._check(self._cudart.cudaFree(pointer))
            pointer = self._check(self._cudart.cudaMalloc(max(nbytes, 1)))
            self._buffers[name] = (pointer, nbytes)
        return pointer

    def run(self, images):
        """Runs one batch.

        Args:
            images: array `[B, H, W, 3]` inside the profile, converted to the
                engine's input dtype (float32 for this package's exports).

        Returns:
            dict of NumPy arrays by output name.
        """
        trt, cudart = self._trt, self._cudart
        images = np.ascontiguousarray(images, dtype=self.input_dtype)
        self.profile.check(*images.shape[:3])
        if not self.context.set_input_shape(self.input_name, images.shape):
            raise ValueError(
                f"TensorRT rejected the input shape {images.shape}")
        pointer = self._buffer(self.input_name, images.nbytes)
        self.context.set_tensor_address(self.input_name, int(pointer))
        outputs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            outputs[name] = np.empty(shape, dtype)
            address = self._buffer(name, outputs[name].nbytes)
            self.context.set_tensor_address(name, int(address))
        kind = cudart.cudaMemcpyKind
        self._check(cudart.cudaMemcpyAsync(
            pointer, images.ctypes.data, images.nbytes,
            kind.cudaMemcpyHostToDevice, self._stream))
        if not self.context.execute_async_v3(self._stream):
            raise RuntimeError("TensorRT execution failed")
        for name, array in outputs.items():
            self._check(cudart.cudaMemcpyAsync(
                array.ctypes.data, self._buffers[name][0], array.nbytes,
                kind.cudaMemcpyDeviceToHost, self._stream))
        self._check(cudart.cudaStreamSynchronize(self._stream))
        return outputs

    def close(self):
        """Frees the device buffers and the stream."""
        for pointer, _ in self._buffers.values():
            self._cudart.cudaFree(pointer)
        self._buffers = {}
        if self._stream is not None:
            self._cudart.cudaStreamDestroy(self._stream)
            self._stream = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: CUDA may be gone
            pass
