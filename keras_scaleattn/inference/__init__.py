"""Full-resolution inference: the paper's pad, upsample x8 and crop."""

from keras_scaleattn.inference.compiled import compile_model_function
from keras_scaleattn.inference.full_resolution import alignment_step
from keras_scaleattn.inference.full_resolution import full_resolution_outputs
from keras_scaleattn.inference.full_resolution import model_evaluation_size
from keras_scaleattn.inference.full_resolution import padded_size
from keras_scaleattn.inference.full_resolution import predict_full_resolution
