"""float64 convolutions and pooling keep float64's precision on every host backend (the
numpy backend's GEMM paths are float32: float64 takes the composed default), values and
gradients against torch in float64."""
import numpy as np
import pytest
import torch

import distml
import distml.nn.functional as F

CASES = [((2, 3, 20, 20), (4, 3, 3, 3), 1, 1, 1), ((2, 3, 20, 20), (4, 3, 5, 5), 2, 0, 1),
         ((1, 3, 6, 6), (4, 3, 3, 3), 2, 1, 1), ((2, 8, 9, 9), (8, 8, 1, 1), 1, 0, 1),
         ((2, 4, 7, 7), (4, 2, 3, 3), 1, 1, 2)]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,groups", CASES)
def test_float64_conv2d_and_grads_match_torch(backend, x_shape, w_shape, stride, padding,
                                              groups):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gy_shape = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=stride,
                                          padding=padding, groups=groups).shape
    gy = rng.standard_normal(tuple(gy_shape))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, stride=stride, padding=padding, groups=groups)
    ty.backward(torch.tensor(gy))
    dx = distml.tensor(x, dtype=distml.float64, requires_grad=True)
    dw = distml.tensor(w, dtype=distml.float64, requires_grad=True)
    dy = F.conv2d(dx, dw, stride=stride, padding=padding, groups=groups)
    dy.backward(distml.tensor(gy, dtype=distml.float64))
    assert dy.dtype == distml.float64 and dx.grad.dtype == distml.float64
    for ours, ref in ((dy, ty), (dx.grad, tx.grad), (dw.grad, tw.grad)):
        np.testing.assert_allclose(np.array(ours.tolist()), ref.detach().numpy(),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_float64_pooling_and_grad_match_torch(backend, pool):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 9))
    fn_t = getattr(torch.nn.functional, f"{pool}_pool2d")
    fn_d = getattr(F, f"{pool}_pool2d")
    tx = torch.tensor(x, requires_grad=True)
    ty = fn_t(tx, 3, 2, 1)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    dx = distml.tensor(x, dtype=distml.float64, requires_grad=True)
    dy = fn_d(dx, 3, 2, 1)
    dy.backward(distml.tensor(gy, dtype=distml.float64))
    assert dy.dtype == distml.float64 and dx.grad.dtype == distml.float64
    np.testing.assert_allclose(np.array(dy.tolist()), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(np.array(dx.grad.tolist()), tx.grad.numpy(), rtol=1e-12,
                               atol=1e-12)
