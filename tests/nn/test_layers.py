"""distml.nn layers and nn.functional against torch (float32, identical weights): every
module's forward and backward, embedding, pooling, activations, padding, one_hot,
BatchNorm running statistics, argument errors of conv and pooling, dropout. They run
on both CPU backends (numpy and pure Python, small shapes for the latter)."""
import math
import warnings

import numpy as np
import pytest
# _restore_numpy_backend: an autouse fixture, active in this module
from nn_float32_reference import _restore_numpy_backend  # noqa: F401
from nn_float32_reference import _img, close, compare_module, dm, load_from_torch, rng, tt, torch

import distml
import distml.nn as nn
import distml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional


# -- module forward/backward vs torch ---------------------------------------------------------

MODULE_CASES = [
    # id, (torch factory, distml factory), input shape (numpy backend), small shape (python)
    ("linear", lambda m: m.Linear(5, 3), (4, 5), (2, 5)),
    ("linear_nobias_3d", lambda m: m.Linear(5, 3, bias=False), (2, 3, 5), (2, 2, 5)),
    ("conv", lambda m: m.Conv2d(3, 4, 3), (2, 3, 8, 8), (1, 3, 5, 5)),
    ("conv_stride_pad", lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 9),
     (1, 3, 5, 5)),
    ("conv_rect_dilation", lambda m: m.Conv2d(2, 4, (3, 2), padding=(2, 1), dilation=2),
     (2, 2, 9, 8), (1, 2, 6, 6)),
    ("conv_groups", lambda m: m.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 7, 7),
     (1, 4, 5, 5)),
    ("conv_depthwise", lambda m: m.Conv2d(3, 3, 3, padding=1, groups=3), (2, 3, 6, 6),
     (1, 3, 4, 4)),
    ("conv_same_even", lambda m: m.Conv2d(2, 3, 4, padding="same"), (2, 2, 7, 6),
     (1, 2, 5, 5)),
    ("conv_same_dilated", lambda m: m.Conv2d(2, 3, 3, padding="same", dilation=2),
     (2, 2, 7, 6), (1, 2, 5, 5)),
    ("conv_valid", lambda m: m.Conv2d(2, 3, 3, padding="valid"), (2, 2, 6, 6),
     (1, 2, 5, 5)),
    ("conv_reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     (2, 2, 6, 6), (1, 2, 4, 4)),
    ("conv_circular", lambda m: m.Conv2d(2, 3, 3, padding=2, padding_mode="circular"),
     (2, 2, 6, 6), (1, 2, 4, 4)),
    ("conv_replicate", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="replicate"),
     (2, 2, 6, 6), (1, 2, 4, 4)),
    ("conv_unbatched", lambda m: m.Conv2d(2, 3, 3, padding=1), (2, 6, 6), (2, 4, 4)),
    ("conv1d", lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 11), (1, 3, 7)),
    ("bn1d", lambda m: m.BatchNorm1d(4), (6, 4), (3, 4)),
    ("bn1d_3d", lambda m: m.BatchNorm1d(3), (4, 3, 5), (2, 3, 3)),
    ("bn2d", lambda m: m.BatchNorm2d(3), (4, 3, 5, 5), (2, 3, 3, 3)),
    ("bn2d_noaffine", lambda m: m.BatchNorm2d(3, affine=False), (4, 3, 4, 4), (2, 3, 3, 3)),
    ("bn2d_nostats", lambda m: m.BatchNorm2d(3, track_running_stats=False), (4, 3, 4, 4),
     (2, 3, 3, 3)),
    ("layernorm", lambda m: m.LayerNorm(6), (4, 6), (2, 6)),
    ("layernorm_2d", lambda m: m.LayerNorm((3, 4)), (2, 5, 3, 4), (2, 3, 4)),
    ("layernorm_nobias", lambda m: m.LayerNorm(5, bias=False), (3, 5), (2, 5)),
    ("groupnorm", lambda m: m.GroupNorm(2, 4), (3, 4, 5, 5), (2, 4, 3, 3)),
    ("maxpool", lambda m: m.MaxPool2d(2), (2, 3, 8, 8), (1, 2, 4, 4)),
    ("maxpool_3_2_1", lambda m: m.MaxPool2d(3, 2, 1), (2, 3, 9, 9), (1, 2, 5, 5)),
    ("maxpool_ceil", lambda m: m.MaxPool2d(3, 2, ceil_mode=True), (2, 2, 8, 8),
     (1, 2, 6, 6)),
    ("maxpool_dilation", lambda m: m.MaxPool2d(2, 1, dilation=2), (2, 2, 7, 7),
     (1, 2, 5, 5)),
    ("maxpool_rect", lambda m: m.MaxPool2d((2, 3), (1, 2), (1, 1)), (2, 2, 7, 8),
     (1, 2, 5, 5)),
    ("avgpool", lambda m: m.AvgPool2d(2), (2, 3, 8, 8), (1, 2, 4, 4)),
    ("avgpool_pad_nocount", lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False),
     (2, 3, 9, 9), (1, 2, 5, 5)),
    ("avgpool_pad_count", lambda m: m.AvgPool2d(3, 2, 1), (2, 3, 9, 9), (1, 2, 5, 5)),
    ("avgpool_ceil", lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 2, 8, 8),
     (1, 2, 6, 6)),
    ("avgpool_divisor", lambda m: m.AvgPool2d(3, 2, 1, divisor_override=5), (2, 2, 7, 7),
     (1, 2, 5, 5)),
    ("avgpool_divisor_ceil",
     lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=4), (2, 2, 8, 8),
     (1, 2, 6, 6)),
    ("adaptive_avg_1", lambda m: m.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 7), (1, 2, 3, 3)),
    ("adaptive_avg_div", lambda m: m.AdaptiveAvgPool2d(2), (2, 3, 8, 6), (1, 2, 4, 4)),
    ("adaptive_avg_nondiv", lambda m: m.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 10),
     (1, 2, 5, 5)),
    ("adaptive_avg_up", lambda m: m.AdaptiveAvgPool2d((5, 3)), (2, 2, 3, 2), (1, 2, 3, 2)),
    ("adaptive_avg_none", lambda m: m.AdaptiveAvgPool2d((None, 3)), (2, 2, 4, 7),
     (1, 2, 3, 5)),
    ("adaptive_max_div", lambda m: m.AdaptiveMaxPool2d(2), (2, 3, 8, 6), (1, 2, 4, 4)),
    ("adaptive_max_nondiv", lambda m: m.AdaptiveMaxPool2d((3, 2)), (2, 3, 7, 5),
     (1, 2, 5, 5)),
    ("relu", lambda m: m.ReLU(), (4, 7), (2, 3)),
    ("relu_inplace", lambda m: m.Sequential(m.Linear(7, 5), m.ReLU(inplace=True)), (4, 7),
     (2, 7)),
    ("leaky_relu", lambda m: m.LeakyReLU(0.2), (4, 7), (2, 3)),
    ("gelu", lambda m: m.GELU(), (4, 7), (2, 3)),
    ("gelu_tanh", lambda m: m.GELU("tanh"), (4, 7), (2, 3)),
    ("silu", lambda m: m.SiLU(), (4, 7), (2, 3)),
    ("sigmoid", lambda m: m.Sigmoid(), (4, 7), (2, 3)),
    ("tanh", lambda m: m.Tanh(), (4, 7), (2, 3)),
    ("softmax", lambda m: m.Softmax(dim=1), (4, 7), (2, 3)),
    ("softmax_dim0", lambda m: m.Softmax(dim=0), (4, 3, 2), (2, 3)),
    ("log_softmax", lambda m: m.LogSoftmax(dim=-1), (4, 7), (2, 3)),
    ("softmin", lambda m: m.Softmin(dim=1), (4, 7), (2, 3)),
    ("elu", lambda m: m.ELU(0.7), (4, 7), (2, 3)),
    ("selu", lambda m: m.SELU(), (4, 7), (2, 3)),
    ("celu", lambda m: m.CELU(1.3), (4, 7), (2, 3)),
    ("softplus", lambda m: m.Softplus(), (4, 7), (2, 3)),
    ("softplus_beta", lambda m: m.Softplus(beta=2.0, threshold=1.0), (4, 7), (2, 3)),
    ("mish", lambda m: m.Mish(), (4, 7), (2, 3)),
    ("hardtanh", lambda m: m.Hardtanh(-0.5, 0.8), (4, 7), (2, 3)),
    ("relu6", lambda m: m.ReLU6(), (4, 7), (2, 3)),
    ("hardsigmoid", lambda m: m.Hardsigmoid(), (4, 7), (2, 3)),
    ("hardswish", lambda m: m.Hardswish(), (4, 7), (2, 3)),
    ("logsigmoid", lambda m: m.LogSigmoid(), (4, 7), (2, 3)),
    ("prelu", lambda m: m.PReLU(), (4, 7), (2, 3)),
    ("prelu_channels", lambda m: m.PReLU(3), (2, 3, 4, 4), (2, 3, 2, 2)),
    ("threshold", lambda m: m.Threshold(0.1, 20.0), (4, 7), (2, 3)),
    ("flatten", lambda m: m.Flatten(), (2, 3, 4, 5), (2, 3, 2)),
    ("flatten_mid", lambda m: m.Flatten(1, 2), (2, 3, 4, 5), (2, 3, 2, 2)),
    ("unflatten", lambda m: m.Unflatten(1, (3, 4)), (2, 12), (2, 12)),
    ("identity", lambda m: m.Identity(3, unused=True), (2, 5), (2, 5)),
    ("dropout_eval", lambda m: m.Dropout(0.3).eval(), (4, 7), (2, 3)),
    ("sequential", lambda m: m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.BatchNorm2d(4),
                                          m.ReLU(), m.MaxPool2d(2), m.Flatten(),
                                          m.Linear(4 * 3 * 3, 5)), (3, 2, 6, 6),
     (2, 2, 6, 6)),
]


