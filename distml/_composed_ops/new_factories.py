"""Tensor.new_zeros / new_ones / new_full / new_empty / new_tensor: factories that default
to this tensor's dtype and device."""
from .._tensor import Tensor, empty, full, ones, tensor, zeros


def _size(size):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        return tuple(size[0])
    return tuple(size)


class NewFactoryOps:

    def _new_kw(self, dtype, device):
        return {"dtype": self.dtype if dtype is None else dtype,
                "device": self.device if device is None else device}

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return zeros(_size(size), requires_grad=requires_grad,
                           **self._new_kw(dtype, device))

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ones(_size(size), requires_grad=requires_grad,
                          **self._new_kw(dtype, device))

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return empty(_size(size), requires_grad=requires_grad,
                           **self._new_kw(dtype, device))

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return full(tuple(size), fill_value, requires_grad=requires_grad,
                          **self._new_kw(dtype, device))

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.detach()
        return tensor(data, requires_grad=requires_grad, **self._new_kw(dtype, device))
