"""Conformance cases: matmul in every rank combination, matrix products, einsum, triangular
parts and diagonals."""
from .base import add, f, i, lit, M2, MM, sz, V1

# ==========================================================================================
# matmul
# ==========================================================================================
add("matmul_1d_1d", lambda lib, x, y: x @ y, f(V1), f(V1), **MM)
add("matmul_2d_1d", lambda lib, x, y: x @ y, f(M2), f(V1), **MM)
add("matmul_1d_2d", lambda lib, x, y: x @ y, f(sz((3,), (31,))), f(M2), **MM)
add("matmul_2d_2d", lambda lib, x, y: x @ y, f(sz((3, 4), (31, 127))),
    f(sz((4, 5), (127, 17))), **MM)
add("matmul_1x1", lambda lib, x, y: x @ y, f((1, 1)), f((1, 1)), **MM)
add("matmul_batched", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (5, 9, 33))),
    f(sz((2, 4, 5), (5, 33, 7))), **MM)
add("matmul_broadcast_batch", lambda lib, x, y: x @ y, f(sz((2, 1, 3, 4), (3, 1, 9, 16))),
    f(sz((3, 4, 2), (4, 16, 5))), **MM)
add("matmul_3d_2d", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (4, 9, 33))),
    f(sz((4, 5), (33, 7))), **MM)
add("matmul_2d_3d", lambda lib, x, y: x @ y, f(sz((3, 4), (9, 33))),
    f(sz((2, 4, 5), (4, 33, 7))), **MM)
add("matmul_1d_3d", lambda lib, x, y: x @ y, f(sz((4,), (33,))),
    f(sz((2, 4, 5), (4, 33, 7))), **MM)
add("matmul_3d_1d", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (4, 9, 33))),
    f(sz((4,), (33,))), **MM)
add("matmul_free", lambda lib, x, y: lib.matmul(x, y), f((3, 4)), f((4, 2)), **MM)
add("matmul_method", lambda lib, x, y: x.matmul(y), f((3, 4)), f((4, 2)), **MM)
add("matmul_transposed", lambda lib, x, y: x.t() @ y, f(sz((4, 3), (33, 9))),
    f(sz((4, 5), (33, 7))), **MM)
add("matmul_mT_expand", lambda lib, x, y: x.mT @ y.expand(x.shape[0], *y.shape),
    f(sz((2, 4, 3), (3, 33, 9))), f(sz((4, 5), (33, 7))), **MM)
add("matmul_int", lambda lib, x, y: x @ y, i((3, 4), "int<-5,5>"), i((4, 2), "int<-5,5>"))
add("rmatmul_chain", lambda lib, x, y, z: (x @ y) @ z, f((2, 3)), f((3, 4)), f((4,)), **MM)

# ==========================================================================================
# matrix products, einsum, triangular (issue 10)
# ==========================================================================================
add("mm", lambda lib, x, y: x.mm(y), f(sz((3, 4), (31, 33))), f(sz((4, 5), (33, 7))), **MM)
add("mm_free", lambda lib, x, y: lib.mm(x, y), f((3, 4)), f((4, 2)), **MM)
add("bmm", lambda lib, x, y: lib.bmm(x, y), f(sz((2, 3, 4), (5, 9, 33))),
    f(sz((2, 4, 5), (5, 33, 7))), **MM)
add("mv", lambda lib, x, y: x.mv(y), f(sz((3, 4), (31, 33))), f(sz((4,), (33,))), **MM)
add("dot", lambda lib, x, y: lib.dot(x, y), f(V1), f(V1), **MM)
add("outer", lambda lib, x, y: lib.outer(x, y), f((3,)), f((4,)))
add("addmm", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0.5, alpha=2.0), f((5,)), f((3, 4)),
    f((4, 5)), **MM)
add("addmm_beta0", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0), f((3, 5)), f((3, 4)),
    f((4, 5)), **MM)
add("baddbmm", lambda lib, b, x, y: b.baddbmm(x, y, alpha=0.5), f((2, 3, 5)), f((2, 3, 4)),
    f((2, 4, 5)), **MM)
add("addmv", lambda lib, b, x, y: lib.addmv(b, x, y), f((3,)), f((3, 4)), f((4,)), **MM)
for _eq, _shapes in [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ij->ji", [(3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),
        ("ii->i", [(4, 4)]),
        ("ii", [(4, 4)]),
        ("i,i->", [(5,), (5,)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij,j->i", [(3, 4), (4,)]),
        ("ij->", [(3, 4)]),
        ("ij,kj", [(3, 4), (2, 4)]),
        ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
        ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
        ("b i d, b j d -> b i j", [(2, 3, 4), (2, 5, 4)])]:
    add("einsum_" + "".join(c if c.isalnum() else "_" for c in _eq),
        lambda lib, *xs, _eq=_eq: lib.einsum(_eq, *xs), *[f(s) for s in _shapes], **MM)
add("einsum_list", lambda lib, x, y: lib.einsum("ij,jk", [x, y]), f((3, 4)), f((4, 2)), **MM)
add("tril", lambda lib, x: x.tril(), f(sz((4, 5), (17, 9))))
add("tril_diag1", lambda lib, x: lib.tril(x, 1), f((3, 4, 5)))
add("tril_diag_neg", lambda lib, x: x.tril(diagonal=-2), f((5, 4)))
add("triu", lambda lib, x: x.triu(), f(sz((4, 5), (17, 9))))
add("triu_diag_neg", lambda lib, x: lib.triu(x, -1), f((2, 4, 3)))
add("tril_causal_mask", lambda lib, x: x.masked_fill(
    lib.ones(4, 4).tril() == 0, float("-inf")).softmax(-1), f((2, 4, 4)))
add("triu_bool", lambda lib, x: x.triu(1), lit([[True, True], [True, True]], "bool"))
add("diag_1d", lambda lib, x: lib.diag(x), f((4,)))
add("diag_1d_above", lambda lib, x: x.diag(2), f((3,)))
add("diag_1d_below", lambda lib, x: x.diag(-1), f((3,)))
add("diag_2d", lambda lib, x: x.diag(), f((3, 5)))
add("diag_2d_offset", lambda lib, x: x.diag(-1), f((4, 3)))
add("diagonal_dims", lambda lib, x: x.diagonal(1, 0, 2), f((3, 2, 4)))
add("trace", lambda lib, x: x.trace(), f((4, 4)))
