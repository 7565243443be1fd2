"""The composed floor: torch's wider Tensor API written only from the core's public Tensor
methods (distml/_tensor/), above the core and below nn and optim.

Each module holds one topic as a plain class of methods (SortingOps: sort, topk, ...) and
names the methods that are also free functions (FREE). attach() copies every method onto
the core's Tensor once, at import, so `x.topk`, `Tensor.topk`, help() and inspect see
ordinary functions; distml/__init__.py exports FREE_FUNCTIONS. Nothing here touches a
tensor's buffer, backend, graph or Functions: tests/tensor/test_layering.py checks that,
and that the core never imports this package.
"""
import inspect

from .._tensor import Tensor
from . import aliases, index_ops, inplace_ops, legacy, linalg, pointwise, reductions, sampling
from . import properties, scans, selection, shaping, shifting, sorting, triangular
from ._util import free_function
from .einsum import einsum
from .formatting import FormatOps
from .new_factories import NewFactoryOps
from .passthrough import PASSTHROUGH

# (module, its class of methods); the module's FREE names become free functions too
_TOPICS = ((linalg, linalg.LinalgOps), (triangular, triangular.TriangularOps),
           (sorting, sorting.SortingOps), (None, sampling.SamplingOps),
           (scans, scans.ScanOps), (shifting, shifting.ShiftingOps),
           (index_ops, index_ops.IndexPutOps), (aliases, aliases.AliasOps),
           (selection, selection.SelectionOps), (None, NewFactoryOps), (None, FormatOps),
           (None, pointwise.PointwiseOps), (None, reductions.ReductionOps),
           (None, shaping.ShapingOps), (None, inplace_ops.InplaceOps),
           (None, properties.PropertyOps))


def attach(cls):
    """Copy the topics' methods (and properties, and special methods such as __format__)
    onto cls; a name the core already defines is an error, never silently replaced."""
    core = {name for klass in cls.__mro__[:-1] for name in vars(klass)}
    for _, topic in _TOPICS:
        for name, value in vars(topic).items():
            if name.startswith("__") and not inspect.isfunction(value):
                continue  # __module__, __doc__, __dict__...: the class's own bookkeeping
            if name in core:
                raise TypeError(f"{topic.__name__}.{name} would replace {cls.__name__}.{name}")
            setattr(cls, name, value)


attach(Tensor)

FREE_FUNCTIONS = {name: free_function(getattr(Tensor, name), name)
                  for name in PASSTHROUGH + tuple(n for module, _ in _TOPICS if module
                                                  for n in module.FREE)}
FREE_FUNCTIONS.update(
    einsum=einsum, multinomial=sampling.multinomial, bernoulli=sampling.bernoulli,
    normal=sampling.normal, index_put=index_ops.index_put, isclose=pointwise.isclose,
    allclose=pointwise.allclose,
    tril_indices=triangular.tril_indices, triu_indices=triangular.triu_indices,
    promote_types=aliases.promote_types, result_type=aliases.result_type,
    get_default_dtype=aliases.get_default_dtype, set_default_dtype=aliases.set_default_dtype,
    sparse_coo_tensor=aliases.sparse_coo_tensor, sparse_csr_tensor=aliases.sparse_coo_tensor,
    FloatTensor=legacy.FloatTensor, LongTensor=legacy.LongTensor,
    BoolTensor=legacy.BoolTensor, DoubleTensor=legacy.DoubleTensor)
