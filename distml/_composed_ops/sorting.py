"""sort, argsort, topk, msort, kthvalue: the order is computed on the host (the one
read-back, like boolean masks), the values are then gathered on the device, so gradients
flow through gather to the positions picked."""
from .._tensor import tensor, zeros
from ..dtypes import int64
import math
from collections import namedtuple

from ._util import move_to_last
from .._tensor.shapes import _normalize_dim

_sorted = namedtuple("return_types", ["values", "indices"])


def _order_key(v):
    # NaN sorts above +inf, as in torch
    return (1, 0.0) if v != v else (0, v)


def _row_orders(x, descending):
    """int64 tensor of x's last-dim sort order (stable: ties keep their input order)."""
    n = x.shape[-1]
    flat = x.detach().reshape(-1, n).tolist() if n else []
    rows = []
    for row in flat:
        keys = [_order_key(v) for v in row]
        rows.append(sorted(range(n), key=keys.__getitem__, reverse=descending))
    return tensor(rows, dtype=int64, device=x.device).reshape(x.shape)


def _sort(x, dim, descending):
    if x.ndim == 0:
        return _sorted(x.clone(), zeros((), dtype=int64, device=x.device))
    dim = _normalize_dim(dim, x.ndim)
    t, inverse = move_to_last(x, dim)
    idx = _row_orders(t, descending)
    values = t.gather(-1, idx)
    return _sorted(values.permute(inverse), idx.permute(inverse))


class SortingOps:

    def sort(self, dim=-1, descending=False, stable=False):
        return _sort(self, dim, descending)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _sort(self, dim, descending).indices

    def msort(self):
        return _sort(self, 0, False).values

    def topk(self, k, dim=-1, largest=True, sorted=True):
        dim = _normalize_dim(dim, self.ndim)
        n = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"selected index k out of range (k={k}, size {n})")
        values, indices = _sort(self, dim, largest)
        if self.ndim == 0:
            return _sorted(values, indices)
        return _sorted(values.narrow(dim, 0, k), indices.narrow(dim, 0, k))

    def kthvalue(self, k, dim=-1, keepdim=False):
        dim = _normalize_dim(dim, self.ndim)
        n = self.shape[dim] if self.ndim else 1
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension "
                               f"{dim}")
        values, indices = _sort(self, dim, False)
        if self.ndim == 0:
            return _sorted(values, indices)
        values, indices = values.narrow(dim, k - 1, 1), indices.narrow(dim, k - 1, 1)
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return _sorted(values, indices)

    def median(self, dim=None, keepdim=False):
        """torch.median: the lower of the two middle values."""
        if dim is None:
            flat = self.reshape(-1)
            if flat.numel() == 0:
                return flat.sum() * math.nan
            return flat.kthvalue((flat.numel() + 1) // 2).values
        n = self.shape[_normalize_dim(dim, self.ndim)] if self.ndim else 1
        return self.kthvalue((n + 1) // 2, dim, keepdim)


FREE = ("sort", "argsort", "msort", "topk", "kthvalue", "median")
