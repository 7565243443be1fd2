"""Process-wide tuning for the CPU backends' large host buffers (a backend calls it once
when it is first imported; nothing here depends on which backend allocates)."""
import ctypes
import os
import sys


def keep_freed_arrays_in_heap():
    """Training allocates and frees the same large activations every step. glibc serves
    blocks over its mmap threshold with fresh pages (page faults and zeroing: ~8,000 a
    step for the MNIST CNN, ~7% of the step) and trims the heap on free; raising both
    thresholds lets freed arrays be reused. Linux/glibc only; DISTML_MALLOC_TUNING=0 skips it."""
    if not sys.platform.startswith("linux") or os.environ.get("DISTML_MALLOC_TUNING") == "0":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1 << 30)
        libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune

