"""pad: constant, reflect, replicate and circular modes."""

from ... import function as _F
from ...dtypes import int64
from ..._tensor import full, tensor
from ._utils import _check_tensor

__all__ = ["pad"]


def _pad_index(size, before, after, mode):
    idx = []
    for j in range(-before, size + after):
        if mode == "reflect":
            period = 2 * (size - 1)
            k = j % period if period else 0
            idx.append(k if k < size else period - k)
        elif mode == "replicate":
            idx.append(min(max(j, 0), size - 1))
        else:  # circular
            idx.append(j % size)
    return idx


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: pad = (last_left, last_right, prev_left, prev_right, ...).

    Modes: "constant" (negative pads crop), "reflect", "replicate", "circular".
    """
    _check_tensor(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    pairs = {input.ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)}
    if mode == "constant":
        return _pad_constant(input, pairs, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0, 0.0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    out = input
    for dim, (before, after) in sorted(pairs.items()):
        if before == 0 and after == 0:
            continue
        size = out.shape[dim]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({before}, "
                               f"{after}) at dimension {dim} of input {list(input.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if min(before, after) < 0:
            raise RuntimeError(f"negative padding is not supported for mode {mode}")
        idx = tensor(_pad_index(size, before, after, mode), dtype=int64, device=input.device)
        out = out.index_select(dim, idx)
    return out


def _pad_constant(input, pairs, value):
    x = input
    # negative padding crops first
    if any(b < 0 or a < 0 for b, a in pairs.values()):
        key = [slice(None)] * x.ndim
        for dim, (before, after) in pairs.items():
            size = x.shape[dim]
            key[dim] = slice(max(-before, 0), size - max(-after, 0))
        x = x[tuple(key)]
    new_shape = list(x.shape)
    starts = [0] * x.ndim
    for dim, (before, after) in pairs.items():
        new_shape[dim] = x.shape[dim] + max(before, 0) + max(after, 0)
        starts[dim] = max(before, 0)
    if any(s < 0 for s in new_shape):
        raise RuntimeError(f"The input size {list(input.shape)}, plus negative padding "
                           f"resulted in a negative output size")
    if tuple(new_shape) == tuple(x.shape):
        return x if x is not input else input.clone()
    base = full(tuple(new_shape), value, dtype=x.dtype, device=x.device)
    stops = tuple(s + n for s, n in zip(starts, x.shape))
    if x.numel() == 0:
        return base
    return _F.SliceAssign.apply(base, x, starts=tuple(starts), stops=stops,
                                steps=(1,) * x.ndim)
