"""Conformance cases: arithmetic with broadcasting and Python scalars, powers, floor division,
remainder and in-place ops."""
from .base import add, b, COL, f, i, lit, M2, ROW, RT, sz

# ==========================================================================================
# arithmetic, broadcasting, Python scalars
# ==========================================================================================
BIN_SHAPES = [
    ("same", M2, M2),
    ("row", M2, ROW),
    ("row_rev", ROW, M2),
    ("col", M2, COL),
    ("outer", COL, sz((1, 5), (1, 127))),
    ("3d", sz((2, 1, 4), (4, 1, 33)), sz((3, 1), (7, 1))),
    ("scalar_tensor", M2, sz((), ())),
    ("one", sz((1,), (1,)), sz((3,), (127,))),
]
_ARITH = {
    "add": (lambda lib, x, y: x + y, "any"),
    "sub": (lambda lib, x, y: x - y, "any"),
    "mul": (lambda lib, x, y: x * y, "any"),
    "div": (lambda lib, x, y: x / y, "nonzero"),
}
for _name, (_fn, _dom) in _ARITH.items():
    for _tag, _sa, _sb in BIN_SHAPES:
        # the gradient of a broadcast input is a sum over the broadcast dims: REDUCE_TOL
        add(f"{_name}_{_tag}", _fn, f(_sa), f(_sb, _dom), **({} if _tag == "same" else RT))

add("add_free", lambda lib, x, y: lib.add(x, y), f(M2), f(ROW), **RT)
add("add_alpha", lambda lib, x, y: x.add(y, alpha=2), f(M2), f(ROW), **RT)
add("sub_alpha", lambda lib, x, y: lib.sub(x, y, alpha=0.5), f(M2), f(COL), **RT)
add("mul_method", lambda lib, x, y: x.mul(y), f(M2), f(COL), **RT)
add("div_method", lambda lib, x, y: x.div(y), f(M2), f(ROW, "nonzero"), **RT)
add("add_scalar", lambda lib, x: x + 2, f(M2))
add("radd_scalar", lambda lib, x: 2.5 + x, f(M2))
add("sub_scalar", lambda lib, x: x - 1.5, f(M2))
add("rsub_scalar", lambda lib, x: 3 - x, f(M2))
add("mul_scalar", lambda lib, x: x * 3, f(M2))
add("rmul_scalar", lambda lib, x: 0.5 * x, f(M2))
add("div_scalar", lambda lib, x: x / 4, f(M2))
add("rdiv_scalar", lambda lib, x: 2 / x, f(M2, "nonzero"))
add("neg", lambda lib, x: -x, f(M2))
add("neg_method", lambda lib, x: x.neg(), f(M2))
add("pos", lambda lib, x: +x, f((3,)))
add("int_add", lambda lib, x, y: x + y, i((3, 4), "int<-9,9>"), i((4,), "int<-9,9>"))
add("int_mul_scalar", lambda lib, x: x * 3 - 1, i((5,), "int<-9,9>"))
add("int_div_true", lambda lib, x, y: x / y, i((5,), "int<-9,9>"),
    lit([2, -3, 4, 1, -7], "int64"))
add("int_plus_float_scalar", lambda lib, x: x + 2.5, i((4,), "int<-9,9>"))
add("int_times_float_tensor", lambda lib, x, y: x * y, i((3, 4), "int<-9,9>"), f((4,)), **RT)
add("float_plus_int_tensor", lambda lib, x, y: x + y, f((3, 4)), i((3, 1), "int<-9,9>"))
add("bool_plus_int", lambda lib, x, y: x + y, b((4,)), i((4,), "int<0,5>"))
add("bool_times_float", lambda lib, x, y: x * y, b((4,)), f((4,)))

# powers
add("pow_2", lambda lib, x: x ** 2, f(M2))
add("pow_3", lambda lib, x: x ** 3, f(M2))
add("pow_half", lambda lib, x: x ** 0.5, f(M2, "positive"))
add("pow_neg1", lambda lib, x: x ** -1, f(M2, "nonzero"))
add("pow_0", lambda lib, x: x ** 0, f((3, 4)))
add("pow_float_exp", lambda lib, x: x ** 2.5, f(M2, "positive"))
add("rpow_int", lambda lib, x: 2 ** x, f(M2))
add("rpow_float", lambda lib, x: 0.5 ** x, f(M2))
add("pow_tensor", lambda lib, x, y: x ** y, f(M2, "positive"), f(M2))
# the gradient of a broadcast input is a sum over the broadcast dims: REDUCE_TOL
add("pow_tensor_bcast", lambda lib, x, y: x ** y, f(M2, "positive"), f(ROW), **RT)
add("pow_tensor_bcast_rev", lambda lib, x, y: x ** y, f(ROW, "positive"), f(M2), **RT)
add("pow_method", lambda lib, x, y: x.pow(y), f((3, 4), "positive"), f((4,)), **RT)
add("pow_free", lambda lib, x: lib.pow(x, 3), f((3, 4)))
add("pow_edge", lambda lib, x, y: x ** y, lit([0.0, 0.0, 1.0, 2.0, -2.0, -2.0]),
    lit([2.0, 0.0, 0.0, 0.5, 3.0, 2.0]))
