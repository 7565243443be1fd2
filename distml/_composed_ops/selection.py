"""Ops whose result shape depends on the data (nonzero, masked_select, unique,
bincount...): the positions are read back to the host, like boolean-mask indexing, then
values are gathered on the device where gradients flow."""
from .._tensor import ones, tensor, zeros
from .._tensor.shapes import broadcast_shapes
from ..dtypes import int64
import builtins



def _positions(mask):
    """Row-major multi-indices of the True / nonzero entries of `mask`."""
    flat = mask.reshape(-1).tolist()
    shape = tuple(mask.shape)
    out = []
    for i, v in enumerate(flat):
        if v:
            idx = []
            for s in reversed(shape):
                idx.append(i % s)
                i //= s
            out.append(idx[::-1])
    return out


class SelectionOps:

    def nonzero(self, *, as_tuple=False):
        pos = _positions(self.detach())
        nd = self.ndim
        if as_tuple:
            if nd == 0:
                return (zeros(len(pos), dtype=int64, device=self.device),)
            return tuple(tensor([p[k] for p in pos], dtype=int64, device=self.device)
                         .reshape(len(pos)) for k in range(nd))
        return tensor(pos, dtype=int64, device=self.device).reshape(len(pos), nd)

    def argwhere(self):
        return self.nonzero()

    def count_nonzero(self, dim=None):
        return (self != 0).long().sum(dim)

    def masked_select(self, mask):
        shape = broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        x = self.expand(shape)
        return x[mask.expand(shape)]

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        if dim is not None:
            raise NotImplementedError("unique(dim=...) is not implemented in distml")
        flat = self.detach().reshape(-1).tolist()
        values = builtins.sorted(set(flat))  # (the argument `sorted` hides the builtin)
        out = tensor(values, dtype=self.dtype, device=self.device).reshape(len(values))
        extra = []
        if return_inverse:
            where = {v: i for i, v in enumerate(values)}
            extra.append(tensor([where[v] for v in flat], dtype=int64, device=self.device)
                         .reshape(self.shape))
        if return_counts:
            counts = {}
            for v in flat:
                counts[v] = counts.get(v, 0) + 1
            extra.append(tensor([counts[v] for v in values], dtype=int64,
                                  device=self.device).reshape(len(values)))
        return (out, *extra) if extra else out

    def bincount(self, weights=None, minlength=0):
        if self.ndim != 1 or self.dtype is not int64:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        n = max(minlength, (int(self.amax().item()) + 1) if self.numel() else 0)
        src = weights if weights is not None else ones(self.shape[0], dtype=int64,
                                                         device=self.device)
        counts = zeros(n, dtype=src.dtype, device=self.device)
        return counts.scatter_add(0, self, src)


FREE = ("nonzero", "argwhere", "count_nonzero", "masked_select", "unique", "bincount")
