"""Host values as the standard library holds them: an `array.array` of a dtype's typecode,
made from Python numbers or little-endian bytes and turned back into either. Shared by the
backends whose values pass through such arrays (python keeps its buffers in them; webgl
uploads and reads back through them). Only the standard library (Pyodide has no numpy)."""
import math
import sys
from array import array

TYPECODES = {"float32": "f", "int64": "q", "bool": "B", "float64": "d"}
_BIG_ENDIAN = sys.byteorder == "big"
_M64 = (1 << 64) - 1


def int64_array(values):
    """int64 array from a list of Python ints, wrapping on overflow like torch."""
    try:
        return array("q", values)
    except OverflowError:
        return array("q", [((v + (1 << 63)) & _M64) - (1 << 63) for v in values])


def typed_array(flat, dtype):
    """A new array of dtype from a flat sequence of Python numbers or an array.array (bool:
    nonzero -> 1; int64 truncates floats and wraps ints beyond 64 bits)."""
    if dtype == "bool":
        return array("B", [1 if v else 0 for v in flat])
    tc = TYPECODES[dtype]
    try:
        return array(tc, flat)
    except (TypeError, OverflowError):
        if dtype == "int64":
            return int64_array([int(v) for v in flat])
        return array(tc, [float(v) for v in flat])


def array_from_bytes(data, dtype):
    """The array of dtype that the little-endian bytes hold (a bool byte: nonzero -> 1)."""
    arr = array(TYPECODES[dtype])
    arr.frombytes(bytes(data))
    if _BIG_ENDIAN and arr.itemsize > 1:
        arr.byteswap()
    return array("B", [1 if v else 0 for v in arr]) if dtype == "bool" else arr


def array_to_bytes(arr):
    """The array's values as little-endian bytes."""
    if _BIG_ENDIAN and arr.itemsize > 1:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def array_to_list(arr, dtype):
    """The array's values as Python numbers of dtype (bool: True / False)."""
    return [v != 0 for v in arr] if dtype == "bool" else arr.tolist()


def check_count(what, n, shape):
    """ValueError unless n values fill shape."""
    if n != math.prod(shape):
        raise ValueError(f"{what}: {n} values for shape {tuple(shape)}")