@pytest.mark.parametrize("case", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_matches_torch(case, backend):
    _, factory, shape, small = case
    if backend == "python":
        shape = small
    torch.manual_seed(0)
    t_mod = factory(tnn)
    dm_mod = factory(nn)
    if not t_mod.training:
        dm_mod.eval()
    x = _img(shape)
    compare_module(dm_mod, t_mod, x)
    # the buffers (BatchNorm running stats) evolve the same way
    for (name, bt), (dname, bd) in zip(t_mod.named_buffers(), dm_mod.named_buffers()):
        assert name == dname
        close(bd, bt, what=name)


def test_bilinear_matches_torch(backend):
    torch.manual_seed(0)
    t_mod, dm_mod = tnn.Bilinear(3, 4, 5), nn.Bilinear(3, 4, 5)
    load_from_torch(dm_mod, t_mod)
    a, b = _img((6, 3), 1), _img((6, 4), 2)
    at, bt = tt(a, True), tt(b, True)
    ad, bd = dm(a, True), dm(b, True)
    yt, yd = t_mod(at, bt), dm_mod(ad, bd)
    close(yd, yt)
    yt.sum().backward()
    yd.sum().backward()
    close(ad.grad, at.grad)
    close(bd.grad, bt.grad)
    close(dm_mod.weight.grad, t_mod.weight.grad)
    close(dm_mod.bias.grad, t_mod.bias.grad)


def test_embedding_matches_torch(backend):
    torch.manual_seed(0)
    for kwargs in ({}, {"padding_idx": 1}, {"padding_idx": -1}):
        t_mod, dm_mod = tnn.Embedding(6, 3, **kwargs), nn.Embedding(6, 3, **kwargs)
        assert repr(t_mod) == repr(dm_mod)
        load_from_torch(dm_mod, t_mod)
        idx = np.array([[0, 1, 5], [1, 1, 2]], dtype=np.int64)
        yt, yd = t_mod(tt(idx)), dm_mod(dm(idx))
        close(yd, yt)
        g = _img(tuple(yt.shape), 3)
        (yt * tt(g)).sum().backward()
        (yd * dm(g)).sum().backward()
        close(dm_mod.weight.grad, t_mod.weight.grad)
    # a fresh Embedding zeroes its padding row
    e = nn.Embedding(4, 3, padding_idx=2)
    assert e.weight[2].tolist() == [0.0, 0.0, 0.0]


def test_embedding_max_norm_renormalizes_rows():
    torch.manual_seed(0)
    t_mod, dm_mod = tnn.Embedding(5, 4, max_norm=1.0), nn.Embedding(5, 4, max_norm=1.0)
    load_from_torch(dm_mod, t_mod)
    idx = np.array([0, 2, 2, 3], dtype=np.int64)
    close(dm_mod(dm(idx)), t_mod(tt(idx)))
    close(dm_mod.weight, t_mod.weight)


def test_max_pool_return_indices(backend):
    x = _img((2, 2, 6, 6))
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                   {"kernel_size": 3, "stride": 2, "ceil_mode": True}):
        yt, it = TF.max_pool2d(tt(x), return_indices=True, **kwargs)
        yd, id_ = F.max_pool2d(dm(x), return_indices=True, **kwargs)
        close(yd, yt)
        assert id_.dtype is distml.int64
        np.testing.assert_array_equal(id_.numpy(), it.numpy())
    # unbatched input, and the module flag
    yt, it = tnn.MaxPool2d(2, return_indices=True)(tt(x[0]))
    yd, id_ = nn.MaxPool2d(2, return_indices=True)(dm(x[0]))
    np.testing.assert_array_equal(id_.numpy(), it.numpy())
    # adaptive max pool indices, divisible and not
    for size in (3, (4, 5)):
        yt, it = TF.adaptive_max_pool2d(tt(x), size, return_indices=True)
        yd, id_ = F.adaptive_max_pool2d(dm(x), size, return_indices=True)
        close(yd, yt)
        np.testing.assert_array_equal(id_.numpy(), it.numpy())


