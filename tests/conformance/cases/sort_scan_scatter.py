"""Conformance cases: sorting, top-k, scans, shifting, repeating and splitting, index_put /
scatter, unique and counting, and torch's edge cases on 0-d and zero-size tensors (issue 10)."""
from .base import add, b, CHAIN_TOL, f, INF, lit, M2, NAN, REDUCE_TOL, sz

# ==========================================================================================
# sorting, scans, shifting, index_put (issue 10)
# ==========================================================================================
add("sort", lambda lib, x: x.sort(), f(sz((3, 5), (9, 40))))
add("sort_dim0_desc", lambda lib, x: lib.sort(x, 0, descending=True), f((5, 3)))
add("sort_stable_ties", lambda lib, x: x.sort(stable=True, descending=True),
    lit([[1.0, 3.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, -1.0, 0.0]]))
add("sort_nan", lambda lib, x: x.sort(stable=True),
    lit([2.0, NAN, -1.0, INF, -INF]), grad=False)
add("sort_int", lambda lib, x: x.sort(descending=True, stable=True), lit([3, 1, 3, -2], "int64"))
add("argsort", lambda lib, x: x.argsort(dim=1), f((3, 6)))
add("argsort_desc_stable", lambda lib, x: lib.argsort(x, descending=True, stable=True),
    lit([1.0, 2.0, 1.0, 2.0]))
add("topk", lambda lib, x: x.topk(3), f(sz((3, 6), (8, 50))))
add("topk_smallest_dim0", lambda lib, x: lib.topk(x, 2, dim=0, largest=False), f((5, 3)))
add("kthvalue", lambda lib, x: x.kthvalue(2, 1), f((3, 5)))
add("median_dim", lambda lib, x: x.median(1), f((3, 5)))
add("median_all", lambda lib, x: x.median(), f((3, 4)))
add("cumsum", lambda lib, x: x.cumsum(1), f(sz((3, 7), (5, 100))), **REDUCE_TOL)
add("cumsum_dim0", lambda lib, x: lib.cumsum(x, dim=0), f((5, 3)))
add("cumsum_int", lambda lib, x: x.cumsum(0), lit([3, 1, -4, 1, 5], "int64"))
add("cumsum_bool", lambda lib, x: x.cumsum(0), lit([True, False, True], "bool"))
add("cumprod", lambda lib, x: x.cumprod(-1), f((3, 6), "nonzero"), **CHAIN_TOL)
add("cumprod_zeros", lambda lib, x: lib.cumprod(x, 0), lit([2.0, 0.5, 0.0, 3.0, 0.0, 1.5]))
add("logcumsumexp", lambda lib, x: x.logcumsumexp(1), f((2, 5)), **CHAIN_TOL)
add("flip_dims", lambda lib, x: x.flip([0, 2]), f((2, 3, 4)))
add("flip_free", lambda lib, x: lib.flip(x, (1,)), f((2, 3)))
add("roll", lambda lib, x: x.roll(2, 1), f((3, 5)))
add("roll_negative_multi", lambda lib, x: lib.roll(x, (-1, 4), (0, 1)), f((3, 5)))
add("roll_flat", lambda lib, x: x.roll(3), f((2, 4)))
add("repeat_new_dims", lambda lib, x: x.repeat(2, 1, 3), f((2, 3)))
add("tile", lambda lib, x: x.tile((2,)), f((2, 3)))
add("repeat_interleave", lambda lib, x: x.repeat_interleave(2, dim=1), f((2, 3)))
add("repeat_interleave_flat", lambda lib, x: lib.repeat_interleave(x, 3), f((2, 2)))
add("movedim", lambda lib, x: x.movedim(0, -1), f((2, 3, 4)))
add("chunk_uneven_v2", lambda lib, x: x.chunk(3), f((5, 2)))
add("chunk_more_than_size_v2", lambda lib, x: lib.chunk(x, 4, dim=1), f((2, 3)))
add("chunk_6_by_4", lambda lib, x: x.chunk(4), f((6,)))
add("split_uneven", lambda lib, x: x.split(2, dim=1), f((2, 5)))
add("split_sizes_v2", lambda lib, x: lib.split(x, [1, 3, 1]), f((5, 2)))
add("index_put_2d", lambda lib, x, r, c, v: x.index_put((r, c), v), f((4, 5)),
    lit([0, 2, 3], "int64"), lit([4, 0, 2], "int64"), f((3,)))
add("index_put_accumulate_dups", lambda lib, x, r, c, v: x.index_put((r, c), v, True),
    f((3, 4)), lit([0, 2, 0, 0], "int64"), lit([1, 3, 1, 2], "int64"), f((4,)))
add("index_put_rows", lambda lib, x, r, v: lib.index_put(x, (r,), v), f((4, 3)),
    lit([3, -4], "int64"), f((2, 3)))
