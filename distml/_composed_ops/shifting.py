"""roll, movedim, tile, repeat_interleave: composed from narrow + cat and
permute / expand / reshape."""
from .._tensor import Tensor, cat, tensor
from ..dtypes import int64
from .._tensor.shapes import _normalize_dim


class ShiftingOps:

    def roll(self, shifts, dims=None):
        if dims is None:
            if not isinstance(shifts, int):
                if len(shifts) != 1:
                    raise RuntimeError(f"roll(): shifts ({len(shifts)}) and dims (0) must "
                                       "have the same length when dims is not given")
                shifts = shifts[0]
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        out = self
        for shift, dim in zip(shifts, dims):
            dim = _normalize_dim(dim, self.ndim)
            n = self.shape[dim]
            s = shift % n if n else 0
            if s:
                out = cat([out.narrow(dim, n - s, s), out.narrow(dim, 0, n - s)], dim)
        return out

    def movedim(self, source, destination):
        src = (source,) if isinstance(source, int) else tuple(source)
        dst = (destination,) if isinstance(destination, int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)}"
                               f" dims) should contain the same number of dims as destination "
                               f"({list(dst)} dims)")
        src = [_normalize_dim(s, self.ndim) for s in src]
        dst = [_normalize_dim(s, self.ndim) for s in dst]
        order = [None] * self.ndim
        for s, t in zip(src, dst):
            order[t] = s
        rest = iter(k for k in range(self.ndim) if k not in src)
        order = [o if o is not None else next(rest) for o in order]
        return self.permute(order)

    moveaxis = movedim

    def tile(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) \
            else dims
        dims = (1,) * (self.ndim - len(dims)) + tuple(dims)
        return self.repeat(dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        x = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else _normalize_dim(dim, x.ndim)
        if isinstance(repeats, Tensor) and repeats.numel() == 1:
            repeats = int(repeats.item())
        if isinstance(repeats, int):
            shape = list(x.shape)
            expanded = x.unsqueeze(dim + 1).expand(
                shape[:dim + 1] + [repeats] + shape[dim + 1:])
            return expanded.reshape(shape[:dim] + [shape[dim] * repeats] + shape[dim + 1:])
        counts = repeats.tolist()
        if len(counts) != x.shape[dim]:
            raise RuntimeError("repeats must have the same size as input along dim")
        idx = [i for i, c in enumerate(counts) for _ in range(c)]
        return x.index_select(dim, tensor(idx, dtype=int64, device=x.device)
                              .reshape(len(idx)))


FREE = ("roll", "movedim", "moveaxis", "tile", "repeat_interleave")