def test_functional_activations_match_torch(backend):
    x = np.concatenate([_img((3, 5)) * 4, np.array([[0.0, -30.0, 30.0, 1e-3, -1e-3]],
                                                   dtype=np.float32)])
    cases = [
        ("relu", {}), ("relu6", {}), ("leaky_relu", {"negative_slope": 0.1}),
        ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {}), ("gelu", {}),
        ("gelu", {"approximate": "tanh"}), ("sigmoid", {}), ("tanh", {}), ("silu", {}),
        ("mish", {}), ("softplus", {}), ("softplus", {"beta": 3, "threshold": 5}),
        ("logsigmoid", {}), ("hardtanh", {}), ("hardsigmoid", {}), ("hardswish", {}),
        ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}), ("softmin", {"dim": -1}),
        ("normalize", {}), ("normalize", {"p": 1, "dim": 0}),
    ]
    for name, kwargs in cases:
        xt, xd = tt(x, True), dm(x, True)
        yt = getattr(TF, name)(xt, **kwargs)
        yd = getattr(F, name)(xd, **kwargs)
        close(yd, yt, what=f"{name} {kwargs}")
        g = _img(x.shape, 7)
        (yt * tt(g)).sum().backward()
        (yd * dm(g)).sum().backward()
        close(xd.grad, xt.grad, what=f"grad {name} {kwargs}")


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "selu", "celu",
                                  "silu", "mish", "hardtanh", "hardsigmoid", "hardswish",
                                  "dropout"])
