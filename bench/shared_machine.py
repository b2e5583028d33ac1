"""Thread settings and timing for benchmarks on a machine shared with other jobs.

Import this before NumPy, Numba or torch (it sets their thread environment on import).
"""

from __future__ import annotations

import os
import time

# Idle OpenMP threads (Numba's and torch's) sleep instead of spinning: on a machine shared with
# other jobs, spinning threads of one library starve the other's (measured: PyTorch at batch 64
# 35x slower, evsim one sample per call 9x slower when both spin).  Set before either starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The reference's matrix products are small (batch x inputs x neurons, once per step): one BLAS
# thread is its fastest, and OpenBLAS's threads spin while they wait (measured on the shared
# 2-core machine: SHD reference 2 samples/s with two threads, 97 with one).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process over all its threads) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0
