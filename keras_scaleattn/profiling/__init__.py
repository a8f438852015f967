"""Performance measurement: FLOP counts, timing, memory and op profiles.

The library behind `benchmarks/` (docs/performance.md): `count_flops`
counts a model's convolution FLOPs at a given input shape, `interleaved_timings`
times variants round-robin on a shared machine, `matmul_peak` measures the
process's float32 matrix-multiply throughput, `RssSampler` / `run_worker` /
`leak_summary` measure resident memory, and `op_time_breakdown` says which
TensorFlow ops take the time.
"""

from keras_scaleattn.profiling.flops import FlopReport
from keras_scaleattn.profiling.flops import LayerCall
from keras_scaleattn.profiling.flops import conv_flops
from keras_scaleattn.profiling.flops import count_flops
from keras_scaleattn.profiling.flops import dense_flops
from keras_scaleattn.profiling.flops import tf_profiler_flops
from keras_scaleattn.profiling.memory import RssSampler
from keras_scaleattn.profiling.memory import current_rss_bytes
from keras_scaleattn.profiling.memory import emit_result
from keras_scaleattn.profiling.memory import leak_summary
from keras_scaleattn.profiling.memory import linear_slope
from keras_scaleattn.profiling.memory import peak_rss_bytes
from keras_scaleattn.profiling.memory import run_worker
from keras_scaleattn.profiling.op_profile import op_time_breakdown
from keras_scaleattn.profiling.previous_ops import apply_previous_ops
from keras_scaleattn.profiling.timing import Timings
from keras_scaleattn.profiling.timing import interleaved_timings
from keras_scaleattn.profiling.timing import machine_load
from keras_scaleattn.profiling.timing import matmul_flops
from keras_scaleattn.profiling.timing import matmul_peak
from keras_scaleattn.profiling.timing import paired_ratio
from keras_scaleattn.profiling.timing import summarize
