"""Conformance cases: unary functions and their edge values, clamp / maximum / minimum,
comparisons, logical ops, where and masked_fill."""
from .base import add, b, CHAIN_TOL, COL, f, i, INF, lit, M2, NAN, ROW, RT, sz

# ==========================================================================================
# elementwise functions
# ==========================================================================================
_UNARY = [
    ("exp", lambda lib, x: x.exp(), "any"),
    ("log", lambda lib, x: x.log(), "positive"),
    ("sqrt", lambda lib, x: x.sqrt(), "positive"),
    ("rsqrt", lambda lib, x: x.rsqrt(), "positive"),
    ("abs", lambda lib, x: x.abs(), "any"),
    ("sign", lambda lib, x: x.sign(), "any"),
    ("tanh", lambda lib, x: x.tanh(), "any"),
    ("sigmoid", lambda lib, x: x.sigmoid(), "any"),
    ("relu", lambda lib, x: x.relu(), "any"),
    ("erf", lambda lib, x: x.erf(), "any"),
    ("sin", lambda lib, x: x.sin(), "any"),
    ("cos", lambda lib, x: x.cos(), "any"),
    ("reciprocal", lambda lib, x: x.reciprocal(), "nonzero"),
    ("log2", lambda lib, x: x.log2(), "positive"),
    ("log1p", lambda lib, x: x.log1p(), "unit"),
    ("expm1", lambda lib, x: x.expm1(), "unit"),
    ("floor", lambda lib, x: x.floor(), "any"),
    ("ceil", lambda lib, x: x.ceil(), "any"),
    ("round", lambda lib, x: x.round(), "any"),
]
for _name, _fn, _dom in _UNARY:
    add(_name, _fn, f(M2, _dom))
for _name in ("exp", "log", "sqrt", "rsqrt", "abs", "neg", "sign", "tanh", "sigmoid", "relu",
              "erf", "sin", "cos", "reciprocal", "square", "floor", "ceil", "round"):
    _dom = "positive" if _name in ("log", "sqrt", "rsqrt") else \
        "nonzero" if _name == "reciprocal" else "any"
    add(f"{_name}_free", (lambda n: lambda lib, x: getattr(lib, n)(x))(_name), f((3, 4), _dom))

add("exp_extreme", lambda lib, x: x.exp(), lit([-100.0, -1e-8, 0.0, 10.0, 88.0, 89.0, 100.0]))
add("log_edge", lambda lib, x: x.log(), lit([0.0, 1e-30, 1.0, 3.5, INF]))
add("sqrt_edge", lambda lib, x: x.sqrt(), lit([0.0, 1e-20, 4.0, INF]))
add("rsqrt_edge", lambda lib, x: x.rsqrt(), lit([0.0, 0.25, 4.0, INF]))
add("sigmoid_extreme", lambda lib, x: x.sigmoid(),
    lit([-INF, -100.0, -20.0, 0.0, 20.0, 100.0, INF]))
add("tanh_extreme", lambda lib, x: x.tanh(), lit([-INF, -30.0, -1e-6, 0.0, 1e-6, 30.0, INF]))
add("erf_range", lambda lib, x: x.erf(),
    lit([-INF, -6.0, -3.0, -1.0, -0.49, -1e-4, 0.0, 1e-4, 0.2, 0.5, 0.51, 1.5, 2.5, 4.0, INF]))
add("relu_zero", lambda lib, x: x.relu(), lit([-1.0, -0.0, 0.0, 1.0]))
add("abs_zero", lambda lib, x: x.abs(), lit([-1.0, 0.0, 1.0]))
add("sign_zero", lambda lib, x: x.sign(), lit([-2.0, 0.0, 3.0]))
add("round_half_even", lambda lib, x: x.round(),
    lit([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997]))
add("floor_ceil_edge", lambda lib, x: [x.floor(), x.ceil()],
    lit([-1.5, -1.0, -0.2, 0.0, 0.2, 1.0, 1.5]))
add("nan_propagation", lambda lib, x: [x.exp(), x.abs(), x.relu(), x.sigmoid(), x.tanh(),
                                      x.clamp(-1, 1), x + 1, x * 0],
    lit([NAN, 1.0, -INF, INF]), grad=False)
add("isnan_isinf_isfinite", lambda lib, x: [x.isnan(), x.isinf(), x.isfinite(),
                                           lib.isnan(x)],
    lit([NAN, 1.0, -INF, INF, 0.0]), grad=False)
add("abs_int", lambda lib, x: [x.abs(), -x, x.sign()], i((6,), "int<-5,5>"))
add("exp_int", lambda lib, x: x.exp(), i((5,), "int<-3,3>"))
add("sqrt_int", lambda lib, x: x.sqrt(), i((5,), "int<0,9>"))
add("sigmoid_int", lambda lib, x: x.sigmoid(), i((5,), "int<-3,3>"))
add("relu_int", lambda lib, x: x.relu(), i((5,), "int<-3,3>"))
add("unary_chain", lambda lib, x: (x.sin() * x.cos() + x.tanh()).exp().sqrt(), f(M2))

# clamp, maximum, minimum
add("clamp_min", lambda lib, x: x.clamp(min=-0.5), f(M2))
add("clamp_max", lambda lib, x: x.clamp(max=0.5), f(M2))
add("clamp_both", lambda lib, x: x.clamp(-0.5, 0.5), f(M2))
add("clamp_free", lambda lib, x: lib.clamp(x, min=0.0, max=1.0), f(M2))
add("clip", lambda lib, x: x.clip(-1, 1), f(M2))
add("clamp_ties", lambda lib, x: x.clamp(-0.5, 0.5),
    lit([-1.0, -0.5, -0.25, 0.0, 0.5, 0.75]))
