"""Free functions over several tensors: where, matmul, cat, stack.

(The one-tensor free functions, distml.exp(x) and the like, are the methods themselves:
see distml/_composed_ops/passthrough.py.)
"""
from .. import function
from ..autograd import check_same_device
from ..dtypes import bool_, float32, int64, promote
from .base import TensorBase
from .shapes import _broadcast_shape, _normalize_dim


def where(condition, input=None, other=None):
    if input is None and other is None:
        raise NotImplementedError("where(condition) with one argument is not supported; "
                                  "use nonzero()")
    if not isinstance(condition, TensorBase):
        raise TypeError("where(): condition must be a Tensor")
    cond = condition if condition.dtype is bool_ else condition.bool()
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase):
        input = cond._const(input, float32 if isinstance(input, float) else
                            int64 if isinstance(input, int) else float32)
    if not isinstance(input, TensorBase):
        input = other._operand(input)
    if not isinstance(other, TensorBase):
        other = input._operand(other)
    dtype = promote(input.dtype, other.dtype)
    a, b = input.type(dtype), other.type(dtype)
    shape = _broadcast_shape(_broadcast_shape(cond.shape, a.shape) or (), b.shape)
    if _broadcast_shape(cond.shape, a.shape) is None or shape is None:
        raise RuntimeError(f"where(): shapes {list(cond.shape)}, {list(a.shape)} and "
                           f"{list(b.shape)} are not broadcastable")
    check_same_device([cond, a, b])
    return function.Where.apply(cond, a, b)


def matmul(a, b):
    if not isinstance(a, TensorBase) or not isinstance(b, TensorBase):
        raise TypeError("matmul(): arguments must be Tensors")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} "
                           f"!= {b.dtype}")
    int_result = a.dtype is int64
    if not a.dtype.is_floating_point:
        a, b = a.float(), b.float()
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({'x'.join(map(str, a.shape))} and {'x'.join(map(str, b.shape))})")
    batch = _broadcast_shape(a2.shape[:-2], b2.shape[:-2])
    if batch is None:
        raise RuntimeError(f"matmul: batch dimensions {list(a2.shape[:-2])} and "
                           f"{list(b2.shape[:-2])} are not broadcastable")
    if a2.shape[:-2] != batch:
        a2 = a2.expand(batch + a2.shape[-2:])
    if b2.shape[:-2] != batch and b2.ndim > 2:
        b2 = b2.expand(batch + b2.shape[-2:])
    if b2.ndim == 2 and a2.ndim > 2:
        # (..., M, K) @ (K, N): fold the batch into M, one 2-D product
        out = function.Matmul.apply(a2.reshape(-1, a2.shape[-1]), b2).reshape(
            batch + (a2.shape[-2], b2.shape[-1]))
    else:
        out = function.Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    # int64 @ int64 is int64 in torch (computed in float32 here: exact below 2**24)
    return out.long() if int_result else out


def cat(tensors, dim=0):
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")  # as torch
    # torch skips legacy empty 1-D tensors
    ref = next((t for t in tensors if not (t.ndim == 1 and t.numel() == 0)), tensors[0])
    tensors = [t for t in tensors if not (t.ndim == 1 and t.numel() == 0)] or tensors
    dim = _normalize_dim(dim, ref.ndim)
    dtype = ref.dtype
    for t in tensors:
        dtype = promote(dtype, t.dtype)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for d in range(ref.ndim):
            if d != dim and t.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {ref.shape[d]} but got size {t.shape[d]} "
                                   f"for tensor number {i} in the list.")
    tensors = [t.type(dtype) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return function.Cat.apply(*tensors, axis=dim)


concat = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(dim) for t in tensors], dim)
