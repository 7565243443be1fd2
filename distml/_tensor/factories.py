"""Factories: distml.tensor, zeros, ones, full, arange, linspace, eye, rand, randn, ..."""
import math

from ..device import get_device
from ..dtypes import bool_, float32, float64, get_dtype, int64
from ..random import draw
from .shapes import Size, _shape_arg
from .tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad=False):
    t = Tensor.__new__(Tensor)
    t._from_data(data, dtype, device, requires_grad)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if device or dtype else data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    return Tensor(arr)


def is_tensor(x):
    return isinstance(x, Tensor)


def _creation_device(device):
    dev = get_device(device)
    return dev, dev.backend


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    size = _shape_arg((size,) if isinstance(size, int) else tuple(size))
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else \
            int64 if isinstance(fill_value, int) else float32
    dtype = get_dtype(dtype)
    dev, be = _creation_device(device)
    return Tensor._wrap(be.full(size, fill_value, dtype.name), be, dev).requires_grad_(
        requires_grad)


def _size_arg(args, size):
    """The shape of a factory call: zeros(2, 3), zeros((2, 3)) or zeros(size=(2, 3))."""
    if size is not None:
        if args:
            raise TypeError("got the size both positionally and as size=")
        return _shape_arg((size,) if isinstance(size, int) else (tuple(size),))
    return _shape_arg(args)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False):
    return full(_size_arg(args, size), 0.0 if dtype is None else 0, dtype or float32, device,
                requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad=False):
    return full(_size_arg(args, size), 1.0 if dtype is None else 1, dtype or float32, device,
                requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad=False):
    return zeros(_size_arg(args, size), dtype=dtype, device=device, requires_grad=requires_grad)


def _like(fn, x, *args, dtype=None, device=None, requires_grad=False):
    return fn(tuple(x.shape), *args, dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _like(ones, x, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return zeros_like(x, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return _like(full, x, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = float32 if any(isinstance(v, float) for v in (start, end, step)) else int64
    dtype = get_dtype(dtype)
    dev, be = _creation_device(device)
    n = max(0, math.ceil((end - start) / step))
    if dtype.is_floating_point:
        buf = be.from_list([start + i * step for i in range(n)], (n,), dtype.name) \
            if n < 4096 or not be.host_arrays else be.arange(start, end, step, dtype.name)
    else:
        buf = be.arange(int(start), int(end), int(step), "int64")
    return Tensor._wrap(buf, be, dev).requires_grad_(requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    vals = [start + (end - start) * i / (steps - 1) for i in range(steps)] if steps > 1 \
        else [float(start)][:steps]
    return tensor(vals, dtype=dtype or float32, device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    return tensor([[1.0 if i == j else 0.0 for j in range(m)] for i in range(n)],
                  dtype=dtype or float32, device=device, requires_grad=requires_grad)


def _random(kind, size, generator, dtype, device, requires_grad):
    size = _shape_arg(size)
    dev, be = _creation_device(device)
    t = Tensor._wrap(draw(be, kind, size, generator), be, dev)
    if dtype is not None and get_dtype(dtype) is float64:
        t = t.type(float64)  # the float32 draws, widened: the same numbers on every device
    elif dtype is not None and get_dtype(dtype) is not float32:
        raise RuntimeError(f"{kind} random numbers are only implemented for float32 and "
                           "float64")
    return t.requires_grad_(requires_grad)


def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("uniform", _size_arg(args, size), generator, dtype, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("normal", _size_arg(args, size), generator, dtype, device, requires_grad)


def rand_like(x, dtype=None, device=None):
    return rand(tuple(x.shape), dtype=dtype, device=device or x.device)


def randn_like(x, dtype=None, device=None):
    return randn(tuple(x.shape), dtype=dtype, device=device or x.device)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None and isinstance(high, (tuple, list, Size)):
        high, size = None, high  # torch.randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the size argument")
    u = rand(tuple(size), generator=generator, device=device)
    out = (u * (high - low)).floor().long().clamp(max=high - low - 1) + low
    return out.type(dtype) if dtype is not None else out


def randperm(n, generator=None, device=None):
    """Host-side shuffle from the generator's counter stream (argsort of uniforms)."""
    keys = rand(n, generator=generator).tolist()
    order = sorted(range(n), key=keys.__getitem__)
    return tensor(order, dtype=int64, device=device)
