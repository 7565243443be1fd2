"""nn.Parameter: a Tensor that a Module registers as one of its parameters."""
from .._tensor import Tensor, empty


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and shares the buffer it was built from.

    `nn.Parameter(distml.randn(3))` wraps the same (immutable) buffer; operations on a
    Parameter return plain Tensors, as in torch.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a distml.Tensor, got "
                            f"{type(data).__name__}")
        return Tensor._make_subclass(cls, data, requires_grad)

    def __init__(self, data=None, requires_grad=True):
        # everything happens in __new__ (Tensor.__init__ would rebuild the buffer)
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.detach().clone(), self.requires_grad)
        if self.grad is not None:
            out.grad = self.grad.detach().clone()
        memo[id(self)] = out
        return out


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """torch.nn.Buffer: marks a Tensor to register as a buffer when set on a Module."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        obj = Tensor._make_subclass(cls, data)
        obj.persistent = persistent
        return obj

    def __init__(self, data=None, *, persistent=True):
        pass
