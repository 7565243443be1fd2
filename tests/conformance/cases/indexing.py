"""Conformance cases: indexing and item assignment (ints, slices, None, Ellipsis, index tensors,
masks), cat / stack, gather / scatter_add / index_select, read-back."""
from .base import _setitem, add, b, f, i, lit, M2, ROW, RT, sz, T3

# ==========================================================================================
# indexing
# ==========================================================================================
add("index_int", lambda lib, x: x[1], f(T3))
add("index_neg_int", lambda lib, x: x[-1, 0], f(T3))
add("index_all_ints", lambda lib, x: x[1, 2, 3], f(T3))
add("index_slice", lambda lib, x: x[1:], f(M2))
add("index_slice_step", lambda lib, x: x[::2, 1::3], f(M2))
add("index_slice_neg", lambda lib, x: x[-2:, :-1], f(M2))
add("index_slice_clamped", lambda lib, x: x[1:100, -100:2], f(M2))
add("index_slice_empty", lambda lib, x: x[3:1], f(M2))
add("index_none", lambda lib, x: x[None], f(M2))
add("index_none_mid", lambda lib, x: x[:, None, 1:], f(M2))
add("index_ellipsis", lambda lib, x: x[..., 1], f(T3))
add("index_ellipsis_mid", lambda lib, x: x[0, ..., ::2], f(T3))
add("index_ellipsis_none", lambda lib, x: x[..., None, 1:3], f(T3))
add("index_mixed", lambda lib, x: x[1:, None, ..., ::2], f(T3))
add("index_0d_int_tensor", lambda lib, x: x[lib.tensor(1)], f(M2))
add("index_tensor_1d", lambda lib, x, k: x[k], f(M2), i((4,), "index<3>"))
add("index_tensor_2d", lambda lib, x, k: x[k], f(M2), i((2, 3), "index<3>"))
add("index_tensor_neg", lambda lib, x, k: x[k], f(M2), i((4,), "sindex<3>"))
add("index_tensor_repeated", lambda lib, x, k: x[k], f((4, 3)), lit([0, 2, 0, 0, 3], "int64"))
add("index_list", lambda lib, x: x[[0, 2, 2]], f((4, 3)))
add("index_tensor_dim1", lambda lib, x, k: x[:, k], f(M2), lit([4, 0, 0, -1], "int64"))
add("index_tensor_after_int", lambda lib, x, k: x[1, k], f(T3), lit([2, 0, 2], "int64"))
add("index_pair", lambda lib, x, y: x[lib.arange(x.shape[0]), y], f(sz((4, 5), (64, 10))),
    i(sz((4,), (64,)), sz("index<5>", "index<10>")))
add("index_pair_bcast", lambda lib, x, r, c: x[r[:, None], c], f(M2),
    lit([0, 2], "int64"), lit([1, 1, 4], "int64"))
add("index_pair_3d_adjacent", lambda lib, x, r, c: x[:, r, c], f(T3),
    lit([0, 2, 1], "int64"), lit([3, 0, 0], "int64"))
add("index_pair_non_adjacent", lambda lib, x, r, c: x[r, :, c], f(T3),
    lit([1, 0], "int64"), lit([3, 0], "int64"))
add("index_bool_mask", lambda lib, x: x[x > 0], f(M2))
add("index_bool_mask_rows", lambda lib, x, m: x[m], f(M2), b(sz((3,), (31,))))
add("index_bool_all_false", lambda lib, x: x[x > 100], f((3, 4)))
add("index_bool_mask_dim1", lambda lib, x, m: x[:, m], f(M2), b(ROW))
add("index_bool_mask_after_int", lambda lib, x, m: x[1, m], f(T3), b(sz((3,), (7,))))
add("index_noncontig", lambda lib, x: x.t()[1:, ::2], f(M2))
add("setitem_slice_scalar", lambda lib, x: _setitem(x, slice(1, 3), 0.0), f(M2))
add("setitem_slice_step", lambda lib, x, v: _setitem(x, (slice(None), slice(None, None, 2)),
                                                     v * 2), f((3, 5)), f((3, 3)))
add("setitem_slice_bcast", lambda lib, x, v: _setitem(x, (slice(None), 0), v), f(M2),
    f(sz((3,), (31,))), **RT)
add("setitem_int", lambda lib, x, v: _setitem(x, 1, v), f(M2), f(ROW))
add("setitem_ellipsis", lambda lib, x: _setitem(x, (Ellipsis, -1), 5.0), f(T3))
add("setitem_mask", lambda lib, x: _setitem(x, x > 0, 0.0), f(M2))
add("setitem_mask_tensor_value", lambda lib, x, v: _setitem(x, x < 0, v), f(M2), f(()), **RT)
add("setitem_mask_rows", lambda lib, x, m: _setitem(x, m, 0.0), f(sz((3, 5), (31, 31))),
    b(sz((3,), (31,))))
add("setitem_mask_rows_value", lambda lib, x, v: _setitem(x, lib.tensor([True, False, True]),
                                                          v), f((3, 3)), f((3,)))
add("setitem_mask_per_element", lambda lib, x, v: _setitem(x, lib.tensor([True, False, True]),
                                                           v), f((3,)), f((2,)))
add("setitem_mask_2d_per_element", lambda lib, x, v: _setitem(x, x.detach() > 0, v[:int(
    (x > 0).sum())]), lit([[1.0, -1.0, 2.0], [-3.0, 4.0, -5.0]]), f((3,)))
add("view_inplace_shares_memory", lambda lib, x: _view_inplace(x), f((3, 4)))