add("setitem_rows_cols", lambda lib, x, r, c, v: _set(x, (r, c), v), f((4, 5)),
    lit([0, 1, 3], "int64"), lit([2, 2, 4], "int64"), f((3,)))
add("setitem_rows_cols_scalar", lambda lib, x, r, c: _set(x, (r, c), 0.5), f((3, 3)),
    lit([0, 2], "int64"), lit([1, 0], "int64"))
add("setitem_slice_then_index", lambda lib, x, c, v: _set(x, (slice(None), c), v), f((3, 5)),
    lit([4, 1], "int64"), f((3, 2)))
add("setitem_index_trailing", lambda lib, x, r, v: _set(x, (r, Ellipsis), v), f((4, 2, 3)),
    lit([2, 0], "int64"), f((2, 1, 3)))
add("index_add", lambda lib, x, i, s: x.index_add(1, i, s, alpha=2.0), f((2, 4)),
    lit([3, 0, 3], "int64"), f((2, 3)))
add("new_zeros_like_dtype", lambda lib, x: (x.new_zeros(2, 3), x.new_ones((2,)),
                                            x.new_full((2, 2), 7), x.new_tensor([1, 2])),
    lit([1, 2], "int64"))
add("new_zeros_float", lambda lib, x: x.new_zeros((2, 1)) + x.new_empty(2, 1).zero_() + x[:2],
    f((3, 1)))
add("scatter", lambda lib, x, i, s: x.scatter(1, i, s), f((2, 5)), lit([[4, 0], [1, 3]], "int64"),
    f((2, 2)))
add("scatter_value_inplace", lambda lib, x, i: x.clone().scatter_(0, i, 0.25),
    f((3, 2)), lit([[2, 0]], "int64"))
add("scatter_one_hot", lambda lib, t: lib.zeros(4, 5).scatter_(1, t.unsqueeze(1), 1.0),
    lit([3, 0, 4, 3], "int64"))
add("unique", lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True),
    lit([[3, 1, 3], [0, 1, 7]], "int64"))
add("unique_float", lambda lib, x: x.unique(), lit([2.5, -1.0, 2.5, 0.0], grad=False))
add("bincount", lambda lib, x: (x.bincount(), lib.bincount(x, minlength=7)),
    lit([2, 0, 2, 5], "int64"))
add("count_nonzero", lambda lib, x: (lib.count_nonzero(x), x.count_nonzero(0)),
    lit([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]))
add("masked_select", lambda lib, x, m: x.masked_select(m), f((3, 4)), b((3, 4)))
add("masked_select_broadcast", lambda lib, x, m: lib.masked_select(x, m), f((3, 4)), b((4,)))
add("nonzero", lambda lib, x: (x.nonzero(), lib.nonzero(x, as_tuple=True)),
    lit([[0.0, 1.0, 0.0], [2.0, 0.0, -3.0]]))
add("true_divide", lambda lib, x, y: (lib.true_divide(x, y), x.true_divide(2)), f(M2),
    f(M2, "nonzero"))
add("true_divide_int", lambda lib, x, y: lib.true_divide(x, y), lit([7, -7, 3], "int64"),
    lit([2, 2, -4], "int64"))
add("clamp_min_max", lambda lib, x: (x.clamp_min(-0.5), lib.clamp_max(x, 0.3)), f(M2))
add("fmod", lambda lib, x, y: lib.fmod(x, y), lit([5.5, -5.5, 5.5, -5.5]),
    lit([2.0, 2.0, -2.0, -2.0], grad=False))
# torch's edge cases: reductions with a dim on 0-d tensors, softmax over zero size,
# unbiased var/std of one element
add("max_dim_0d", lambda lib, x: (x.max(dim=0), x.min(-1, keepdim=True)), f(()))
add("reduce_dim_0d", lambda lib, x: (x.sum(0), x.mean(-1), x.argmax(0), x.amax(0),
                                     x.prod(0)), f(()))
add("softmax_zero_size", lambda lib, x: (x.reshape(0, 3).softmax(1), x.reshape(0, 3)
                                         .log_softmax(0), x.reshape(3, 0).softmax(1)),
    lit([]))
add("max_min_empty_rows", lambda lib, x: (x.reshape(0, 3).max(dim=1), x.reshape(3, 0).min(0),
                                         x.reshape(0, 3).argmax(1)), lit([]), grad=False)
add("chunk_split_empty", lambda lib, x: (x.reshape(0, 2).chunk(3), x.reshape(0, 2).split(0),
                                         x.reshape(2, 0).split(4, 1)), lit([]))
add("var_std_one_element", lambda lib, x: (x.var(), x.std(), x.var(0), x.std(unbiased=False)),
    f((1,)), grad=False)
add("var_one_row", lambda lib, x: x.var(0), f((1, 3)), grad=False)


def _set(x, key, v):
    y = x.clone()
    y[key] = v
    return y
