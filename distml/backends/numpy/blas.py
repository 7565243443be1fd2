"""The numpy backend's BLAS: OpenBLAS's cblas_sgemm and thread count through ctypes, and
matmul and elementwise ops split over the intra-op threads (backends/parallel.py)."""
import ctypes
import math
import os

import numpy as np

from ..parallel import POOL, in_parts as _in_parts, parts as _parts
from ..process import keep_freed_arrays_in_heap

keep_freed_arrays_in_heap()


def _find_openblas():
    """cblas_sgemm of the OpenBLAS that numpy's wheel bundles (scipy-openblas, 64-bit
    ints), called through ctypes: unlike np.matmul it accumulates into its output
    (beta = 1) and takes row strides, so a conv can sum one GEMM per kernel tap over
    offset views of the padded input without copying columns. Also its thread-count
    getter and setter. (None, None) when not found (another BLAS, a different layout) or
    DISTML_CBLAS=0; numpy's matmul stands in then (through a temporary), on one thread."""
    if os.environ.get("DISTML_CBLAS") == "0":
        return None, None
    import glob
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            fn = getattr(lib, prefix + "cblas_sgemm64_", None)
            if fn is None:
                continue
            ptr, f32, enum, int_t = ctypes.c_void_p, ctypes.c_float, ctypes.c_int, ctypes.c_int64
            fn.argtypes = [enum, enum, enum, int_t, int_t, int_t, f32, ptr, int_t, ptr, int_t,
                           f32, ptr, int_t]
            fn.restype = None
            get = getattr(lib, prefix + "openblas_get_num_threads64_", None)
            set_ = getattr(lib, prefix + "openblas_set_num_threads64_", None)
            if get is None or set_ is None:
                return fn, None
            get.argtypes, get.restype = [], ctypes.c_int
            set_.argtypes, set_.restype = [ctypes.c_int], None
            return fn, (get, set_)
    return None, None


_SGEMM, _BLAS_THREADS = _find_openblas()
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _gemm_operand(a):
    """(transpose flag, leading dimension) of a 2-D float32 view for cblas, or None."""
    m, n = a.shape
    s0, s1 = a.strides
    if s1 == 4 and s0 % 4 == 0 and s0 // 4 >= max(n, 1):
        return _NO_TRANS, s0 // 4
    if s0 == 4 and s1 % 4 == 0 and s1 // 4 >= max(m, 1):
        return _TRANS, s1 // 4
    return None


