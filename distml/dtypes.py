"""The dtypes distml supports: float32 (default), int64 (labels, indices), bool (masks)
and float64 (CPU backends only)."""


class dtype:
    def __init__(self, name, itemsize, is_floating_point, safetensors_name, array_code):
        self.name = name
        self.itemsize = itemsize
        self.is_floating_point = is_floating_point
        self.safetensors_name = safetensors_name
        self.array_code = array_code  # the `array` module typecode holding one element

    def __repr__(self):
        return "distml." + self.name

    def __reduce__(self):
        return (get_dtype, (self.name,))


float32 = dtype("float32", 4, True, "F32", "f")
int64 = dtype("int64", 8, False, "I64", "q")
bool_ = dtype("bool", 1, False, "BOOL", "B")
float64 = dtype("float64", 8, True, "F64", "d")
# torch's half-precision dtypes, named so scripts that pick among dtypes import; distml has
# no such tensors, and get_dtype says so when one is asked for
float16 = dtype("float16", 2, True, "F16", "e")
bfloat16 = dtype("bfloat16", 2, True, "BF16", None)
_UNSUPPORTED = {"float16": float16, "half": float16, "bfloat16": bfloat16}

_BY_NAME = {"float32": float32, "float": float32, "int64": int64, "long": int64, "bool": bool_,
            "float64": float64, "double": float64}

_LEGACY_NAMES = {"FloatTensor": "float32", "DoubleTensor": "float64", "LongTensor": "int64",
                 "BoolTensor": "bool"}


def get_dtype(d):
    """Accept a distml dtype, its name, a Python type or a numpy/torch dtype's name."""
    if d.__class__ is str and d in _BY_NAME:  # the hot path: every op's result names its dtype
        return _BY_NAME[d]
    name = d.name if isinstance(d, dtype) else d if isinstance(d, str) else None
    if name is not None and name.replace("torch.", "") in _UNSUPPORTED:
        raise TypeError(f"distml has no {name.replace('torch.', '')} tensors: use float32 "
                        "(the default) or float64")
    if isinstance(d, dtype):
        return d
    if d is float:
        return float32
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(getattr(d, "dtype", None), dtype):
        return d.dtype  # the legacy FloatTensor / LongTensor / ... classes
    name = d if isinstance(d, str) else getattr(d, "name", None) or str(d)
    name = name.replace("torch.", "").replace("distml.", "")
    name = _LEGACY_NAMES.get(name, name)
    if name not in _BY_NAME:
        raise TypeError(
            f"unsupported dtype {d!r}: distml supports float32, float64, int64 and bool")
    return _BY_NAME[name]


def promote(a, b):
    """Result dtype of a binary arithmetic op on two tensors (torch's rule, 4 dtypes)."""
    if a is float64 or b is float64:
        return float64
    if a is float32 or b is float32:
        return float32
    if a is int64 or b is int64:
        return int64
    return bool_
