"""Index lookups: embedding and one_hot."""

from ...autograd import no_grad
from ...dtypes import int64
from ..._tensor import arange, where
from ._utils import _check_tensor, _on_host, _type_name

__all__ = ["embedding", "one_hot"]


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new trailing dim of size num_classes."""
    _check_tensor(tensor, "tensor")
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.amax().item()) + 1
    if _on_host(tensor) and tensor.numel():
        if tensor.amin().item() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if tensor.amax().item() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of weight picked by the int64 indices in input (shape input.shape + (dim,))."""
    _check_tensor(input)
    if input.dtype is not int64:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"distml.{_type_name(input.dtype)}Tensor instead (while checking "
                           "arguments for embedding)")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not "
                                  "supported in distml")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
    if _on_host(input) and input.numel():
        lo, hi = input.amin().item(), input.amax().item()
        if lo < 0 or hi >= num:
            raise IndexError("index out of range in self")
    flat = input.reshape(-1)
    if max_norm is not None:
        _embedding_renorm_(weight, flat, max_norm, norm_type)
    out = weight.index_select(0, flat).reshape(tuple(input.shape) + (weight.shape[1],))
    if padding_idx is not None:
        # the padding row gets no gradient
        out = where((input == padding_idx).unsqueeze(-1), out.detach(), out)
    return out


def _embedding_renorm_(weight, flat_idx, max_norm, norm_type):
    with no_grad():
        num = weight.shape[0]
        hits = (flat_idx.unsqueeze(1) == arange(num, device=weight.device)).any(0)
        norms = weight.detach().norm(norm_type, 1)
        scale = where(hits & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
        weight.copy_(weight.detach() * scale.unsqueeze(1))
