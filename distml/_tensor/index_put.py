"""index_put with several index tensors (x[rows, cols] = v), with gradients to x and v.

The indexed dims are flattened into one, the index tensors into one linear index, and
the values are scattered there: accumulate=True is scatter_add; accumulate=False keeps x
where no index hits and the scattered values where one does (x's gradient is zero there,
v's is the gradient gathered at its index). As in torch, which of several values written
to one place wins is unspecified on the device; the host backends keep the last."""
import math

from ..dtypes import bool_, int64
from ._ops_util import factories, is_host_backend
from .base import TensorBase
from .free_functions import where
from .shapes import broadcast_shapes


def _as_index(k, size, device):
    d = factories()
    if isinstance(k, range):
        k = list(k)
    if isinstance(k, bool):
        raise IndexError("bool scalars are not supported as indices")
    if isinstance(k, int):
        return d.tensor(k, dtype=int64, device=device)
    if not isinstance(k, TensorBase):
        k = d.tensor(k, dtype=int64 if not _all_bool(k) else bool_, device=device)
    if k.dtype is bool_:  # a mask: its positions (a read-back: the shape depends on data)
        if k.ndim != 1 or k.shape[0] != size:
            raise IndexError(f"The shape of the mask {list(k.shape)} does not match the "
                             f"shape of the indexed dimension of size {size}")
        return d.tensor([j for j, m in enumerate(k.tolist()) if m], dtype=int64,
                        device=device).reshape(-1)
    if k.dtype is not int64:
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, "
                         f"got {k.dtype}")
    return k.to(device)


def _all_bool(k):
    flat = k
    while isinstance(flat, (list, tuple)) and flat and isinstance(flat[0], (list, tuple)):
        flat = [v for row in flat for v in row]
    return bool(flat) and all(isinstance(v, bool) for v in flat)


def _keep_last_duplicates(linear):
    """Positions of `linear` to keep so every index appears once (its last write)."""
    d = factories()
    flat = linear.tolist()
    last = {v: i for i, v in enumerate(flat)}
    if len(last) == len(flat):
        return None
    keep = sorted(last.values())
    return d.tensor(keep, dtype=int64, device=linear.device).reshape(-1)


def index_put(x, indices, values, accumulate=False):
    """Out-of-place torch.index_put: indices index x's leading dims (broadcast together)."""
    d = factories()
    indices = tuple(indices)
    if len(indices) > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got "
                         f"{len(indices)})")
    idx = [_as_index(k, x.shape[i], x.device) for i, k in enumerate(indices)]
    shape = ()
    for k in idx:
        shape = broadcast_shapes(shape, tuple(k.shape))
    lead, rest = tuple(x.shape[:len(idx)]), tuple(x.shape[len(idx):])
    linear = None
    for k, size in zip(idx, lead):
        x._check_bounds(k, size)
        k = where(k < 0, k + size, k)
        linear = k if linear is None else linear * size + k
    linear = linear.expand(shape).reshape(-1) if shape else linear.reshape(1)
    count = linear.shape[0]
    values = values if isinstance(values, TensorBase) else x._operand(values)
    values = values.to(x.device).type(x.dtype)
    try:
        values = values.expand(tuple(shape) + rest).reshape((count,) + rest)
    except RuntimeError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(shape) + list(rest)}") from None
    if not accumulate and count and is_host_backend(x):
        keep = _keep_last_duplicates(linear)
        if keep is not None:
            linear, values = linear.index_select(0, keep), values.index_select(0, keep)
            count = linear.shape[0]
    work = x.long() if x.dtype is bool_ else x
    flat = work.reshape((math.prod(lead),) + rest)
    values = values.type(work.dtype)
    spread = linear.reshape((count,) + (1,) * len(rest)).expand((count,) + rest)
    if accumulate:
        out = flat.scatter_add(0, spread, values)
    else:
        hits = d.zeros(flat.shape[0], dtype=int64, device=x.device).scatter_add(
            0, linear, d.ones(count, dtype=int64, device=x.device)) > 0
        placed = d.zeros(flat.shape, dtype=work.dtype, device=x.device).scatter_add(
            0, spread, values)
        out = where(hits.reshape((flat.shape[0],) + (1,) * len(rest)), placed, flat)
    return out.reshape(x.shape).type(x.dtype)


def setitem_advanced(x, keys, value):
    """x[keys] = value where keys hold integer-array indices: leading full slices, then
    index tensors / lists / ints, then full slices or ...; other mixes are refused."""
    keys = list(keys)
    if any(k is Ellipsis for k in keys):
        i = next(j for j, k in enumerate(keys) if k is Ellipsis)  # (== on a Tensor is elementwise)
        keys[i:i + 1] = [slice(None)] * (x.ndim - (len(keys) - 1))
    full = [isinstance(k, slice) and k == slice(None) for k in keys]
    first = full.index(False) if False in full else len(keys)
    adv_end = first
    while adv_end < len(keys) and not full[adv_end]:
        adv_end += 1
    if any(not f for f in full[adv_end:]) or any(k is None for k in keys) or \
            any(isinstance(k, slice) for k in keys[first:adv_end]):
        raise IndexError("assignment through index tensors supports full slices (:) before "
                         "and after the index tensors only, e.g. x[rows, cols] = v or "
                         "x[:, idx] = v")
    order = list(range(first, adv_end)) + [k for k in range(x.ndim)
                                           if not first <= k < adv_end]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    moved = x.permute(order) if first else x
    idx = [_as_index(k, x.shape[first + i], x.device) for i, k in enumerate(keys[first:adv_end])]
    if first:
        # the value broadcasts against x[keys] (sliced dims, index dims, the rest): move
        # its index dims to the front, as x's were
        index_shape = ()
        for k in idx:
            index_shape = broadcast_shapes(index_shape, tuple(k.shape))
        value = value if isinstance(value, TensorBase) else x._operand(value)
        value = value.expand(tuple(x.shape[:first]) + tuple(index_shape) +
                             tuple(x.shape[adv_end:]))
        n = len(index_shape)
        value = value.permute(list(range(first, first + n)) + list(range(first)) +
                              list(range(first + n, value.ndim)))
    out = index_put(moved, idx, value)
    x._assign(out.permute(inverse) if first else out)
