"""Shapes and dims: torch.Size, dim normalisation and broadcasting rules."""
import math


class Size(tuple):
    """torch.Size: a tuple of ints with numel()."""

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"distml.Size({list(self)})"


def _normalize_dim(dim, ndim):
    lim = max(ndim, 1)
    if not -lim <= dim < lim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-lim}, {lim - 1}], but got {dim})")
    return dim % lim


def _normalize_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = sorted({_normalize_dim(d, ndim) for d in dim}) if ndim else []
    return tuple(out)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _broadcast_shape(a, b):
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(max(x, y) if x != 0 and y != 0 else 0)
    return tuple(reversed(out))


def _check_broadcast(a, b):
    if _broadcast_shape(a, b) is None:
        raise RuntimeError(f"The size of tensor a ({list(a)}) must match the size of tensor b "
                           f"({list(b)}): shapes {list(a)} and {list(b)} are not broadcastable")


def broadcast_shapes(*shapes):
    """torch.broadcast_shapes: the shape all the given shapes broadcast to."""
    out = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        n = max(len(out), len(shape))
        a = [1] * (n - len(out)) + out
        b = [1] * (n - len(shape)) + list(shape)
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single "
                                   f"shape.  Mismatch is at dim {i}")
            a[i] = y if x == 1 else x
        out = a
    return Size(out)
