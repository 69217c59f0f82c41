"""The set-up of a process that trains small models: one thread, and an allocator that keeps its memory.

- One thread for torch and for the BLAS under NumPy: trials are parallelised across processes, and a
  tiny model given two threads on two busy cores ran ~30x slower than with one.
- glibc's malloc serves blocks above its mmap threshold (128 KiB at first, adapted upwards up to
  32 MiB) with fresh ``mmap`` pages, and returns them on free. A batched model's activations, e.g.
  64 members × 256 examples × width 32 in float32 (2 MiB), are allocated and freed several times per
  step, so each step page-faults megabytes of zeroed pages: measured here, a third of a batched MLP's
  step. Raising the mmap and trim thresholds (``mallopt``, glibc's documented tunables, the same as
  ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``) keeps freed blocks in the heap for reuse —
  what the caching allocators (jemalloc, tcmalloc) that PyTorch's CPU performance guide recommends
  do. Elsewhere than glibc this is skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def setup_worker() -> None:
    """One thread for torch and the BLAS, and the allocator set to keep freed memory."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    keep_freed_memory()
