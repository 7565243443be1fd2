"""TensorBase: the root of Tensor and of every mixin it is built from.

The mixins (arithmetic.py, unary.py, ...) and the helpers beside them sit below
tensor.py, so they never import the Tensor class. They recognise a tensor by
`isinstance(x, TensorBase)` and build new tensors through hooks that Tensor defines:

    self._new(buf)                       a tensor on self's device holding buf (no graph)
    self._const(value, dtype=None)       a 0-d tensor on self's device
    self._wrap(buf, backend, device)     a tensor holding buf on any device
    self._from_host(data, dtype=None, device=None)    the same as distml.tensor(data, ...)
"""


class TensorBase:
    # Tensor declares the slots; bases that add none keep its layout valid
    __slots__ = ()
