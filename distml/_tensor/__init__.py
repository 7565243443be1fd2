"""The Tensor floor: the Tensor class, its factories and free functions.

Named `_tensor` (as torch's) so the package never shadows the function `distml.tensor`.
It sits above autograd (distml/autograd.py, distml/function.py) and below nn and optim.

One idea per file, and inside the package files import downwards only:

    base.py            TensorBase, the root every mixin derives from, and the hooks
                       (self._new, self._wrap, self._from_host...) mixins build tensors with
    shapes.py          Size, dim normalisation, broadcasting
    host.py            lists, array.array and numpy arrays <-> buffers
    printing.py        repr
    free_functions.py  where, matmul, cat, stack, isclose, allclose
    arithmetic.py      ArithmeticOps: + - * / // % ** @, comparisons, add/mul/maximum...
    unary.py           UnaryOps: exp, log, sqrt, relu, sigmoid, floor, clamp, lerp...
    reductions.py      ReductionOps: sum, mean, var, max/min, argmax, softmax, norm...
    movement.py        MovementOps: reshape/view, permute, transpose, expand, split, flip...
    indexing.py        IndexingOps: x[key], x[key] = v, gather, scatter_add, index_select
    inplace.py         InplaceOps: add_, copy_, fill_, normal_, +=, views' write-back
    tensor.py          class Tensor(ArithmeticOps, ..., InplaceOps): construction,
                       properties, autograd hooks, conversions, read-back
    factories.py       tensor, zeros, ones, full, arange, linspace, eye, rand, randn...
    passthrough.py     distml.exp(x) and the other free twins of one-tensor methods

To add a topic of methods (say linalg.py): write `class LinalgOps(TensorBase)` with
`__slots__ = ()` in a new file, importing nothing above it (not tensor.py, factories.py
or passthrough.py: build tensors through the hooks in base.py, recognise them with
isinstance(x, TensorBase)); add it to Tensor's bases in tensor.py; put new free functions
in free_functions.py (several tensors) or in passthrough.py's table (one tensor's method);
export public names here. tests/tensor/test_layering.py checks the import order.
"""
from .factories import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, is_tensor, linspace,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
    zeros_like,
)
from .free_functions import allclose, cat, concat, isclose, matmul, stack, where
from .passthrough import FREE_FUNCTIONS
from .shapes import Size
from .tensor import Tensor
