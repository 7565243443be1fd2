"""The in-place machinery (_assign, views' write-back) and the in-place ops that build a
buffer themselves: copy_, fill_, uniform_, normal_, bernoulli_.

Buffers are never mutated: an in-place op rebinds the tensor to a new buffer (_assign).
Graphs built earlier keep their edge to the old value, since edges are fixed when an op
runs; a view (_as_view) writes its new value back to its base.
"""
from .. import function
from ..autograd import is_grad_enabled
from ..random import draw
from .base import TensorBase
from .shapes import _broadcast_shape


class InplaceOps(TensorBase):
    __slots__ = ()

    def _as_view(self, write_back):
        """Mark self as a view of another tensor: buffers are immutable, so where torch
        would write through shared storage, an in-place op on a view calls write_back
        with the view's new value to update its base (x[0].zero_(), w.data.normal_())."""
        self.__dict__["_write_back"] = write_back
        return self

    def _assign(self, result):
        if is_grad_enabled() and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if tuple(result.shape) != tuple(self.shape):
            if _broadcast_shape(result.shape, self.shape) != tuple(self.shape):
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                                   f"broadcast shape {list(result.shape)}")
            result = result.expand(self.shape)
        if result.dtype is not self.dtype:
            result = result.type(self.dtype)
        if result.requires_grad and result._ctx is None and is_grad_enabled():
            # a leaf that requires grad (copy_(param)): an identity node routes grads to it
            result = function.Reshape.apply(result, shape=tuple(result.shape))
        self._buf, self._backend, self.device = result._buf, result._backend, result.device
        if result._ctx is not None:
            self._ctx, self.requires_grad = result._ctx, True
        elif self._ctx is not None and is_grad_enabled():
            # fill_/zero_/copy_ of a constant: the old graph no longer produces this value
            self._ctx, self.requires_grad = None, False
        write_back = self.__dict__.get("_write_back")
        if write_back is not None:
            write_back(self)
        return self

    def copy_(self, src):
        src = src if isinstance(src, TensorBase) else self._from_host(src)
        return self._assign(src.to(self.device))

    def fill_(self, value):
        be = self.device.backend
        return self._assign(self._wrap(be.full(tuple(self.shape), value, self.dtype.name),
                                       be, self.device))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._assign(self._drawn("uniform", generator) * (b - a) + a)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._assign(self._drawn("normal", generator) * std + mean)

    def bernoulli_(self, p=0.5, generator=None):
        return self._assign((self._drawn("uniform", generator) < p).float())

    def _drawn(self, kind, generator):
        """Random numbers of self's shape on self's device (as distml.rand / randn)."""
        be = self.device.backend
        return self._wrap(draw(be, kind, tuple(self.shape), generator), be, self.device)
