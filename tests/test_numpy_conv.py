"""The numpy backend picks among conv strategies by shape (batch GEMM, single GEMM,
row-shifted GEMMs for stride-1 convs on large maps); every one matches torch."""
import numpy as np
import pytest
import torch

from distml.backends.numpy_backend import backend as be


@pytest.mark.parametrize("hw,stride,padding,dilation,groups", [
    ((20, 21), (1, 1), (1, 1), (1, 1), 1),   # rows path
    ((20, 21), (1, 1), (2, 1), (2, 1), 1),   # rows path, dilated, uneven padding
    ((20, 21), (1, 1), (0, 0), (1, 1), 1),   # rows path, no padding
    ((20, 21), (1, 1), (3, 3), (1, 1), 1),   # padding wider than the kernel reach
    ((20, 21), (2, 2), (1, 1), (1, 1), 1),   # strided: per-image im2col
    ((20, 21), (1, 1), (1, 1), (1, 1), 2),   # grouped
    ((6, 5), (1, 1), (1, 1), (1, 1), 1),     # small map: single GEMM over the batch
    ((6, 5), (2, 1), (0, 1), (1, 2), 2),
])
def test_conv_paths_match_torch(hw, stride, padding, dilation, groups):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 8, *hw, generator=g, requires_grad=True)
    w = torch.randn(12, 8 // groups, 3, 3, generator=g, requires_grad=True)
    y = torch.nn.functional.conv2d(x, w, None, stride, padding, dilation, groups)
    gy = torch.randn(y.shape, generator=g)
    y.backward(gy)
    args = (stride, padding, dilation, groups)
    xn, wn = x.detach().numpy(), w.detach().numpy()
    np.testing.assert_allclose(be.conv2d(xn, wn, *args), y.detach().numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(be.conv2d_grad_input(gy.numpy(), wn, xn.shape, *args),
                               x.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(be.conv2d_grad_weight(xn, gy.numpy(), wn.shape, *args),
                               w.grad.numpy(), rtol=1e-4, atol=5e-4)
