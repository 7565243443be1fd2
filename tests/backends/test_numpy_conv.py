"""The numpy backend picks among conv strategies by shape (one accumulating GEMM per kernel
tap for stride-1 convs on large maps, through cblas or numpy's matmul when that BLAS entry
point is unavailable; Winograd's F(2x2, 3x3) for 3x3 ones with 64-256 channels; else im2col
columns per image, over the batch or channels-last);
every one matches torch."""
import numpy as np
import pytest
import torch

from distml.backends.numpy import blas as nb
from distml.backends.base import useful_taps
from distml.backends.numpy import backend as be


def assert_conv_matches_torch(seed, x_shape, w_shape, stride, padding, dilation, groups=1):
    """The numpy conv, its input gradient and its weight gradient against torch's (random
    x, w and output gradient from `seed`); returns the output shape."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*x_shape, generator=g, requires_grad=True)
    w = torch.randn(*w_shape, generator=g, requires_grad=True)
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
    return tuple(y.shape)


@pytest.mark.parametrize("hw,stride,padding,dilation,groups", [
    ((20, 21), (1, 1), (1, 1), (1, 1), 1),   # taps
    ((20, 21), (1, 1), (2, 1), (2, 1), 1),   # taps, dilated, uneven padding
    ((20, 21), (1, 1), (0, 0), (1, 1), 1),   # taps, no padding
    ((20, 21), (1, 1), (3, 3), (1, 1), 1),   # padding wider than the kernel reach
    ((20, 21), (2, 2), (1, 1), (1, 1), 1),   # strided: channels-last columns
    ((20, 21), (1, 1), (1, 1), (1, 1), 2),   # grouped
    ((6, 5), (1, 1), (1, 1), (1, 1), 1),     # small map: single GEMM over the batch
    ((6, 5), (2, 1), (0, 1), (1, 2), 2),
    ((12, 13), (1, 1), (1, 1), (1, 1), 1),   # taps forward, im2col weight gradient
    ((40, 41), (1, 1), (2, 0), (1, 2), 1),   # larger map, uneven dilation
])
@pytest.mark.parametrize("cblas", [True, False], ids=["cblas", "numpy"])
def test_conv_paths_match_torch(hw, stride, padding, dilation, groups, cblas, monkeypatch):
    if not cblas:
        monkeypatch.setattr(nb, "_SGEMM", None)
    elif nb._SGEMM is None:
        pytest.skip("numpy's BLAS has no cblas_sgemm entry point we know")
    assert_conv_matches_torch(0, (3, 16) + hw, (12, 16 // groups, 3, 3), stride, padding,
                              dilation, groups)


@pytest.mark.parametrize("hw,stride,padding,dilation", [
    ((6, 5), (1, 1), (1, 1), (1, 1)),
    ((7, 7), (2, 2), (1, 1), (1, 1)),
    ((9, 8), (2, 1), (0, 2), (2, 1)),
    ((1, 1), (1, 1), (1, 1), (1, 1)),
])
def test_conv_channels_last_columns_match_torch(hw, stride, padding, dilation):
    # 16+ channels on small maps: the NHWC window-copy columns
    y_shape = assert_conv_matches_torch(1, (12, 16) + hw, (20, 16, 3, 3), stride, padding,
                                        dilation)
    assert be._layout((12, 16) + hw, (20, 16, 3, 3), stride, padding, 1, y_shape[2], y_shape[3],
                      be.TAP_MIN_MAP) == "nhwc"


@pytest.mark.parametrize("hw,stride,padding,dilation", [
    ((1, 1), (1, 1), (1, 1), (1, 1)),      # only the centre tap meets the input
    ((1, 3), (1, 1), (1, 1), (1, 1)),      # cropped rows only
    ((2, 2), (2, 2), (2, 1), (1, 1)),      # strided
    ((1, 1), (1, 1), (2, 2), (2, 2)),      # dilated
])
def test_conv_taps_that_only_see_padding(hw, stride, padding, dilation):
    assert useful_taps((2, 3) + hw, (3, 3), stride, padding, dilation) is not None
    assert_conv_matches_torch(2, (2, 3) + hw, (5, 3, 3, 3), stride, padding, dilation)


@pytest.mark.parametrize("hw,stride", [((8, 7), (2, 2)), ((5, 6), (1, 1)), ((9, 9), (3, 2)),
                                       ((34, 33), (2, 2)), ((16, 17), (1, 1))])
def test_pointwise_conv_matches_torch(hw, stride):
    # 1x1 kernels without padding (ResNet's downsample): GEMMs on the subsampled input
    assert_conv_matches_torch(3, (3, 6) + hw, (10, 6, 1, 1), stride, (0, 0), (1, 1))


def test_few_channels_large_map_matches_torch():
    # an RGB / grey stem on a large map: per-image im2col rather than tap GEMMs with K = C
    assert_conv_matches_torch(4, (2, 3, 20, 19), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1))


@pytest.mark.parametrize("x_shape,w_shape,stride,groups,layout", [
    ((2, 4, 34, 33), (6, 4, 3, 3), (2, 2), 1, "image"),     # few channels, large map
    ((3, 4, 9, 8), (6, 4, 3, 3), (2, 1), 1, "batch"),       # few channels, small map
    ((1, 16, 3, 3), (40, 16, 3, 3), (2, 2), 1, "batch"),    # more weights than columns
    ((2, 16, 34, 33), (8, 4, 3, 3), (2, 2), 4, "image"),    # grouped: a batched GEMM
    ((3, 8, 9, 8), (8, 1, 3, 3), (2, 1), 8, "batch"),       # depthwise
    ((3, 16, 34, 33), (8, 16, 1, 1), (2, 2), 1, "image"),   # 1x1: the subsampled input
    ((3, 16, 17, 16), (8, 16, 1, 1), (1, 1), 1, "image"),   # 1x1: the input itself
    ((3, 16, 5, 6), (8, 16, 1, 1), (2, 2), 1, "batch"),
])
def test_im2col_layouts_match_torch(x_shape, w_shape, stride, groups, layout):
    # strided, so the input gradient scatters the columns back in the same layout
    padding = (0, 0) if w_shape[2:] == (1, 1) else (1, 1)
    y_shape = assert_conv_matches_torch(5, x_shape, w_shape, stride, padding, (1, 1), groups)
    assert be._layout(x_shape, w_shape, stride, padding, groups, y_shape[2], y_shape[3],
                      be.TAP_MIN_MAP) == layout


@pytest.mark.parametrize("hw,padding,chunk_bytes", [
    ((8, 8), (1, 1), None),         # ResNet-18's layer3: even, one chunk of images
    ((9, 11), (1, 1), None),        # odd maps: the last tiles hang over the edge
    ((10, 9), (0, 2), 1 << 16),     # no padding one way, more than the kernel's the other;
                                    # several chunks of images per thread
    ((12, 8), (2, 0), 1),           # one image per chunk
])
def test_winograd_convs_match_float64(hw, padding, chunk_bytes, monkeypatch):
    # 64 input and output channels: Winograd's F(2x2, 3x3) (winograd.py); forward, and the
    # input gradient (a forward conv of the output gradient), against torch in float64,
    # within a bound of float32's error: 4 eps per unit of the sum of |x| |w| (measured:
    # up to 1.5; a weight transform off by 1e-4 breaks it)
    from distml.backends.numpy import winograd
    if chunk_bytes:
        monkeypatch.setattr(winograd, "CHUNK_BYTES", chunk_bytes)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 64, *hw, generator=g, dtype=torch.float64)
    w = torch.randn(64, 64, 3, 3, generator=g, dtype=torch.float64)
    y = torch.nn.functional.conv2d(x, w, None, 1, padding)
    gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    assert be._winograd(x.shape, w.shape, (1, 1), (1, 1), 1, *y.shape[2:])
    eps = np.finfo(np.float32).eps

    def check(got, want, scale):
        bound = 4 * eps * scale.numpy()
        assert np.all(np.abs(got - want.numpy()) <= bound), float(
            (np.abs(got - want.numpy()) / bound).max())
    args = ((1, 1), padding, (1, 1), 1)
    xn, wn, gyn = (t.numpy().astype(np.float32) for t in (x, w, gy))
    check(be.conv2d(xn, wn, *args), y, torch.nn.functional.conv2d(x.abs(), w.abs(), None, 1,
                                                                  padding))
    gx = torch.nn.grad.conv2d_input(x.shape, w, gy, 1, padding)
    check(be.conv2d_grad_input(gyn, wn, xn.shape, *args), gx,
          torch.nn.grad.conv2d_input(x.shape, w.abs(), gy.abs(), 1, padding))
