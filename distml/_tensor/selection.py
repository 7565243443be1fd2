"""Ops whose result shape depends on the data (nonzero, masked_select, unique,
bincount...): the positions are read back to the host, like boolean-mask indexing, then
values are gathered on the device where gradients flow."""
import builtins

from ._ops_util import api


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
    __slots__ = ()  # a base of Tensor, which has its own slots

    def nonzero(self, *, as_tuple=False):
        d = api()
        pos = _positions(self.detach())
        nd = self.ndim
        if as_tuple:
            if nd == 0:
                return (d.zeros(len(pos), dtype=d.int64, device=self.device),)
            return tuple(d.tensor([p[k] for p in pos], dtype=d.int64, device=self.device)
                         .reshape(len(pos)) for k in range(nd))
        return d.tensor(pos, dtype=d.int64, device=self.device).reshape(len(pos), nd)

    def argwhere(self):
        return self.nonzero()

    def count_nonzero(self, dim=None):
        return (self != 0).long().sum(dim)

    def masked_select(self, mask):
        d = api()
        shape = d.broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        x = self.expand(shape)
        return x[mask.expand(shape)]

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        d = api()
        if dim is not None:
            raise NotImplementedError("unique(dim=...) is not implemented in distml")
        flat = self.detach().reshape(-1).tolist()
        values = builtins.sorted(set(flat))  # (the argument `sorted` hides the builtin)
        out = d.tensor(values, dtype=self.dtype, device=self.device).reshape(len(values))
        extra = []
        if return_inverse:
            where = {v: i for i, v in enumerate(values)}
            extra.append(d.tensor([where[v] for v in flat], dtype=d.int64, device=self.device)
                         .reshape(self.shape))
        if return_counts:
            counts = {}
            for v in flat:
                counts[v] = counts.get(v, 0) + 1
            extra.append(d.tensor([counts[v] for v in values], dtype=d.int64,
                                  device=self.device).reshape(len(values)))
        return (out, *extra) if extra else out

    def bincount(self, weights=None, minlength=0):
        d = api()
        if self.ndim != 1 or self.dtype is not d.int64:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        n = max(minlength, (int(self.amax().item()) + 1) if self.numel() else 0)
        src = weights if weights is not None else d.ones(self.shape[0], dtype=d.int64,
                                                         device=self.device)
        zeros = d.zeros(n, dtype=src.dtype, device=self.device)
        return zeros.scatter_add(0, self, src)


FREE = ("nonzero", "argwhere", "count_nonzero", "masked_select", "unique", "bincount")
