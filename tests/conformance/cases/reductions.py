"""Conformance cases: reductions: sum, mean, max/min, amax, argmax, var/std, prod, logsumexp,
softmax, norm, all/any."""
from .base import add, b, CHAIN_TOL, f, i, INF, lit, M2, NAN, RT, T3

# ==========================================================================================
# reductions
# ==========================================================================================
add("sum_all", lambda lib, x: x.sum(), f(M2), **RT)
add("sum_dim0", lambda lib, x: x.sum(0), f(M2), **RT)
add("sum_dim_neg", lambda lib, x: x.sum(-1), f(T3), **RT)
add("sum_dim_tuple", lambda lib, x: x.sum((0, 2)), f(T3), **RT)
add("sum_keepdim", lambda lib, x: x.sum(dim=1, keepdim=True), f(T3), **RT)
add("sum_tuple_keepdim", lambda lib, x: lib.sum(x, (-1, 0), keepdim=True), f(T3), **RT)
add("sum_int", lambda lib, x: [x.sum(), x.sum(0)], i((3, 4), "int<-9,9>"))
add("sum_bool", lambda lib, x: [x.sum(), x.sum(1)], b((3, 4)))
add("sum_scalar", lambda lib, x: x.sum(), f(()))
add("sum_empty", lambda lib, x: [x.reshape(0, 3).sum(0), x.sum()], lit([]))
add("sum_inf", lambda lib, x: [x.sum(), x[:2].sum()], lit([INF, 1.0, -INF]), grad=False)
add("sum_127", lambda lib, x: x.sum(), f((127,)), **RT)
add("mean_all", lambda lib, x: x.mean(), f(M2), **RT)
add("mean_dim", lambda lib, x: x.mean(1), f(T3), **RT)
add("mean_dim_tuple_keepdim", lambda lib, x: lib.mean(x, (0, -1), keepdim=True), f(T3),
    **RT)
add("mean_empty", lambda lib, x: x.mean(), lit([]), grad=False)
add("max_all", lambda lib, x: x.max(), f(M2))
add("min_all", lambda lib, x: lib.min(x), f(M2))
add("max_dim", lambda lib, x: tuple(x.max(1)), f(M2))
add("max_dim_named", lambda lib, x: [x.max(dim=0).values, x.max(dim=0).indices], f(T3))
add("max_dim_keepdim", lambda lib, x: tuple(lib.max(x, -1, keepdim=True)), f(T3))
add("min_dim", lambda lib, x: tuple(x.min(0)), f(M2))
add("min_dim_keepdim", lambda lib, x: tuple(x.min(dim=2, keepdim=True)), f(T3))
add("max_dim_ties", lambda lib, x: tuple(x.max(1)), lit([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))
add("min_dim_ties", lambda lib, x: tuple(x.min(1)), lit([[1.0, 1.0, 3.0], [2.0, 0.0, 0.0]]))
add("max_all_ties", lambda lib, x: x.max(), lit([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]]))
add("max_int", lambda lib, x: [x.max(), x.max(0).values, x.min(1).indices],
    i((3, 4), "int<-3,3>"))
add("max_nan", lambda lib, x: [x.max(), x.amax(1), tuple(x.max(1)), x.argmax(1)],
    lit([[1.0, NAN, 2.0], [0.0, 1.0, -1.0]]), grad=False)
