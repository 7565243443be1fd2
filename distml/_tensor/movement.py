"""Views and movement through their Functions: reshape/view, permute, transpose,
unsqueeze/squeeze, expand, flip. A view writes back to its base on an in-place op (inplace.py).
"""
import math

from .. import function
from .base import TensorBase
from .shapes import _normalize_dim, _normalize_dims, _shape_arg


class MovementOps(TensorBase):
    __slots__ = ()

    def reshape(self, *shape):
        shape = _shape_arg(shape)
        n = self.numel()
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = math.prod(s for s in shape if s != -1)
            if known == 0 or n % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
            shape = tuple(n // known if s == -1 else s for s in shape)
        if math.prod(shape) != n or any(s < 0 for s in shape):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        if shape == tuple(self.shape):
            return self
        base = self
        return function.Reshape.apply(self, shape=shape)._as_view(
            lambda v: base._assign(v.reshape(base.shape)))

    view = reshape

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of "
                               f"dimensions i.e. input.dim() = {self.ndim} is not equal to "
                               f"len(dims) = {len(dims)}")
        dims = tuple(_normalize_dim(d, self.ndim) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {dims} are not a permutation")
        if dims == tuple(range(self.ndim)):
            return self
        inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        base = self
        return function.Permute.apply(self, order=dims)._as_view(
            lambda v: base._assign(v.permute(inverse)))

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            return self
        order = list(range(self.ndim))
        a, b = _normalize_dim(dim0, self.ndim), _normalize_dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    def unsqueeze(self, dim):
        dim = _normalize_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = _normalize_dims(dim, self.ndim)
        return self.reshape(tuple(s for i, s in enumerate(self.shape)
                                  if not (i in dims and s == 1)))

    def expand(self, *shape):
        shape = _shape_arg(shape)
        if len(shape) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({self.ndim})")
        lead = len(shape) - self.ndim
        src = (1,) * lead + tuple(self.shape)
        out = []
        for i, (s, want) in enumerate(zip(src, shape)):
            if want == -1:
                if i < lead:
                    raise RuntimeError("expand: -1 is not allowed in a leading, new dimension")
                want = s
            if s != want and s != 1:
                raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                                   f"existing size ({s}) at non-singleton dimension {i}. "
                                   f"Target sizes: {list(shape)}. Tensor sizes: "
                                   f"{list(self.shape)}")
            out.append(want)
        out = tuple(out)
        t = self.reshape(src) if lead else self
        if out == tuple(t.shape):
            return t
        return function.Expand.apply(t, shape=out)

    def flip(self, dims):
        out = self
        for d in _normalize_dims(dims, self.ndim):
            be = self.device.backend
            idx = self._wrap(be.arange(self.shape[d] - 1, -1, -1, "int64"), be, self.device)
            out = out.index_select(d, idx)
        return out
