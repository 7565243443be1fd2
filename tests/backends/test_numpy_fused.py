"""The numpy backend's fused ops (batch norm, SGD) against torch and against the composed
defaults in Backend that every other backend inherits."""
from unittest import mock

import numpy as np
import pytest
import torch

from distml.backends.base import Backend
from distml.backends.numpy import backend as be


def _bn_case(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    sshape = (1, c) + (1,) * (len(shape) - 2)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    w = rng.standard_normal(c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    axes = (0,) + tuple(range(2, len(shape)))
    return x, w, b, g, axes, sshape


@pytest.mark.parametrize("shape", [(4, 512, 1, 1), (8, 16, 9, 7), (32, 7), (6, 3, 5)])
@pytest.mark.parametrize("impl", ["numpy", "composed"])
def test_batch_norm_train_matches_torch(shape, impl):
    x, w, b, g, axes, sshape = _bn_case(shape, 0)
    fwd, bwd = be.batch_norm_train, be.batch_norm_train_backward
    if impl == "composed":
        def fwd(*a):
            return Backend.batch_norm_train(be, *a)

        def bwd(*a):
            return Backend.batch_norm_train_backward(be, *a)
    y, centered, mean, var, invstd = fwd(x, w.reshape(sshape), b.reshape(sshape), axes, 1e-5)
    gx, gw, gb = bwd(g, centered, invstd, w.reshape(sshape), axes)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, None, None, wt, bt, training=True)
    yt.backward(torch.tensor(g))
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(mean.reshape(-1), x.mean(axis=axes), **tol)
    np.testing.assert_allclose(var.reshape(-1), x.var(axis=axes), **tol)
    np.testing.assert_allclose(invstd.reshape(-1), 1 / np.sqrt(x.var(axis=axes) + 1e-5), **tol)
    np.testing.assert_allclose(gx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(gw.reshape(-1), wt.grad.numpy(), **tol)
    np.testing.assert_allclose(gb.reshape(-1), bt.grad.numpy(), **tol)
    for arr in (y, centered, mean, var, invstd, gx, gw, gb):
        assert arr.dtype == np.float32


def test_batch_norm_train_without_affine():
    x, _, _, g, axes, _ = _bn_case((5, 4, 3, 3), 1)
    y, centered, _, _, invstd = be.batch_norm_train(x, None, None, axes, 1e-3)
    y0 = Backend.batch_norm_train(be, x, None, None, axes, 1e-3)[0]
    np.testing.assert_allclose(y, y0, rtol=1e-5, atol=1e-6)
    gx, _, _ = be.batch_norm_train_backward(g, centered, invstd, None, axes)
    gx0, _, _ = Backend.batch_norm_train_backward(be, g, centered, invstd, None, axes)
    np.testing.assert_allclose(gx, gx0, rtol=1e-5, atol=1e-6)


def composed(method, *args, **kw):
    """What the composed default (update_rules on the primitives) returns, not numpy's
    chunked override of `method`."""
    name = method.__name__
    with mock.patch.object(type(be), name, getattr(Backend, name)):
        assert getattr(be, name).__func__ is getattr(Backend, name)
        return getattr(be, name)(*args, **kw)


SGD = [dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False),
       dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False),
       dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2, nesterov=False,
            maximize=True),
       dict(lr=0.05, momentum=0.8, dampening=0.0, weight_decay=5e-4, nesterov=True,
            maximize=False)]


@pytest.mark.parametrize("kw", SGD)
def test_sgd_update_equals_composed_default(kw):
    # several chunks and a ragged last one: bit-for-bit the composed arithmetic
    rng = np.random.default_rng(2)
    shape = (3, be.SGD_CHUNK + 1000)
    p = rng.standard_normal(shape).astype(np.float32)
    buf = None
    for _ in range(3):
        g = rng.standard_normal(shape).astype(np.float32)
        p_before, buf_before, g_before = p.copy(), None if buf is None else buf.copy(), g.copy()
        new_p, new_buf = be.sgd_update(p, g, buf, **kw)
        ref_p, ref_buf = composed(be.sgd_update, p, g, buf, **kw)
        np.testing.assert_array_equal(new_p, ref_p)
        if kw["momentum"]:
            np.testing.assert_array_equal(new_buf, ref_buf)
        else:
            assert new_buf is None
        # inputs are never written
        np.testing.assert_array_equal(p, p_before)
        np.testing.assert_array_equal(g, g_before)
        if buf is not None:
            np.testing.assert_array_equal(buf, buf_before)
        p, buf = new_p, new_buf


@pytest.mark.parametrize("shapes", [((3, 1, 5000), (1, 4, 5000), (3, 4, 1)),
                                    ((4, 5000), (4, 5000), ()),
                                    ((4, 5000), (), (4, 5000)),
                                    ((4, 5000), (4, 5000), (4, 5000))])
@pytest.mark.parametrize("special", [0.0, -0.0, float("nan")])
def test_where_fast_path_is_bit_exact(shapes, special):
    # large float32 where() selects float bits with integer arithmetic: every bit pattern
    # (NaN payloads, -0.0, inf) must come through as np.where's
    rng = np.random.default_rng(3)
    cs, xs, ys = shapes
    cond = rng.random(cs) > 0.5
    x = rng.standard_normal(xs).astype(np.float32)
    y = rng.standard_normal(ys).astype(np.float32) if ys else np.array(special, np.float32)
    if x.size > 5:
        x.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 3e38]
    if y.size > 5:
        y.reshape(-1)[:6] = [-np.inf, np.nan, -0.0, np.inf, -3e38, special]
    out, ref = be.where(cond, x, y), np.where(cond, x, y)
    assert out.dtype == np.float32 and out.shape == ref.shape
    np.testing.assert_array_equal(out.view(np.int32), ref.view(np.int32))


@pytest.mark.parametrize("kw", [
    dict(weight_decay=0.0, decoupled=False, amsgrad=False, maximize=False),
    dict(weight_decay=0.01, decoupled=False, amsgrad=True, maximize=False),
    dict(weight_decay=0.01, decoupled=True, amsgrad=False, maximize=True),
    dict(weight_decay=0.01, decoupled=True, amsgrad=True, maximize=False),
])
def test_adam_update_equals_composed_default(kw):
    # several chunks and a ragged last one, three steps: bit-for-bit the composed arithmetic
    rng = np.random.default_rng(4)
    shape = (3, be.ADAM_CHUNK + 1000)
    p = rng.standard_normal(shape).astype(np.float32)
    state = [np.zeros(shape, np.float32) for _ in range(3)]
    for step in (1.0, 2.0, 3.0):
        g = rng.standard_normal(shape).astype(np.float32)
        before = [a.copy() for a in [p, g] + state]
        args = (p, g, state[0], state[1], state[2] if kw["amsgrad"] else None, 1e-2, 0.9,
                0.999, 1e-8, kw["weight_decay"], kw["decoupled"], kw["amsgrad"],
                kw["maximize"], step)
        new = be.adam_update(*args)
        ref = composed(be.adam_update, *args)
        for a, b in zip(new, ref):
            if b is None:
                assert a is None
            else:
                np.testing.assert_array_equal(a, b)
        for a, b in zip([p, g] + state, before):  # inputs are never written
            np.testing.assert_array_equal(a, b)
        p = new[0]
        state = [new[1], new[2], new[3] if kw["amsgrad"] else state[2]]
