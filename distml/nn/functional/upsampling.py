"""interpolate: nearest, nearest-exact, (bi/tri)linear and area resampling, torch's sampling
grid (scale_factor or size, align_corners, recompute_scale_factor).

Separable: every spatial dim is resampled on its own, nearest modes with index_select and
the others with a small (out, in) weight matrix, so the backward comes from the existing
ops on every backend.
"""
import math

from ...dtypes import int64
from ..._tensor import tensor
from ._utils import _check_tensor
from .conv import _averaging_matrix

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area", "bicubic")


def _per_dim(value, n, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"Input and {name} must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{n} and {name} of {list(value)}.")
        return tuple(value)
    return (value,) * n


def _nearest_index(in_size, out_size, scale, exact):
    offset = 0.5 if exact else 0.0
    return [min(int(math.floor((i + offset) * scale)), in_size - 1) for i in range(out_size)]


def _linear_matrix(in_size, out_size, scale, align_corners):
    """(out, in) rows of torch's two-tap linear interpolation weights."""
    rows = []
    if align_corners:
        step = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    for i in range(out_size):
        src = i * step if align_corners else max(scale * (i + 0.5) - 0.5, 0.0)
        i0 = min(int(math.floor(src)), in_size - 1)
        i1 = i0 + 1 if i0 < in_size - 1 else i0
        l1 = src - i0
        row = [0.0] * in_size
        row[i0] += 1.0 - l1
        row[i1] += l1
        rows.append(row)
    return rows


def _along(x, axis, matrix):
    """Contract dim `axis` of x with the rows of matrix (out, in)."""
    if axis == x.ndim - 1:
        return x @ matrix.t()
    return (x.transpose(axis, -1) @ matrix.t()).transpose(axis, -1)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate for (N, C, *spatial) input with 1 to 3 spatial dims."""
    _check_tensor(input)
    if mode not in _MODES:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    if mode == "bicubic" or antialias:
        raise NotImplementedError("interpolate: bicubic mode and antialias are not supported "
                                  "in distml")
    n = input.ndim - 2
    if n < 1 or n > 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    if mode in _LINEAR and _LINEAR[mode] != input.ndim:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode]}D input")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    align_corners = bool(align_corners)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out_sizes = tuple(int(s) for s in _per_dim(size, n, "size"))
        scales = tuple(i / o for i, o in zip(in_sizes, out_sizes))
    else:
        factors = tuple(float(f) for f in _per_dim(scale_factor, n, "scale_factor"))
        out_sizes = tuple(int(math.floor(i * f)) for i, f in zip(in_sizes, factors))
        if recompute_scale_factor:
            scales = tuple(i / o for i, o in zip(in_sizes, out_sizes))
        else:
            scales = tuple(1.0 / f for f in factors)
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(map(str, in_sizes))}) output "
                           f"({', '.join(map(str, out_sizes))})")
    out = input
    for d, (i, o, s) in enumerate(zip(in_sizes, out_sizes, scales)):
        axis = 2 + d
        if mode in ("nearest", "nearest-exact"):
            index = _nearest_index(i, o, s, mode == "nearest-exact")
            if index != list(range(i)):
                out = out.index_select(axis, tensor(index, dtype=int64, device=input.device))
        elif mode == "area":
            if i != o:
                out = _along(out, axis, _averaging_matrix(i, o, input.device).type(out.dtype))
        elif i != o or not (align_corners or s == 1.0):
            out = _along(out, axis, tensor(_linear_matrix(i, o, s, align_corners),
                                           dtype=out.dtype, device=input.device))
    if out is input:
        out = input + 0.0  # a new tensor, as torch
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (torch keeps it)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
