"""Conformance cases: misc Tensor API: device and dtype conversion, whole-tensor comparisons,
iteration, requires_grad flags, no_grad."""
from .base import add, f, i

# ==========================================================================================
# misc API: dtype/device conversion, comparisons of whole tensors, iteration
# ==========================================================================================
add("to_device_str", lambda lib, x: [x.to("cpu") * 2, x.cpu() + 1], f((3, 4)))
add("type_conversion", lambda lib, x: [x.type(lib.int64), x.type(lib.float32) * 2],
    f((4,)))
add("sum_dtype", lambda lib, x: x.sum(dtype=lib.float32) / 2, i((3, 4), "int<-9,9>"))
add("as_tensor", lambda lib, x: lib.as_tensor([[1, 2], [3, 4]], dtype=lib.float32) * x,
    f((2, 2)))
add("equal_allclose_isclose", lambda lib, x: [x.equal(x * 1), lib.equal(x, x + 1),
                                              lib.allclose(x, x + 1e-9), lib.isclose(x, x + 0.5),
                                              lib.allclose(x, x + 1, atol=2.0)],
    f((3, 4), grad=False))
add("iterate_rows", lambda lib, x: [row * k for k, row in enumerate(x)], f((3, 4)))
add("builtin_abs_len", lambda lib, x: [abs(x), len(x), x.shape.numel(), lib.numel(x)],
    f((3, 4)))
add("is_floating_point", lambda lib, x, k: [x.is_floating_point(), k.is_floating_point(),
                                            lib.is_tensor(x), lib.is_tensor(3)],
    f((2,)), i((2,), "int<0,3>"))
add("requires_grad_flags", lambda lib, x, y: [x.requires_grad, (x * 2).requires_grad,
                                              (x * 2).is_leaf, x.is_leaf,
                                              x.detach().requires_grad, (y + 1).requires_grad],
    f((2,)), f((2,), grad=False))
add("no_grad_block", lambda lib, x: _no_grad(lib, x), f((3,)))
add("inplace_after_use", lambda lib, x: _inplace_after_use(x), f((3, 4)))


def _no_grad(lib, x):
    with lib.no_grad():
        y = x * 2
    return [y, y.requires_grad, x * 3]


def _inplace_after_use(x):
    t = x * 1
    z = t * 2
    t.mul_(3)
    return z + t
