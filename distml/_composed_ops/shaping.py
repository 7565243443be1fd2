"""Shape ops composed from reshape, expand, permute and indexing: t/T/mT, flatten,
unflatten, repeat, chunk/split/narrow, select/unbind, expand_as/reshape_as/view_as."""
import math

from .._tensor.shapes import _normalize_dim, _shape_arg


class ShapingOps:
    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _normalize_dim(start_dim, self.ndim), _normalize_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.shape[:s] + (math.prod(self.shape[s:e + 1]),) + self.shape[e + 1:]
        return self.reshape(shape)

    def unflatten(self, dim, sizes):
        dim = _normalize_dim(dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        src = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        t = self.reshape(src)
        inter = []
        for s, r in zip(src, sizes):
            inter += [1, s]
        t = t.reshape(inter).expand([x for s, r in zip(src, sizes) for x in (r, s)])
        return t.reshape([s * r for s, r in zip(src, sizes)])

    def chunk(self, chunks, dim=0):
        if self.size(dim) == 0:  # torch: `chunks` empty pieces
            return tuple(self.narrow(dim, 0, 0) for _ in range(chunks))
        size = -(-self.size(dim) // chunks)
        return self.split(size, dim)

    def split(self, split_size, dim=0):
        dim = _normalize_dim(dim, self.ndim)
        n = self.shape[dim]
        if not isinstance(split_size, (list, tuple)) and (n == 0 or split_size == 0):
            if n:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {n}")
            return (self.narrow(dim, 0, 0),)
        sizes = split_size if isinstance(split_size, (list, tuple)) else \
            [min(split_size, n - i) for i in range(0, n, split_size)]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(dim, start, s))
            start += s
        return tuple(out)

    def narrow(self, dim, start, length):
        dim = _normalize_dim(dim, self.ndim)
        key = [slice(None)] * self.ndim
        key[dim] = slice(start, start + length)
        return self[tuple(key)]

    def unbind(self, dim=0):
        return tuple(self.select(dim, i) for i in range(self.size(dim)))

    def select(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        return self[(slice(None),) * dim + (index,)]
