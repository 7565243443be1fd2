"""Indexing: x[key] and x[key] = v (basic, advanced and boolean-mask indices), gather,
scatter_add, index_select. The machinery is the functions below the class.
"""
import math

from .. import function
from ..dtypes import bool_, int64
from .base import TensorBase
from .free_functions import where
from .host import _is_numpy_array
from .index_put import setitem_advanced
from .shapes import _broadcast_shape, _normalize_dim


class IndexingOps(TensorBase):
    __slots__ = ()

    def gather(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "gather")
        if index.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as "
                               f"input tensor ({index.ndim} vs {self.ndim})")
        for d in range(self.ndim):
            if d != dim and index.shape[d] > self.shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be smaller than self "
                                   f"{list(self.shape)} apart from dimension {dim}")
        self._check_bounds(index, self.shape[dim], "gather")
        if index.shape != self.shape:
            # the backend primitive wants equal sizes outside `dim`: slice the input to fit
            key = tuple(slice(0, index.shape[d]) if d != dim else slice(None)
                        for d in range(self.ndim))
            src = self[key]
        else:
            src = self
        return function.Gather.apply(src, index, axis=dim)

    def scatter_add(self, dim, index, src):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "scatter_add")
        self._check_bounds(index, self.shape[dim], "scatter_add")
        if tuple(src.shape) != tuple(index.shape):
            src = src[tuple(slice(0, n) for n in index.shape)]
        return function.ScatterAdd.apply(self, index, src.type(self.dtype), axis=dim)

    def index_select(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "index_select")
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        index = index.reshape(-1)
        shape = [1] * self.ndim
        shape[dim] = index.shape[0]
        full = list(self.shape)
        full[dim] = index.shape[0]
        self._check_bounds(index, self.shape[dim], "index_select")
        return function.Gather.apply(self, index.reshape(shape).expand(full), axis=dim)

    def _check_bounds(self, index, size, op=None):
        # a cheap check where the data already lives on the host; the GPU path trusts it.
        # As torch: indexing (op None) wraps negative indices and raises IndexError;
        # gather/scatter_add/index_select want 0 <= index < size and raise RuntimeError.
        if self._backend.host_resident and index.numel():
            lo, hi = index.amin().item(), index.amax().item()
            if lo < (-size if op is None else 0) or hi >= size:
                bad = hi if hi >= size else lo
                msg = f"index {bad} is out of bounds for dimension with size {size}"
                if op is None:
                    raise IndexError(msg)
                raise RuntimeError(f"{op}(): {msg}")

    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        _setitem(self, key, value)


def _check_index(index, name):
    if not isinstance(index, TensorBase) or index.dtype is not int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got "
                           f"{getattr(index, 'dtype', type(index).__name__)}")


