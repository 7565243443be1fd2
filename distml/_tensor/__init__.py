"""The Tensor floor: the Tensor class, its factories and free functions.

Named `_tensor` (as torch's) so the package never shadows the function `distml.tensor`.
"""
from .tensor import (  # noqa: F401
    FREE_FUNCTIONS, Size, Tensor, allclose, arange, as_tensor, cat, concat,
    empty, empty_like, eye, from_numpy, full, full_like, isclose, is_tensor, linspace, matmul,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, stack, tensor,
    where, zeros, zeros_like,
)
