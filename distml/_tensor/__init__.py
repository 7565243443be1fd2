"""The core Tensor floor: the Tensor class, its factories and free functions.

Named `_tensor` (as torch's) so the package never shadows the function `distml.tensor`.
It sits above autograd (distml/autograd.py, distml/function.py) and below the composed
ops (distml/_composed_ops/), nn and optim. What lives here either touches a tensor's
internals (its buffer, backend, graph) or applies a Function; torch's wider API written
from public Tensor methods alone belongs to distml/_composed_ops/.

One idea per file, and inside the package files import downwards only:

    base.py            TensorBase, the root every mixin derives from, and the hooks
                       (self._new, self._wrap, self._from_host...) mixins build tensors with
    shapes.py          Size, dim normalisation, broadcasting
    host.py            lists, array.array and numpy arrays <-> buffers
    printing.py        repr
    free_functions.py  where, matmul, cat, stack
    arithmetic.py      ArithmeticOps: + - * / // % ** @, comparisons, maximum, minimum
    unary.py           UnaryOps: exp, log, sqrt, relu, sigmoid, floor, clamp...
    reductions.py      ReductionOps: sum, prod, max/min, amax, argmax, all, any
    movement.py        MovementOps: reshape/view, permute, transpose, expand, flip...
    index_put.py       x[rows, cols] = v: index_put through scatter_add
    indexing.py        IndexingOps: x[key], x[key] = v, gather, scatter_add, index_select
    inplace.py         InplaceOps: _assign, views' write-back, copy_, fill_, normal_
    tensor.py          class Tensor(ArithmeticOps, ..., InplaceOps): construction (also
                       torch's legacy Tensor(2, 3)), properties, autograd hooks,
                       conversions, read-back
    factories.py       tensor, zeros, ones, full, arange, linspace, eye, rand, randn...

A mixin imports nothing above it (not tensor.py or factories.py): it builds tensors
through the hooks in base.py and recognises them with isinstance(x, TensorBase).
tests/tensor/test_layering.py checks the import order.
"""
from . import factories as _factories
from ._ops_util import register_factories
from .factories import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, is_tensor, linspace,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
    zeros_like,
)
from .free_functions import cat, concat, matmul, stack, where
from .shapes import Size, broadcast_shapes
from .tensor import Tensor

register_factories(_factories)
