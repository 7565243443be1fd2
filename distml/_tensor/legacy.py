"""torch's legacy constructors: Tensor(3, 4) (uninitialised float32 of that shape),
Tensor([1, 2]) (float32 data), FloatTensor, DoubleTensor, LongTensor, BoolTensor.

The typed names are classes whose isinstance() checks the dtype, as torch's are."""
from ._ops_util import api


def is_size_args(args):
    """Whether constructor arguments are a shape: ints (not bools) or one Size."""
    d = api()
    if len(args) == 1 and isinstance(args[0], d.Size):
        return True
    return bool(args) and all(isinstance(a, int) and not isinstance(a, bool) for a in args)


def legacy_new(dtype, args, device=None):
    d = api()
    if not args:
        return d.empty(0, dtype=dtype, device=device)
    if is_size_args(args):
        shape = tuple(args[0]) if isinstance(args[0], d.Size) else tuple(args)
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(shape)}: {list(shape)}")
        return d.empty(shape, dtype=dtype, device=device)
    if len(args) != 1:
        raise TypeError(f"new(): invalid arguments: expected a shape (ints) or one sequence "
                        f"of data, got {len(args)} arguments")
    data = args[0]
    if isinstance(data, d.Tensor):
        return data.detach().to(device=device or data.device, dtype=dtype)
    return d.tensor(data, dtype=dtype, device=device)


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, api().Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        return legacy_new(cls.dtype, args, device)


def _legacy_class(name, dtype_name):
    from .. import dtypes
    return _LegacyType(name, (), {"dtype": getattr(dtypes, dtype_name),
                                  "__doc__": f"torch.{name}: legacy constructor of "
                                             f"{dtype_name} tensors."})


FloatTensor = _legacy_class("FloatTensor", "float32")
LongTensor = _legacy_class("LongTensor", "int64")
BoolTensor = _legacy_class("BoolTensor", "bool_")
DoubleTensor = _legacy_class("DoubleTensor", "float64")