add("pow_int", lambda lib, x: x ** 2, i((5,), "int<-5,5>"))
add("pow_int_tensor", lambda lib, x, y: x ** y, i((5,), "int<-5,5>"), i((5,), "int<0,3>"))
add("pow_int_float", lambda lib, x: x ** 0.5, i((5,), "int<0,9>"))
add("square", lambda lib, x: x.square(), f(M2))

# floor division and remainder (torch's floor semantics, both signs)
add("floordiv_tensor", lambda lib, x, y: x // y, f(M2, grad=False), f(M2, "nonzero", False))
add("floordiv_scalar", lambda lib, x: x // 0.75, f(M2, grad=False))
add("floordiv_int", lambda lib, x, y: x // y, i((3, 5), "int<-20,20>"),
    lit([3, -3, 7, -2, 1], "int64"))
add("floordiv_int_scalar", lambda lib, x: x // 4, i((6,), "int<-20,20>"))
add("rfloordiv_scalar", lambda lib, x: 7 // x, f((4, 5), "nonzero", False))
add("rfloordiv_int", lambda lib, x: 7 // x, lit([2, -3, 4, -1], "int64"))
add("mod_tensor", lambda lib, x, y: x % y, f(M2), f(M2, "nonzero"))
add("mod_scalar", lambda lib, x: x % 1.5, f(M2))
add("mod_int", lambda lib, x, y: x % y, i((3, 5), "int<-20,20>"),
    lit([3, -3, 7, -2, 1], "int64"))
add("mod_int_scalar", lambda lib, x: x % 3, i((8,), "int<-20,20>"))
add("rmod_scalar", lambda lib, x: 5 % x, f((4, 5), "nonzero", False))

# in-place ops on non-leaf tensors (gradients flow through the old value)
add("iadd", lambda lib, x, y: _inplace(x, lambda t: t.__iadd__(y)), f(M2), f(ROW), **RT)
add("isub", lambda lib, x, y: _inplace(x, lambda t: t.__isub__(y)), f(M2), f(COL), **RT)
add("imul", lambda lib, x, y: _inplace(x, lambda t: t.__imul__(y)), f(M2), f(ROW), **RT)
add("itruediv", lambda lib, x, y: _inplace(x, lambda t: t.__itruediv__(y)), f(M2),
    f(ROW, "nonzero"), **RT)
add("add_", lambda lib, x, y: _inplace(x, lambda t: t.add_(y, alpha=3)), f(M2), f(M2))
add("sub_", lambda lib, x: _inplace(x, lambda t: t.sub_(1.5)), f(M2))
add("mul_", lambda lib, x: _inplace(x, lambda t: t.mul_(2)), f(M2))
add("div_", lambda lib, x: _inplace(x, lambda t: t.div_(3)), f(M2))
add("pow_", lambda lib, x: _inplace(x, lambda t: t.pow_(2)), f(M2))
add("clamp_", lambda lib, x: _inplace(x, lambda t: t.clamp_(-0.5, 0.5)), f(M2))
add("neg_", lambda lib, x: _inplace(x, lambda t: t.neg_()), f(M2))
add("exp_", lambda lib, x: _inplace(x, lambda t: t.exp_()), f(M2))
add("sqrt_", lambda lib, x: _inplace(x, lambda t: t.sqrt_()), f(M2, "positive"))
add("relu_", lambda lib, x: _inplace(x, lambda t: t.relu_()), f(M2))
add("zero_", lambda lib, x: _inplace(x, lambda t: t.zero_()) + x, f((3, 4)))
add("fill_", lambda lib, x: _inplace(x, lambda t: t.fill_(2.5)) * x, f((3, 4)))
add("copy_", lambda lib, x, y: _inplace(x, lambda t: t.copy_(y)), f((3, 4)), f((4,)), **RT)
add("masked_fill_", lambda lib, x: _inplace(x, lambda t: t.masked_fill_(x > 0, -1.0)),
    f(M2))
add("addcmul_", lambda lib, x, y, z: _inplace(x, lambda t: t.addcmul_(y, z, value=0.5)),
    f(M2), f(M2), f(ROW))
add("addcdiv_", lambda lib, x, y, z: _inplace(x, lambda t: t.addcdiv_(y, z, value=2)),
    f(M2), f(M2), f(ROW, "nonzero"), **RT)
add("lerp_", lambda lib, x, y: _inplace(x, lambda t: t.lerp_(y, 0.3)), f(M2), f(M2), **RT)
add("inplace_int", lambda lib, x: _inplace(x, lambda t: t.add_(2)), i((4,), "int<-5,5>"))
add("lerp", lambda lib, x, y: x.lerp(y, 0.25), f(M2), f(ROW), **RT)
add("addcmul", lambda lib, x, y, z: x.addcmul(y, z, value=-2), f(M2), f(COL), f(ROW), **RT)
add("addcdiv", lambda lib, x, y, z: lib.addcdiv(x, y, z, value=0.5), f(M2), f(COL),
    f(ROW, "nonzero"), **RT)


def _inplace(x, op):
    t = x * 1  # a non-leaf copy: in-place on a leaf that requires grad is an error
    out = op(t)
    assert out is t, "in-place ops return self"
    return t
