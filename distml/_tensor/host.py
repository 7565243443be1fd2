"""Host data to and from tensors: nested lists, array.array and numpy arrays.

numpy is imported only when a numpy array is actually given (it is absent in Pyodide).
"""
import math
from array import array

from ..dtypes import bool_, float32, float64, get_dtype, int64
from .base import TensorBase


def _flatten_nested(data):
    """Flatten nested lists/tuples of numbers to (flat list, shape), checking raggedness."""
    if isinstance(data, (int, float, bool)):
        return [data], ()
    if isinstance(data, TensorBase):
        return data.tolist() if data.ndim == 0 else None, None
    if _is_numpy_array(data) and not data.shape:
        return [data.item()], ()
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")) or isinstance(
            data, (str, bytes, dict)):  # a sequence (list, tuple, deque, range), as torch
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
    if len(data) == 0:
        return [], (0,)
    flats, shapes = [], []
    for item in data:
        if isinstance(item, TensorBase):
            item = item.tolist()
        f, s = _flatten_nested(item)
        flats.append(f)
        shapes.append(s)
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"expected a rectangular sequence, got sub-shapes {shapes[0]} and "
                         f"{next(s for s in shapes if s != shapes[0])}")
    return [v for f in flats for v in f], (len(data),) + shapes[0]


def _infer_dtype(flat):
    if all(isinstance(v, bool) for v in flat) and flat:
        return bool_
    if any(isinstance(v, float) for v in flat):
        return float32
    return int64 if flat else float32


def _is_numpy_array(x):
    """An ndarray or numpy scalar, recognised without importing numpy."""
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and hasattr(x, "shape")


def _from_numpy(be, arr, dtype):
    import numpy as np
    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if dtype is not None:
        target = get_dtype(dtype)
    elif kind == "f":
        target = float64 if arr.dtype.itemsize == 8 else float32  # as torch
    elif kind in "iu":
        target = int64
    elif kind == "b":
        target = bool_
    else:
        raise TypeError(f"can't convert np.ndarray of type {arr.dtype}: distml supports "
                        "float, int and bool arrays")
    np_type = {"float32": np.float32, "int64": np.int64, "bool": np.bool_,
               "float64": np.float64}[target.name]
    arr = np.array(arr, dtype=np_type, order="C", copy=True)  # own it: buffers are immutable
    return be.from_numpy(arr, target.name), target


def _nest(flat, shape):
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _is_plain_data(data):
    """Python data (not a tensor or array) that Tensor(data) reads as float32, as torch."""
    return not (isinstance(data, (TensorBase, array)) or _is_numpy_array(data))
