"""Helpers shared by the distml.nn.functional files (argument checks, host test)."""
from ..._tensor import Tensor
# re-exported for the losses: values on the host make their value checks cheap
from ...function import host_resident as _on_host  # noqa: F401

_TYPE_NAMES = {"float32": "Float", "int64": "Long", "bool": "Bool"}


def _pair(v, name="argument"):
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        if len(v) != 2:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _check_tensor(x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a distml.Tensor, not {type(x).__name__}")


def _type_name(dtype):
    return _TYPE_NAMES.get(dtype.name, dtype.name)


def _maybe_inplace(input, result, inplace):
    return input._assign(result) if inplace else result
