"""Conformance cases: non-contiguous inputs: results of transpose / expand / slices fed into
other ops."""
from .base import _setitem, add, CHAIN_TOL, f, i, lit, M2, MM, RT, sz, T3

# ==========================================================================================
# non-contiguous inputs: results of transpose / expand / slices fed into other ops
# ==========================================================================================
add("nc_transpose_exp", lambda lib, x: x.t().exp(), f(M2))
add("nc_transpose_add", lambda lib, x, y: x.t() + y, f(M2), f(sz((5, 3), (127, 31))))
add("nc_slice_mul", lambda lib, x, y: x[:, ::2] * y, f(M2), f(sz((3, 3), (31, 64))))
add("nc_expand_sum", lambda lib, x: x.expand(4, *x.shape).sum(0), f(M2), **RT)
add("nc_expand_mul", lambda lib, x, y: x.expand(3, 5) * y, f((3, 1)), f((3, 5)), **RT)
add("nc_transpose_reshape", lambda lib, x: x.transpose(0, 1).reshape(-1), f(M2))
add("nc_permute_softmax", lambda lib, x: x.permute(1, 0, 2).softmax(-1), f(T3), **CHAIN_TOL)
add("nc_permute_sum", lambda lib, x: x.permute(2, 0, 1).sum(1), f(T3), **RT)
add("nc_slice_max", lambda lib, x: tuple(x[1:, ::2].max(0)), f(M2))
add("nc_flip_cumul", lambda lib, x: x.flip(1)[:, 1:] - x[:, 1:], f(M2))
add("nc_slice_matmul", lambda lib, x, y: x[:, 1:] @ y[::2], f(sz((3, 7), (31, 33))),
    f(sz((12, 4), (64, 5))), **MM)
add("nc_transpose_gather", lambda lib, x, k: x.t().gather(0, k), f(M2),
    i(sz((3, 3), (9, 31)), sz("index<5>", "index<127>")))
add("nc_expand_index", lambda lib, x, k: x.expand(4, 3)[k], f((1, 3)), lit([3, 1], "int64"))
add("nc_slice_setitem", lambda lib, x, v: _setitem(x.t(), (slice(None, None, 2),), v),
    f((3, 5)), f((3,)))
add("nc_unbind_stack", lambda lib, x: lib.stack(x.t().unbind(0), 0), f(M2))
add("nc_chunk_cat", lambda lib, x: lib.cat(x.chunk(3, 1)[::-1], 1), f(M2))
add("nc_sizes_1", lambda lib, x, y: (x * y).sum(0), f((1, 1)), f((1, 3)))
add("nc_odd_127", lambda lib, x, y: (x[None, :] * y[:, None]).softmax(0), f((127,)), f((3,)),
    **CHAIN_TOL)
