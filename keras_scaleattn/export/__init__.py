"""Deployment: SavedModel, TFLite, ONNX and TensorRT exports, one runtime.

- `SegmentationRuntime(path)`: runs a `.keras`, SavedModel, `.tflite`,
  `.onnx` or TensorRT engine on uint8 images, with the same outputs;
  `fit="letterbox"` fits any image size to a fixed-size model or a TensorRT
  profile (`letterbox_plan`, `letterbox_images`, `restore_outputs`);
  `fit="tile"` segments large images in overlapping windows at their own
  resolution (`tile_windows`, `window_weights`, `segment_in_tiles`).
- `export_saved_model`, `export_tflite`, `export_onnx`: one format each,
  written atomically, each from a float32 copy of the model
  (`float32_model`: mixed-precision models export too); `export_artifacts` /
  `export_and_check`: all of them and the parity report, after
  `check_export_arguments` (`deploy/export.py`).
- `convert_onnx_to_float16`, `quantize_onnx_int8`: reduced-precision ONNX
  for strongly typed TensorRT; `EngineProfile`, `build_engine`,
  `trtexec_command`: TensorRT engines (`deploy/build_engine.py`).
- `run_benchmark`: latency of every runtime (`deploy/benchmark.py`).

Names are imported on first use, so that e.g. running a TFLite model does
not import ONNX, and nothing imports TensorRT until an engine is built or
run.
"""

import importlib

_EXPORTS = {
    "SegmentationRuntime": "segmentation_runtime",
    "detect_model_kind": "segmentation_runtime",
    "letterbox_plan": "letterbox",
    "letterbox_images": "letterbox",
    "restore_outputs": "letterbox",
    "tile_windows": "tiling",
    "segment_in_tiles": "tiling",
    "window_weights": "tiling",
    "export_saved_model": "saved_model",
    "export_tflite": "tflite",
    "convert_tflite": "tflite",
    "tflite_operator_counts": "tflite",
    "tflite_operator_details": "tflite",
    "export_onnx": "onnx_export",
    "convert_onnx": "onnx_export",
    "onnx_graph_summary": "onnx_export",
    "onnx_graph_problems": "onnx_export",
    "convert_onnx_to_float16": "onnx_precision",
    "quantize_onnx_int8": "onnx_precision",
    "EngineProfile": "tensorrt_engine",
    "build_engine": "tensorrt_engine",
    "precision_plan": "tensorrt_engine",
    "trtexec_command": "tensorrt_engine",
    "TensorRTRunner": "tensorrt_runner",
    "export_artifacts": "exporter",
    "export_and_check": "exporter",
    "check_export_arguments": "exporter",
    "load_keras_model": "keras_file",
    "split_image_files": "exporter",
    "FORMATS": "exporter",
    "PARITY_TOLERANCES": "parity",
    "compare_outputs": "parity",
    "measure_parity": "parity",
    "prepare_images": "images",
    "predict_folder": "folder_prediction",
    "FolderPrediction": "folder_prediction",
    "run_benchmark": "benchmark",
    "serving_function": "serving",
    "float32_model": "serving",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