def _sgemm(a, b, c, beta):
    """c = a @ b + beta * c (beta 0 or 1) for 2-D float32, in place: cblas writes c with its
    row stride (a column slice needs no temporary); without cblas, numpy's matmul."""
    (m, k), n = a.shape, b.shape[1]
    ta, tb = _gemm_operand(a), _gemm_operand(b)
    if _SGEMM is None or ta is None or tb is None or c.strides[1] != 4:
        if beta:
            c += np.matmul(a, b)
        else:
            np.matmul(a, b, out=c)
        return
    _SGEMM(_ROW_MAJOR, ta[0], tb[0], m, n, k, 1.0, a.ctypes.data, ta[1], b.ctypes.data, tb[1],
           beta, c.ctypes.data, c.strides[0] // 4)


GEMM_WORK = 64  # multiply-adds per unit of work (backends/parallel.py's PARALLEL_MIN)
# GEMMs split into a part per thread, not OVERSPLIT's more: every part packs the operand
# the parts share again (measured: ResNet-18's GEMMs 3% faster in all on two threads,
# a (64, 2048) @ (2048, 576) weight gradient 1.05-1.9x)
GEMM_OVERSPLIT = 1


def set_num_threads(n):
    """distml's intra-op threads on the CPU (torch.set_num_threads). With more than one,
    big ops are split into a part per thread, each running single-threaded BLAS: this
    sets OpenBLAS's own thread count to 1, process-wide (numpy's matmul included).
    (distml.set_num_threads validates n.)"""
    POOL.threads = n
    if _BLAS_THREADS is not None:
        _BLAS_THREADS[1](1)


def get_num_threads():
    return POOL.threads


def _default_threads():
    env = os.environ.get("DISTML_NUM_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"DISTML_NUM_THREADS must be a positive integer, got {env!r}")
        return int(env)
    # OpenBLAS's count honours OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else the cores
    return _BLAS_THREADS[0]() if _BLAS_THREADS is not None else 1


set_num_threads(_default_threads())


def _matmul(a, b, out=None):
    """np.matmul, split over the threads: float32 2-D products by output rows or columns
    (whichever is larger) or, for a long reduction, by the reduced dim; batched ones by
    the leading batch dim."""
    if a.dtype != np.float32 or b.dtype != np.float32 or a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    thin = min(m, n, k) < 16  # memory-bound (a 1-channel conv): the elements it moves
    work = math.prod(batch) * max(m * n * k // GEMM_WORK, thin * (m * n + m * k + k * n))
    # an operand BLAS cannot read (a conv's kernel tap, strided) is copied by matmul: the
    # parts copy their shares
    work += sum(x.size for x in (a, b) if _gemm_operand(x[(0,) * (x.ndim - 2)]) is None)
    if _parts(work) == 1:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(batch + (m, n), dtype=np.float32)
    if batch and batch[0] > 1:
        def lead(arr, i0, i1):  # the operand's share of the leading batch dim
            return arr[i0:i1] if arr.ndim == out.ndim and arr.shape[0] > 1 else arr

        _in_parts(batch[0], work, lambda i0, i1: np.matmul(lead(a, i0, i1), lead(b, i0, i1),
                                                           out=out[i0:i1]))
    elif batch:  # a batch of one: drop it
        _matmul(a.reshape(a.shape[-2:]) if a.ndim > 2 else a,
                b.reshape(b.shape[-2:]) if b.ndim > 2 else b, out[(0,) * len(batch)])
    elif _long_reduction(m, n, k):
        # a long reduction to a small output (weight gradients): partial products, added
        parts = _in_parts(k, work, lambda k0, k1: np.matmul(a[:, k0:k1], b[k0:k1]), align=16,
                           oversplit=GEMM_OVERSPLIT)
        np.copyto(out, _summed(parts))
    elif m >= n:
        _in_parts(m, work, lambda r0, r1: np.matmul(a[r0:r1], b, out=out[r0:r1]), align=8,
                  oversplit=GEMM_OVERSPLIT)
    else:
        _in_parts(n, work, lambda c0, c1: _sgemm(a, b[:, c0:c1], out[:, c0:c1], 0.0), align=8,
                  oversplit=GEMM_OVERSPLIT)
    return out


def _long_reduction(m, n, k):
    """Whether _matmul splits an (m, k) @ (k, n) product over k (else over its rows when
    m >= n, its columns when not)."""
    return k >= 8 * max(m, n)


def _summed(parts):
    """The partial products of a reduction split over the threads, added (into the first)."""
    out = parts[0]
    for part in parts[1:]:
        out += part
    return out


def _elementwise(fn, out_dtype, *arrays):
    """fn(*arrays, out=result) for an elementwise fn, over ranges of elements in parallel
    when every array is 0-d or C-contiguous with the result's shape (else in one call)."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    out = np.empty(shape, dtype=out_dtype)
    if _parts(out.size) == 1 or \
            any(a.ndim and (a.shape != shape or not a.flags.c_contiguous) for a in arrays):
        fn(*arrays, out=out)
        return out
    flat_out = out.reshape(-1)
    flats = [a.reshape(-1) if a.ndim else a for a in arrays]

    def piece(e0, e1):
        with np.errstate(all="ignore"):  # (the caller's errstate does not reach helpers)
            fn(*[f[e0:e1] if f.ndim else f for f in flats], out=flat_out[e0:e1])
    _in_parts(out.size, out.size, piece, align=16)
    return out


def _contiguous(a):
    """np.ascontiguousarray, big views copied by the threads (ranges of the first axis)."""
    if a.flags.c_contiguous or a.ndim == 0 or _parts(a.size) == 1:
        return np.ascontiguousarray(a)
    out = np.empty(a.shape, dtype=a.dtype)
    _in_parts(a.shape[0], a.size, lambda i0, i1: np.copyto(out[i0:i1], a[i0:i1]))
    return out

