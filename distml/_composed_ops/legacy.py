"""torch's legacy typed constructors FloatTensor, DoubleTensor, LongTensor, BoolTensor
(Tensor(3, 4) itself is the core's legacy_new, in tensor.py).

The typed names are classes whose isinstance() checks the dtype, as torch's are."""
from .. import dtypes
from .._tensor import Tensor
from .._tensor.tensor import legacy_new


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        return legacy_new(cls.dtype, args, device)


def _legacy_class(name, dtype_name):
    return _LegacyType(name, (), {"dtype": getattr(dtypes, dtype_name),
                                  "__doc__": f"torch.{name}: legacy constructor of "
                                             f"{dtype_name} tensors."})


FloatTensor = _legacy_class("FloatTensor", "float32")
LongTensor = _legacy_class("LongTensor", "int64")
BoolTensor = _legacy_class("BoolTensor", "bool_")
DoubleTensor = _legacy_class("DoubleTensor", "float64")