def _getitem(x, key):
    if not isinstance(key, tuple):
        key = (key,)
    # a bool tensor as the whole index: data-dependent shape, so read the mask back
    if len(key) == 1 and isinstance(key[0], TensorBase) and key[0].dtype is bool_:
        mask = key[0]
        if tuple(mask.shape) != tuple(x.shape[:mask.ndim]):
            raise IndexError(f"The shape of the mask {list(mask.shape)} does not match the "
                             f"shape of the indexed tensor {list(x.shape)}")
        flat = mask.reshape(-1).tolist()
        idx = x._from_host([i for i, m in enumerate(flat) if m], dtype=int64, device=x.device)
        return x.reshape((-1,) + tuple(x.shape[mask.ndim:])).index_select(0, idx)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (x.ndim - n_real)
        else:
            expanded.append(k)
    if not any(k is Ellipsis for k in key):
        expanded += [slice(None)] * (x.ndim - n_real)
    starts, stops, steps, out_shape = [], [], [], []
    advanced = []  # (position in out_shape, index tensor)
    dim = 0
    for k in expanded:
        if k is None:
            out_shape.append(1)
            continue
        size = x.shape[dim]
        if isinstance(k, TensorBase) and k.dtype is bool_:
            if k.ndim != 1 or k.shape[0] != size:
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does "
                                 f"not match the shape of the indexed tensor {list(x.shape)}; "
                                 "a mask combined with other indices must be 1-D")
            # data-dependent shape: read the mask back, as the sole-mask path does
            k = x._from_host([j for j, m in enumerate(k.tolist()) if m], dtype=int64,
                             device=x.device)
        if isinstance(k, (list, tuple)) or _is_numpy_array(k):
            k = x._from_host(k, dtype=int64, device=x.device)
        if isinstance(k, TensorBase) and k.ndim == 0 and k.dtype is int64:
            k = k.item()
        if isinstance(k, bool):
            raise IndexError("bool scalars are not supported as indices")
        if isinstance(k, int):
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with "
                                 f"size {size}")
            k %= size
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
        elif isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            a, b, s = k.indices(size)
            b = max(a, b)
            starts.append(a)
            stops.append(b)
            steps.append(s)
            out_shape.append(len(range(a, b, s)))
        elif isinstance(k, TensorBase):
            _check_index(k, "index")
            starts.append(0)
            stops.append(size)
            steps.append(1)
            advanced.append((len(out_shape), k, size))
            out_shape.append(size)
        else:
            raise IndexError(f"only integers, slices, None, Ellipsis and int64 or bool tensors "
                             f"are valid indices (got {type(k).__name__})")
        dim += 1
    out = x
    if any(a != 0 or b != n or s != 1 for a, b, s, n in zip(starts, stops, steps, x.shape)):
        out = function.Slice.apply(x, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
    if tuple(out.shape) != tuple(out_shape):
        out = out.reshape(out_shape)
    if not advanced:
        if out is x:
            return out
        return out._as_view(lambda v: _setitem(x, key, v))
    return _advanced_index(out, advanced)


def _advanced_index(x, advanced):
    positions = [p for p, _, _ in advanced]
    if positions != list(range(positions[0], positions[0] + len(positions))):
        # non-adjacent advanced indices: torch puts the result dims first
        rest = [d for d in range(x.ndim) if d not in positions]
        x = x.permute(positions + rest)
        positions = list(range(len(positions)))
    first = positions[0]
    idx_shape = ()
    for _, k, _ in advanced:
        idx_shape = _broadcast_shape(idx_shape, tuple(k.shape))
        if idx_shape is None:
            raise IndexError("shape mismatch: indexing tensors could not be broadcast together")
    linear = None
    for (_, k, size) in advanced:
        x._check_bounds(k, size)
        k = where(k < 0, k + size, k)
        linear = k if linear is None else linear * size + k
    merged = math.prod(x.shape[p] for p in positions)
    flat_x = x.reshape(x.shape[:first] + (merged,) + x.shape[first + len(positions):])
    picked = flat_x.index_select(first, linear.expand(idx_shape).reshape(-1))
    return picked.reshape(x.shape[:first] + tuple(idx_shape) +
                          x.shape[first + len(positions):])


def _setitem(x, key, value):
    value = x._operand(value) if not isinstance(value, TensorBase) else value
    value = value.to(x.device).type(x.dtype)
    if isinstance(key, TensorBase) and key.dtype is bool_:
        if tuple(key.shape) != tuple(x.shape[:key.ndim]):
            raise IndexError(f"The shape of the mask {list(key.shape)} does not match the "
                             f"shape of the indexed tensor {list(x.shape)}")
        if value.numel() == 1:
            # the mask covers x's leading dims: align it on the left
            cond = key.reshape(tuple(key.shape) + (1,) * (x.ndim - key.ndim))
            x._assign(where(cond, value.reshape(()), x))
            return
        # one value per selected element (or row): assign through the selected positions
        idx = x._from_host([i for i, m in enumerate(key.reshape(-1).tolist()) if m],
                           dtype=int64, device=x.device)
        flat = x.reshape((-1,) + tuple(x.shape[key.ndim:]))
        _setitem(flat, idx, value)
        x._assign(flat.reshape(x.shape))
        return
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, (TensorBase, list, range)) or _is_numpy_array(k) for k in keys):
        setitem_advanced(x, keys, value)  # integer-array assignment (x[rows, cols] = v)
        return
    region = _getitem(x.detach(), key)
    starts, stops, steps = _slice_ranges(x, keys)
    src = value.expand(region.shape).reshape(tuple(len(range(a, b, s)) for a, b, s
                                                   in zip(starts, stops, steps)))
    x._assign(function.SliceAssign.apply(x, src, starts=starts, stops=stops, steps=steps))


def _slice_ranges(x, keys):
    n_real = sum(1 for k in keys if k is not None and k is not Ellipsis)
    starts, stops, steps = [], [], []
    dim = 0
    for k in keys:
        if k is None:
            continue
        if k is Ellipsis:
            for _ in range(x.ndim - n_real):
                starts.append(0)
                stops.append(x.shape[dim])
                steps.append(1)
                dim += 1
            continue
        size = x.shape[dim]
        if isinstance(k, int):
            k %= size
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
        else:
            a, b, s = k.indices(size)
            starts.append(a)
            stops.append(max(a, b))
            steps.append(s)
        dim += 1
    while dim < x.ndim:
        starts.append(0)
        stops.append(x.shape[dim])
        steps.append(1)
        dim += 1
    return tuple(starts), tuple(stops), tuple(steps)