def _view_inplace(x):
    t = x * 1
    row = t[0]
    row.add_(1)
    t.view(4, 3)[1:3].mul_(2)
    t.t()[:, 1].sub_(0.5)
    return t
add("setitem_index_tensor", lambda lib, x, k, v: _setitem(x, k, v), f((4, 3)),
    lit([2, 0], "int64"), f((2, 3)))
add("setitem_index_tensor_neg", lambda lib, x, k, v: _setitem(x, k, v), f((4, 3)),
    lit([-1, 1], "int64"), f((3,)))
add("setitem_int_tensor_value", lambda lib, x: _setitem(x, slice(0, 2), 7),
    i((4,), "int<-5,5>"))
add("setitem_leaf_no_grad", lambda lib, x, v: _leaf_set(lib, x, v), f((3, 4), grad=False),
    f((4,)))


def _leaf_set(lib, x, v):
    x = x.clone()
    x[1] = v
    return x * 2


# cat / stack
add("cat_dim0", lambda lib, x, y: lib.cat([x, y]), f(M2), f(sz((2, 5), (3, 127))))
add("cat_dim1", lambda lib, x, y: lib.cat((x, y), dim=1), f(M2), f(sz((3, 2), (31, 1))))
add("cat_neg_dim", lambda lib, x, y, z: lib.cat([x, y, z], -1), f(T3), f(T3),
    f(sz((2, 3, 1), (4, 7, 1))))
add("cat_single", lambda lib, x: lib.cat([x]), f(M2))
add("cat_legacy_empty", lambda lib, x, e: lib.cat([e, x, e]), f((2, 3)), lit([]))
add("cat_promote", lambda lib, x, y: lib.cat([x, y]), i((2, 3), "int<-5,5>"), f((1, 3)))
add("cat_int", lambda lib, x, y: lib.cat([x, y], 1), i((2, 3), "int<-5,5>"),
    i((2, 1), "int<-5,5>"))
add("cat_no_grad_input", lambda lib, x, y: lib.cat([x, y]), f((2, 3)), f((2, 3), grad=False))
add("concat", lambda lib, x, y: lib.concat([x, y], 0), f((2, 3)), f((1, 3)))
add("stack", lambda lib, x, y: lib.stack([x, y]), f(M2), f(M2))
add("stack_dim1", lambda lib, x, y, z: lib.stack((x, y, z), dim=1), f(M2), f(M2), f(M2))
add("stack_last", lambda lib, x, y: lib.stack([x, y], -1), f(T3), f(T3))
add("stack_scalars", lambda lib, x, y: lib.stack([x, y]), f(()), f(()))

# gather / scatter_add / index_select
add("gather_dim0", lambda lib, x, k: x.gather(0, k), f(M2),
    i(sz((4, 5), (40, 127)), sz("index<3>", "index<31>")))
add("gather_dim1", lambda lib, x, k: lib.gather(x, 1, k), f(M2),
    i(sz((3, 2), (31, 7)), sz("index<5>", "index<127>")))
add("gather_smaller_index", lambda lib, x, k: x.gather(1, k), f((4, 5)), i((2, 3), "index<5>"))
add("gather_neg_dim_3d", lambda lib, x, k: x.gather(-1, k), f(T3),
    i(sz((2, 3, 6), (4, 7, 9)), sz("index<4>", "index<33>")))
add("gather_repeated", lambda lib, x, k: x.gather(1, k), f((2, 3)),
    lit([[0, 0, 0, 2], [1, 1, 2, 1]], "int64"))
add("gather_int", lambda lib, x, k: x.gather(0, k), i((3, 2), "int<-9,9>"),
    lit([[2, 0], [1, 1]], "int64"))
add("scatter_add", lambda lib, x, k, s: x.scatter_add(0, k, s), f((5, 4)),
    i((3, 4), "index<5>"), f((3, 4)))
add("scatter_add_dim1_repeated", lambda lib, x, k, s: lib.scatter_add(x, 1, k, s), f((2, 3)),
    lit([[0, 0, 2, 0], [1, 1, 1, 1]], "int64"), f((2, 4)))
# src larger than index: torch's backward cannot produce src's gradient (shape error)
add("scatter_add_larger_src", lambda lib, x, k, s: x.scatter_add(0, k, s), f((5, 4)),
    i((2, 3), "index<5>"), f((3, 4), grad=False))
add("index_select", lambda lib, x, k: x.index_select(0, k), f(M2), i((4,), "index<3>"))
add("index_select_dim1", lambda lib, x, k: lib.index_select(x, 1, k), f(M2),
    lit([4, 0, 0, 2, 1, 4], "int64"))
add("index_select_3d", lambda lib, x, k: x.index_select(-1, k), f(T3), lit([3, 3, 0], "int64"))
add("index_select_int", lambda lib, x, k: x.index_select(0, k), i((3, 2), "int<-9,9>"),
    lit([2, 2, 0], "int64"))

# read-back
add("item_float", lambda lib, x: x.sum().item(), f((3, 4)), **RT)
add("item_int", lambda lib, x: x.max().item(), i((4,), "int<-9,9>"))
add("item_bool", lambda lib, x: (x > 0).any().item(), f((4,), grad=False))
add("item_one_element", lambda lib, x: x.item(), f((1, 1), grad=False))
add("tolist", lambda lib, x: x.tolist(), f(T3, grad=False))
add("tolist_int_bool", lambda lib, x: [x.tolist(), (x > 0).tolist()], i((2, 3), "int<-3,3>"))
add("tolist_scalar", lambda lib, x: x.tolist(), f((), grad=False))
add("float_int_bool_builtin", lambda lib, x: [float(x), int(x * 10), bool(x > 0)],
    lit([0.75], grad=False))