add("amax", lambda lib, x: x.amax(), f(M2))
add("amax_dim", lambda lib, x: x.amax(1), f(T3))
add("amax_tuple", lambda lib, x: lib.amax(x, (0, 2)), f(T3))
add("amax_keepdim_neg", lambda lib, x: x.amax(-2, keepdim=True), f(T3))
add("amin_tuple_keepdim", lambda lib, x: x.amin((1, 2), keepdim=True), f(T3))
add("amin", lambda lib, x: lib.amin(x, 0), f(M2))
add("amax_ties", lambda lib, x: x.amax(1), lit([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
add("amin_ties", lambda lib, x: x.amin(0), lit([[1.0, 0.0, 3.0], [1.0, 0.0, 2.0]]))
add("argmax_all", lambda lib, x: x.argmax(), f(M2))
add("argmax_dim", lambda lib, x: x.argmax(1), f(T3))
add("argmax_keepdim", lambda lib, x: lib.argmax(x, dim=-1, keepdim=True), f(T3))
add("argmin_all", lambda lib, x: lib.argmin(x), f(M2))
add("argmin_dim", lambda lib, x: x.argmin(0), f(M2))
add("argmax_ties", lambda lib, x: [x.argmax(), x.argmax(1), x.argmin(0)],
    lit([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]]))
add("argmax_int", lambda lib, x: [x.argmax(0), x.argmin()], i((4, 3), "int<-2,2>"))
add("argmax_keepdim_no_dim", lambda lib, x: [x.argmax(keepdim=True), x.argmin(keepdim=True)],
    f((3, 4)))
add("var_all", lambda lib, x: x.var(), f(M2), **CHAIN_TOL)
add("var_dim", lambda lib, x: x.var(1), f(M2), **CHAIN_TOL)
add("var_unbiased_false", lambda lib, x: x.var(0, unbiased=False), f(M2), **CHAIN_TOL)
add("var_correction0_keepdim", lambda lib, x: lib.var(x, (0, 2), correction=0, keepdim=True),
    f(T3), **CHAIN_TOL)
add("var_one_element", lambda lib, x: x.var(0, unbiased=False), f((1, 3)), **CHAIN_TOL)
add("std_all", lambda lib, x: x.std(), f(M2), **CHAIN_TOL)
add("std_dim_keepdim", lambda lib, x: lib.std(x, -1, keepdim=True), f(T3), **CHAIN_TOL)
add("std_unbiased_false", lambda lib, x: x.std(dim=0, unbiased=False), f(M2), **CHAIN_TOL)
add("std_constant", lambda lib, x: x.std(1), lit([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
add("var_single_unbiased", lambda lib, x: x.var(0), f((1, 3)))
add("prod_all", lambda lib, x: x.prod(), f((3, 4), "any"), **CHAIN_TOL)
add("prod_dim", lambda lib, x: x.prod(1), f(M2, "any"), **CHAIN_TOL)
add("prod_dim_keepdim", lambda lib, x: lib.prod(x, 0, keepdim=True), f((4, 3), "nonzero"),
    **CHAIN_TOL)
add("prod_zeros", lambda lib, x: [x.prod(1), x.prod()],
    lit([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [-1.0, 2.0, -3.0]]))
add("prod_int", lambda lib, x: [x.prod(), x.prod(0)], i((3, 2), "int<-3,3>"))
add("logsumexp_dim", lambda lib, x: x.logsumexp(1), f(M2), **CHAIN_TOL)
add("logsumexp_tuple", lambda lib, x: lib.logsumexp(x, (0, 2)), f(T3), **CHAIN_TOL)
add("logsumexp_keepdim_neg", lambda lib, x: x.logsumexp(-1, keepdim=True), f(T3),
    **CHAIN_TOL)
# torch's backward is exp(x - lse) with lse rounded to float32 (ulp(1000) = 6e-5)
add("logsumexp_large", lambda lib, x: x.logsumexp(1),
    lit([[1000.0, 1000.0, -1000.0], [-1e4, -1e4, -1e4]]), rtol=1e-4)
add("logsumexp_neg_inf", lambda lib, x: x.logsumexp(1),
    lit([[-INF, -INF, -INF], [-INF, 0.0, 1.0]]))
add("softmax", lambda lib, x: x.softmax(-1), f(M2), **CHAIN_TOL)
add("softmax_dim0", lambda lib, x: lib.softmax(x, 0), f(M2), **CHAIN_TOL)
add("softmax_3d", lambda lib, x: x.softmax(dim=1), f(T3), **CHAIN_TOL)
add("softmax_size1", lambda lib, x: [x.softmax(1), x.log_softmax(1)], f((3, 1)))
add("softmax_large", lambda lib, x: x.softmax(1), lit([[1000.0, 0.0, -1000.0],
                                                      [50.0, 50.0, 50.0]]))
add("softmax_neg_inf", lambda lib, x: x.softmax(1), lit([[-INF, 0.0, 1.0], [2.0, -INF, 2.0]]))
add("log_softmax", lambda lib, x: x.log_softmax(-1), f(M2), **CHAIN_TOL)
add("log_softmax_dim0", lambda lib, x: lib.log_softmax(x, 0), f(T3), **CHAIN_TOL)
add("log_softmax_large", lambda lib, x: x.log_softmax(1),
    lit([[1000.0, 0.0, -1000.0], [-50.0, -50.0, -50.0]]))
add("norm", lambda lib, x: x.norm(), f(M2), **CHAIN_TOL)
add("norm_p1_dim", lambda lib, x: x.norm(p=1, dim=1), f(M2), **CHAIN_TOL)
add("norm_inf", lambda lib, x: x.norm(p=INF), f(M2), **CHAIN_TOL)
add("norm_p3_keepdim", lambda lib, x: lib.norm(x, 3, dim=0, keepdim=True), f(M2), **CHAIN_TOL)
add("all_any", lambda lib, x: [x.all(), x.any(), x.all(1), x.any(0), lib.all(x, 0)],
    b((3, 4)))
add("all_any_keepdim", lambda lib, x: [x.all(1, keepdim=True), x.any(dim=0, keepdim=True)],
    b((3, 4)))
add("all_any_float", lambda lib, x: [x.all(), x.any(), x.all(1)],
    lit([[0.0, 1.0], [2.0, -1.0]], grad=False))
