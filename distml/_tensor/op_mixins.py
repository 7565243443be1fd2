"""The op mixins that are bases of Tensor, and the free functions (distml.mm, distml.einsum,
...) that go with them."""
from . import aliases, index_put, legacy, linalg, sampling, scans, selection, shifting
from . import sorting, triangular
from ._ops_util import free_function
from .aliases import AliasOps
from .formatting import FormatOps
from .index_put import IndexPutOps
from .linalg import LinalgOps
from .new_factories import NewFactoryOps
from .sampling import SamplingOps
from .scans import ScanOps
from .selection import SelectionOps
from .shifting import ShiftingOps
from .sorting import SortingOps
from .triangular import TriangularOps

OP_MIXINS = (LinalgOps, TriangularOps, SortingOps, SamplingOps, ScanOps, ShiftingOps,
             IndexPutOps, NewFactoryOps, FormatOps, AliasOps, SelectionOps)


def op_functions():
    """name -> free function, for distml's namespace."""
    out = {}
    for module, cls in ((linalg, LinalgOps), (triangular, TriangularOps),
                        (sorting, SortingOps), (scans, ScanOps), (shifting, ShiftingOps),
                        (aliases, AliasOps), (selection, SelectionOps),
                        (index_put, IndexPutOps)):
        out.update({name: free_function(getattr(cls, name), name) for name in module.FREE})
    from .einsum import einsum
    out.update(
        einsum=einsum, multinomial=sampling.multinomial, bernoulli=sampling.bernoulli,
        normal=sampling.normal, index_put=index_put.index_put,
        tril_indices=triangular.tril_indices, triu_indices=triangular.triu_indices,
        broadcast_shapes=aliases.broadcast_shapes, promote_types=aliases.promote_types,
        result_type=aliases.result_type, get_default_dtype=aliases.get_default_dtype,
        set_default_dtype=aliases.set_default_dtype, sparse_coo_tensor=aliases.sparse_coo_tensor,
        sparse_csr_tensor=aliases.sparse_coo_tensor, FloatTensor=legacy.FloatTensor,
        LongTensor=legacy.LongTensor, BoolTensor=legacy.BoolTensor,
        DoubleTensor=legacy.DoubleTensor)
    return out
