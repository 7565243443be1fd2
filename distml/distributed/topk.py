"""Top-k sparsification with error feedback (compression "topk:F").

Each round a worker adds what it did not send before (the residual) to its new gradient,
sends the k = ceil(F * n) largest-magnitude entries of each tensor (as float32) and keeps
the rest, float32 rounding of the sent entries included, as the next residual. So over
any number of rounds, everything sent plus the residual equals the sum of the true
gradients: nothing is lost, only delayed. Numpy when present, pure Python otherwise (the
browser worker under Pyodide).
"""
import heapq
import math
import struct
from array import array

from .._tensor import Tensor
from .codec import Sparse


def k_of(fraction, numel):
    """How many entries of a tensor of `numel` values are sent."""
    return min(numel, max(1, math.ceil(fraction * numel))) if numel else 0


class ErrorFeedback:
    """Per-tensor top-k with a residual per tensor name (one instance per worker)."""

    def __init__(self, fraction):
        if not 0 < fraction <= 1:
            raise ValueError(f"top-k fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction
        self.residual = {}  # name -> flat float64 (numpy array or list)

    def compress(self, name, values):
        """Sparse of the k largest entries of values + residual; keeps the rest."""
        np = _numpy()
        if np is not None:
            return self._compress_numpy(np, name, values)
        flat = _flat_list(values)
        res = self.residual.get(name)
        if res is not None and len(res) == len(flat):
            flat = [a + b for a, b in zip(flat, res)]
        k = k_of(self.fraction, len(flat))
        chosen = sorted(heapq.nlargest(k, range(len(flat)), key=lambda i: abs(flat[i])))
        sent = array("f", (flat[i] for i in chosen))  # float32, as on the wire
        for i, v in zip(chosen, sent):
            flat[i] -= v
        self.residual[name] = flat
        return Sparse(array("I", chosen), sent)

    def _compress_numpy(self, np, name, values):
        if isinstance(values, Tensor):
            values = values.detach().float().numpy()
        flat = np.asarray(values, dtype=np.float64).ravel()
        res = self.residual.get(name)
        if res is not None and res.shape == flat.shape:
            flat = flat + res
        n = flat.size
        k = k_of(self.fraction, n)
        if k < n:
            chosen = np.sort(np.argpartition(np.abs(flat), n - k)[n - k:])
        else:
            chosen = np.arange(n)
        sent = flat[chosen].astype(np.float32)
        residual = flat.copy()
        residual[chosen] -= sent
        self.residual[name] = residual
        return Sparse(chosen.astype(np.uint32), sent)


def _flat_list(values):
    """A flat list of Python floats from a Tensor, an array or a nested sequence."""
    if isinstance(values, Tensor):
        data = values.detach().float().to_bytes()
        return list(struct.unpack(f"<{len(data) // 4}f", data))
    if hasattr(values, "tolist"):
        values = values.tolist()
    out = []
    stack = [values]
    while stack:  # flatten nested lists without recursion
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        else:
            out.append(float(v))
    return out


def _numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        return None