add("clamp_ties_min_only", lambda lib, x: x.clamp(min=0.0), lit([-1.0, 0.0, 1.0]))
add("clamp_min_gt_max", lambda lib, x: x.clamp(1.0, -1.0), lit([-2.0, 0.0, 2.0]),
    grad=False)
add("clamp_int", lambda lib, x: x.clamp(-2, 3), i((8,), "int<-5,5>"))
add("clamp_int_float_bounds", lambda lib, x: [x.clamp(0.5), x.clamp(min=-1.5, max=2)],
    i((8,), "int<-5,5>"))
add("clamp_tensor_bounds", lambda lib, x, lo, hi: x.clamp(lo, hi), f(M2),
    f(ROW, "unit", False), f(COL, "positive", False), **RT)
add("maximum", lambda lib, x, y: lib.maximum(x, y), f(M2), f(M2))
add("maximum_bcast", lambda lib, x, y: x.maximum(y), f(M2), f(ROW), **RT)
add("minimum", lambda lib, x, y: lib.minimum(x, y), f(M2), f(COL), **RT)
add("maximum_ties", lambda lib, x, y: lib.maximum(x, y), lit([1.0, 2.0, 3.0, -1.0]),
    lit([1.0, 1.0, 4.0, -1.0]))
add("minimum_ties", lambda lib, x, y: lib.minimum(x, y), lit([1.0, 2.0, 3.0, -1.0]),
    lit([1.0, 1.0, 4.0, -1.0]))
add("max_binary", lambda lib, x, y: [lib.max(x, y), x.min(y)], f(M2), f(ROW), **RT)
add("maximum_nan", lambda lib, x, y: [lib.maximum(x, y), lib.minimum(x, y)],
    lit([NAN, 1.0, 2.0]), lit([1.0, NAN, 3.0]), grad=False)
add("maximum_int", lambda lib, x, y: lib.maximum(x, y), i((5,), "int<-5,5>"),
    i((5,), "int<-5,5>"))

# comparisons, logical ops, where
for _name, _op in (("lt", "__lt__"), ("le", "__le__"), ("gt", "__gt__"), ("ge", "__ge__"),
                   ("eq", "__eq__"), ("ne", "__ne__")):
    add(f"{_name}_bcast", (lambda o: lambda lib, x, y: getattr(x, o)(y))(_op),
        i(M2, "int<-2,2>"), i(ROW, "int<-2,2>"))
    add(f"{_name}_scalar", (lambda o: lambda lib, x: getattr(x, o)(0.5))(_op), f(M2))
    add(f"{_name}_method", (lambda n: lambda lib, x, y: [getattr(x, n)(y),
                                                         getattr(lib, n)(x, y)])(_name),
        f((3, 4), grad=False), f((3, 1), grad=False))
add("compare_reversed_scalar", lambda lib, x: [1 < x, 0 >= x, 2 == x], i((6,), "int<0,3>"))
add("compare_int_float", lambda lib, x, y: [x < y, x == y], i((5,), "int<-2,2>"),
    lit([-1.5, 0.0, 1.0, 2.0, 0.5], grad=False))
add("compare_nan", lambda lib, x: [x == x, x != x, x < 1, x >= 1],
    lit([NAN, 1.0, INF, -INF]), grad=False)
add("logical_ops", lambda lib, x, y: [x & y, x | y, ~x, lib.logical_not(x),
                                      lib.logical_and(x, y), x.logical_or(y)],
    b(sz((3, 5), (31, 127))), b(sz((5,), (127,))))
add("logical_not_float", lambda lib, x: lib.logical_not(x), lit([0.0, 1.5, -2.0], grad=False))
add("where", lambda lib, c, x, y: lib.where(c, x, y), b(M2), f(M2), f(M2))
add("where_bcast_cond", lambda lib, c, x, y: lib.where(c, x, y), b(ROW), f(M2), f(COL), **RT)
add("where_bcast_values", lambda lib, c, x, y: lib.where(c, x, y), b(M2), f(ROW),
    f(sz((), ())), **RT)
add("where_from_compare", lambda lib, x, y: lib.where(x > y, x, y * 2), f(M2), f(ROW), **RT)
add("where_scalar_other", lambda lib, c, x: lib.where(c, x, 0.0), b(M2), f(M2))
add("where_scalar_input", lambda lib, c, x: lib.where(c, -1.0, x), b(M2), f(M2))
add("where_int", lambda lib, c, x, y: lib.where(c, x, y), b((5,)), i((5,), "int<-5,5>"),
    i((5,), "int<-5,5>"))
add("where_method", lambda lib, c, x, y: x.where(c, y), b((3, 4)), f((3, 4)), f((4,)))
add("masked_fill", lambda lib, x, m: x.masked_fill(m, -1.5), f(M2), b(M2))
add("masked_fill_bcast", lambda lib, x, m: x.masked_fill(m, 0.0), f(M2), b(ROW))
add("masked_fill_inf", lambda lib, x, m: x.masked_fill(m, -INF).softmax(-1), f(M2), b(ROW),
    **CHAIN_TOL)
add("masked_fill_tensor_value", lambda lib, x, m, v: x.masked_fill(m, v), f(M2), b(M2),
    f(()), **RT)
add("masked_fill_int", lambda lib, x, m: lib.masked_fill(x, m, 7), i((5,), "int<-5,5>"),
    b((5,)))