def test_inplace_functional_follows_torch(name):
    x = _img((3, 4)) * 3
    results = []
    for lib, mk in ((TF, tt), (F, dm)):
        xl = mk(x, True)
        a = xl * 2.0
        b = a * 3.0  # a consumer from before the in-place op keeps the old value
        kwargs = {"training": False} if name == "dropout" else {}
        out = getattr(lib, name)(a, inplace=True, **kwargs)
        assert out is a
        (a * b).sum().backward()
        results.append((a, xl.grad))
    close(results[1][0], results[0][0], what=name)
    close(results[1][1], results[0][1], what=f"grad {name}")
    # as torch: a leaf that requires grad cannot be modified in place
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        nn.ReLU(inplace=True)(dm(x, True))
    y = dm(x)
    assert nn.ReLU(inplace=True)(y) is y and float(y.min()) >= 0
    z = dm(x) + 1.0
    before = z.numpy()
    assert nn.Dropout(0.5, inplace=True)(z) is z
    assert set(np.unique(z.numpy() / before).round(4)) <= {0.0, 2.0}


def test_softmax_implicit_dim_warns_like_torch():
    x = _img((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        yd = F.softmax(dm(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yt = TF.softmax(tt(x))
    close(yd, yt)


def test_pad_matches_torch(backend):
    x = _img((1, 2, 4, 5))
    cases = [((1, 2), "constant", 0.0), ((1, 1, 2, 0), "constant", 1.5),
             ((-1, 2, 1, -2), "constant", 0.0), ((2, 1, 1, 3), "reflect", None),
             ((2, 2, 1, 1), "replicate", None), ((3, 1, 2, 2), "circular", None),
             ((1, 1, 0, 0, 1, 0), "constant", -2.0)]
    for p, mode, value in cases:
        xt, xd = tt(x, True), dm(x, True)
        kw = {} if value is None else {"value": value}
        yt = TF.pad(xt, p, mode=mode, **kw)
        yd = F.pad(xd, p, mode=mode, **kw)
        close(yd, yt, what=f"{p} {mode}")
        g = _img(tuple(yt.shape), 2)
        (yt * tt(g)).sum().backward()
        (yd * dm(g)).sum().backward()
        close(xd.grad, xt.grad, what=f"grad {p} {mode}")
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(dm(x), (1, 2, 3))


def test_one_hot_matches_torch():
    idx = np.array([[0, 2], [3, 1]], dtype=np.int64)
    np.testing.assert_array_equal(F.one_hot(dm(idx)).numpy(), TF.one_hot(tt(idx)).numpy())
    out = F.one_hot(dm(idx), 6)
    assert out.dtype is distml.int64 and tuple(out.shape) == (2, 2, 6)
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(tt(idx), 6).numpy())
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(dm(idx), 3)
    with pytest.raises(RuntimeError, match="only applicable to index tensor"):
        F.one_hot(dm(idx.astype(np.float32)))


# -- BatchNorm running statistics ------------------------------------------------------------

@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_and_eval(momentum, backend):
    small = backend == "python"
    shape = (3, 2, 3, 3) if small else (8, 4, 6, 6)
    c = shape[1]
    torch.manual_seed(0)
    t_bn = tnn.BatchNorm2d(c, momentum=momentum)
    d_bn = nn.BatchNorm2d(c, momentum=momentum)
    with torch.no_grad():
        t_bn.weight.uniform_(0.5, 1.5)
        t_bn.bias.uniform_(-0.5, 0.5)
    load_from_torch(d_bn, t_bn)
    for step in range(4):
        x = _img(shape, step) * (step + 1) + step
        xt, xd = tt(x, True), dm(x, True)
        yt, yd = t_bn(xt), d_bn(xd)
        close(yd, yt, what=f"train forward {step}")
        (yt * yt).sum().backward()
        (yd * yd).sum().backward()
        close(xd.grad, xt.grad, rtol=1e-4, atol=1e-4, what=f"input grad {step}")
    close(d_bn.running_mean, t_bn.running_mean, what="running_mean")
    close(d_bn.running_var, t_bn.running_var, what="running_var")
    assert d_bn.num_batches_tracked.item() == t_bn.num_batches_tracked.item() == 4
    assert d_bn.num_batches_tracked.dtype is distml.int64
    close(d_bn.weight.grad, t_bn.weight.grad, rtol=1e-4, atol=1e-4)
    close(d_bn.bias.grad, t_bn.bias.grad, rtol=1e-4, atol=1e-4)
    t_bn.eval()
    d_bn.eval()
    x = _img(shape, 9)
    close(d_bn(dm(x)), t_bn(tt(x)), what="eval forward")
    # eval mode leaves the statistics alone
    close(d_bn.running_mean, t_bn.running_mean)
    assert d_bn.num_batches_tracked.item() == 4


def test_batchnorm1d_functional_and_errors():
    x = _img((5, 3))
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    rm_d, rv_d = distml.zeros(3), distml.ones(3)
    yt = TF.batch_norm(tt(x), rm_t, rv_t, training=True, momentum=0.3)
    yd = F.batch_norm(dm(x), rm_d, rv_d, training=True, momentum=0.3)
    close(yd, yt)
    close(rm_d, rm_t)
    close(rv_d, rv_t)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when "
                                         "training"):
        nn.BatchNorm1d(3)(dm(_img((1, 3))))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(dm(_img((2, 3, 4))))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(dm(_img((2, 3, 4, 4))))


# -- conv / pool argument errors ----------------------------------------------------------

def test_conv_and_pool_errors_match_torch():
    def msg(fn):
        with pytest.raises(Exception) as info:
            fn()
        return type(info.value), str(info.value)

    cases = [
        (lambda m: m.conv2d(m_rand(m, 2, 3), m_rand(m, 4, 3, 3, 3))),
        (lambda m: m.conv2d(m_rand(m, 2, 5, 8, 8), m_rand(m, 4, 3, 3, 3))),
        (lambda m: m.conv2d(m_rand(m, 2, 4, 8, 8), m_rand(m, 3, 2, 3, 3), groups=2)),
        (lambda m: m.conv2d(m_rand(m, 2, 3, 2, 2), m_rand(m, 4, 3, 3, 3))),
        (lambda m: m.conv2d(m_rand(m, 2, 3, 8, 8), m_rand(m, 4, 3, 3, 3), stride=2,
                            padding="same")),
        (lambda m: m.conv2d(m_rand(m, 2, 3, 8, 8), m_rand(m, 4, 3, 3, 3), padding="foo")),
        (lambda m: m.conv2d(m_rand(m, 1, 3, 5, 5), m_rand(m, 4, 3, 3, 3),
                            bias=m_rand(m, 3))),
        (lambda m: m.max_pool2d(m_rand(m, 2, 5, 8, 8), 3, padding=2)),
        (lambda m: m.max_pool2d(m_rand(m, 1, 1, 2, 2), 3)),
        (lambda m: m.avg_pool2d(m_rand(m, 1, 1, 2, 2), 3)),
        (lambda m: m.max_pool2d(m_rand(m, 2, 2), 2)),
        (lambda m: m.max_pool2d(m_rand(m, 1, 1, 9, 9), (2, 2), padding=(2, 1), dilation=3)),
        (lambda m: m.layer_norm(m_rand(m, 2, 3), (4,))),
        (lambda m: m.group_norm(m_rand(m, 2, 5, 4), 2)),
        (lambda m: m.dropout(m_rand(m, 2, 3), 1.5)),
        (lambda m: m.linear(m_rand(m, 4, 5), m_rand(m, 2, 3))),
        (lambda m: m.linear(m_rand(m, 2, 4, 5), m_rand(m, 2, 3))),
        (lambda m: m.gelu(m_rand(m, 2, 3), approximate="foo")),
    ]
    for case in cases:
        te, tm = msg(lambda: case(TF))
        de, dmsg = msg(lambda: case(F))
        assert de is te, (dmsg, tm)
        assert dmsg == tm
    for make in (lambda m: m.Conv2d(3, 4, 3, padding="foo"), lambda m: m.Conv2d(3, 4, 3,
                                                                                  groups=2),
                 lambda m: m.Conv2d(4, 3, 3, groups=2), lambda m: m.Dropout(2.0)):
        assert msg(lambda: make(tnn)) == msg(lambda: make(nn))


def m_rand(m, *shape):
    a = rng(0).randn(*shape).astype(np.float32)
    return tt(a) if m is TF else dm(a)


# -- dropout ------------------------------------------------------------------------------

def test_dropout_statistics_and_determinism(backend):
    n = 20000 if backend == "python" else 200000
    x = distml.ones(n, requires_grad=True)
    for p in (0.1, 0.5, 0.8):
        distml.manual_seed(123)
        y = F.dropout(x, p)
        vals = y.detach().numpy()
        kept = vals != 0
        frac = 1 - kept.mean()
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-3, (p, frac)
        np.testing.assert_allclose(vals[kept], 1 / (1 - p), rtol=1e-6)
        # the same seed gives the same mask (shared default generator)
        distml.manual_seed(123)
        np.testing.assert_array_equal(F.dropout(x, p).detach().numpy(), vals)
        x.grad = None
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), vals, rtol=1e-6)
    # eval mode / p=0: identity; p=1: zeros
    m = nn.Dropout(0.5)
    m.eval()
    assert m(x) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 1.0).detach().numpy().sum() == 0
    # Dropout2d zeroes whole channels
    distml.manual_seed(0)
    y = nn.Dropout2d(0.5)(distml.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_dropout_draws_from_the_given_generator_stream():
    distml.manual_seed(7)
    a = F.dropout(distml.ones(1000), 0.5).numpy()
    distml.manual_seed(7)
    u = distml.rand(1000).numpy()
    np.testing.assert_array_equal(a != 0, u >= 0.5)
