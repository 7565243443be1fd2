"""distml.nn (modules, functional, init, utils) and distml.models against torch 2.x.

Every comparison copies identical weights into both frameworks, runs the same input and
upstream gradient, and compares outputs, input gradients and every parameter gradient.
Module tests run on both CPU backends (numpy and pure Python, small shapes for the
latter); ResNet-18 runs on numpy only.
"""
import copy
import math
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import distml
import distml.nn as nn
import distml.nn.functional as F
from distml import models

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture(autouse=True)
def _restore_numpy_backend():
    yield
    distml.set_cpu_backend("numpy")


# -- helpers ---------------------------------------------------------------------------------

def rng(seed=0):
    return np.random.RandomState(seed)


def dm(a, requires_grad=False):
    """numpy array / torch tensor -> distml tensor on the current cpu backend."""
    if isinstance(a, torch.Tensor):
        a = a.detach().numpy()
    return distml.tensor(np.asarray(a), requires_grad=requires_grad)


def tt(a, requires_grad=False):
    t = torch.from_numpy(np.array(a))
    return t.requires_grad_(requires_grad) if requires_grad else t


def npy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def close(a, b, rtol=RTOL, atol=ATOL, what=""):
    a, b = npy(a), npy(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def load_from_torch(dm_mod, t_mod):
    """Copy torch's weights (and buffers) into the distml module via load_state_dict."""
    result = dm_mod.load_state_dict(t_mod.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []


def compare_module(dm_mod, t_mod, x, rtol=RTOL, atol=ATOL, grad_input=True, seed=1):
    """Same weights, input and upstream gradient: compare output, dL/dx and dL/dparams."""
    load_from_torch(dm_mod, t_mod)
    xt = tt(x, requires_grad=grad_input)
    xd = dm(x, requires_grad=grad_input)
    yt = t_mod(xt)
    yd = dm_mod(xd)
    close(yd, yt, rtol, atol, "forward")
    g = rng(seed).randn(*yt.shape).astype(np.float32)
    (yt * tt(g)).sum().backward()
    (yd * dm(g)).sum().backward()
    if grad_input:
        close(xd.grad, xt.grad, rtol, atol, "input grad")
    tparams = dict(t_mod.named_parameters())
    dparams = dict(dm_mod.named_parameters())
    assert list(tparams) == list(dparams)
    for name, tp in tparams.items():
        if tp.grad is None:
            assert dparams[name].grad is None, name
        else:
            close(dparams[name].grad, tp.grad, rtol, atol, f"grad of {name}")
    return yd, yt


# -- module forward/backward vs torch ---------------------------------------------------------

def _img(shape, seed=0):
    return rng(seed).randn(*shape).astype(np.float32)


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


# -- losses -----------------------------------------------------------------------------------

CE_CASES = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.1},
    {"label_smoothing": 0.25, "reduction": "sum"},
    {"label_smoothing": 0.2, "reduction": "none"},
    {"weight": [0.2, 1.0, 2.0, 0.5]},
    {"weight": [0.2, 1.0, 2.0, 0.5], "reduction": "none"},
    {"ignore_index": 2},
    {"ignore_index": 2, "reduction": "none"},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3,
     "reduction": "sum"},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3,
     "reduction": "none"},
    {"ignore_index": 3, "label_smoothing": 0.15},
]


def _loss_pair(fn_name, x, target, kwargs, target_float=False):
    kwt = dict(kwargs)
    kwd = dict(kwargs)
    for k in ("weight", "pos_weight"):
        if k in kwargs:
            kwt[k] = tt(np.array(kwargs[k], dtype=np.float32))
            kwd[k] = dm(np.array(kwargs[k], dtype=np.float32))
    xt, xd = tt(x, True), dm(x, True)
    yt = getattr(TF, fn_name)(xt, tt(target), **kwt)
    yd = getattr(F, fn_name)(xd, dm(target), **kwd)
    close(yd, yt, what=f"{fn_name} {kwargs}")
    g = rng(5).randn(*yt.shape).astype(np.float32) if yt.ndim else np.float32(1.0)
    (yt * tt(np.asarray(g))).sum().backward()
    (yd * dm(np.asarray(g))).sum().backward()
    close(xd.grad, xt.grad, what=f"grad {fn_name} {kwargs}")


@pytest.mark.parametrize("kwargs", CE_CASES, ids=[str(c) for c in CE_CASES])
def test_cross_entropy_class_targets(kwargs, backend):
    x = _img((6, 4)) * 2
    target = np.array([0, 1, 2, 3, 2, 1], dtype=np.int64)
    _loss_pair("cross_entropy", x, target, kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"reduction": "none"},
                                    {"weight": [0.5, 1.0, 3.0], "ignore_index": 0,
                                     "label_smoothing": 0.1}],
                         ids=["plain", "smooth", "none", "weighted"])
def test_cross_entropy_spatial_and_unbatched(kwargs):
    x = _img((2, 3, 4, 5))
    target = rng(3).randint(0, 3, size=(2, 4, 5)).astype(np.int64)
    _loss_pair("cross_entropy", x, target, kwargs)
    _loss_pair("cross_entropy", _img((3,)), np.array(2, dtype=np.int64), kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.3}, {"reduction": "sum"},
                                    {"reduction": "none", "weight": [1.0, 2.0, 0.5, 1.5]},
                                    {"weight": [1.0, 2.0, 0.5, 1.5], "label_smoothing": 0.1}],
                         ids=["plain", "smooth", "sum", "none_weighted", "mean_weighted"])
def test_cross_entropy_probability_targets(kwargs, backend):
    x = _img((5, 4))
    p = rng(4).rand(5, 4).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    _loss_pair("cross_entropy", x, p, kwargs)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = _img((3, 4))
    t = np.full(3, -100, dtype=np.int64)
    for ls in (0.0, 0.1):
        a = F.cross_entropy(dm(x), dm(t), label_smoothing=ls).item()
        b = TF.cross_entropy(tt(x), tt(t), label_smoothing=ls).item()
        assert math.isnan(a) and math.isnan(b)


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                    {"weight": [1.0, 0.1, 3.0]}, {"ignore_index": 0},
                                    {"weight": [1.0, 0.1, 3.0], "ignore_index": 2,
                                     "reduction": "none"}],
                         ids=["mean", "sum", "none", "weight", "ignore", "both"])
def test_nll_loss(kwargs, backend):
    x = _img((5, 3))
    target = np.array([0, 2, 1, 2, 0], dtype=np.int64)
    _loss_pair("nll_loss", x, target, kwargs)


def test_regression_and_binary_losses(backend):
    x = _img((4, 3))
    y = _img((4, 3), 1)
    for reduction in ("mean", "sum", "none"):
        _loss_pair("mse_loss", x, y, {"reduction": reduction})
        _loss_pair("l1_loss", x, y, {"reduction": reduction})
        _loss_pair("smooth_l1_loss", x, y, {"reduction": reduction, "beta": 0.5})
        _loss_pair("huber_loss", x, y, {"reduction": reduction, "delta": 0.7})
    w = rng(2).rand(4, 3).astype(np.float32)
    _loss_pair("mse_loss", x, y, {"weight": w})
    _loss_pair("l1_loss", x, y, {"weight": w, "reduction": "sum"})
    p = 1 / (1 + np.exp(-x))
    t = rng(3).rand(4, 3).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        _loss_pair("binary_cross_entropy", p, t, {"reduction": reduction})
        _loss_pair("binary_cross_entropy_with_logits", x * 5, t, {"reduction": reduction})
    _loss_pair("binary_cross_entropy", p, t, {"weight": [0.5, 1.0, 2.0]})
    _loss_pair("binary_cross_entropy_with_logits", x * 5, t,
               {"weight": [0.5, 1.0, 2.0], "pos_weight": [3.0, 1.0, 0.2]})
    lp = np.log(p / p.sum(1, keepdims=True))
    q = t / t.sum(1, keepdims=True)
    for reduction in ("batchmean", "sum", "none"):
        _loss_pair("kl_div", lp, q, {"reduction": reduction})
        _loss_pair("kl_div", lp, np.log(q), {"reduction": reduction, "log_target": True})


def test_loss_modules_match_functional():
    x = _img((6, 4))
    target = np.array([0, 1, 2, 3, 2, 1], dtype=np.int64)
    w = np.array([0.5, 1.0, 2.0, 1.0], dtype=np.float32)
    t_loss = tnn.CrossEntropyLoss(weight=tt(w), ignore_index=3, label_smoothing=0.1)
    d_loss = nn.CrossEntropyLoss(weight=dm(w), ignore_index=3, label_smoothing=0.1)
    close(d_loss(dm(x), dm(target)), t_loss(tt(x), tt(target)))
    assert list(d_loss.state_dict()) == list(t_loss.state_dict()) == ["weight"]
    assert repr(d_loss) == repr(t_loss) == "CrossEntropyLoss()"
    lx = np.log(np.abs(x) / np.abs(x).sum(1, keepdims=True))
    close(nn.NLLLoss(reduction="sum")(dm(lx), dm(target)),
          tnn.NLLLoss(reduction="sum")(tt(lx), tt(target)))
    y = _img((6, 4), 2)
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        close(getattr(nn, name)()(dm(x), dm(y)), getattr(tnn, name)()(tt(x), tt(y)),
              what=name)
    p, t = 1 / (1 + np.exp(-x)), (y > 0).astype(np.float32)
    close(nn.BCELoss()(dm(p), dm(t)), tnn.BCELoss()(tt(p), tt(t)))
    pw = np.array([2.0, 1.0, 0.5, 1.0], dtype=np.float32)
    close(nn.BCEWithLogitsLoss(pos_weight=dm(pw))(dm(x), dm(t)),
          tnn.BCEWithLogitsLoss(pos_weight=tt(pw))(tt(x), tt(t)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(nn.KLDivLoss(reduction="batchmean")(dm(lx), dm(p / p.sum(1, keepdims=True))),
              tnn.KLDivLoss(reduction="batchmean")(tt(lx), tt(p / p.sum(1, keepdims=True))))
        assert nn.MSELoss(size_average=False).reduction == "sum"


def test_loss_errors_are_clear():
    x = dm(_img((4, 3)))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target "
                                         r"batch_size \(3\)\."):
        F.cross_entropy(x, distml.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(x, distml.tensor([0, 1, 2, 5]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds."):
        F.cross_entropy(x, distml.tensor([0, 1, 2, -1]))
    # ignore_index may be any value, including a negative one
    F.cross_entropy(x, distml.tensor([0, 1, 2, -1]), ignore_index=-1)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but "
                                           "got Float"):
        F.cross_entropy(x, distml.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(RuntimeError, match="Expected floating point type for target with "
                                           "class probabilities, got Long"):
        F.cross_entropy(x, distml.zeros(4, 3, dtype=distml.int64))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating "
                                           "point target"):
        F.cross_entropy(x, distml.rand(4, 3), ignore_index=1)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(x, distml.tensor([0, 1, 2, 1]), reduction="foo")
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(x, distml.tensor([0, 1, 2, 1]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all "
                                           "3 classes or no classes"):
        F.nll_loss(x, distml.tensor([0, 1, 2, 1]), weight=distml.ones(4))
    with pytest.raises(RuntimeError, match=r"Expected target size \[4, 2\], got \[4\]"):
        F.nll_loss(distml.randn(4, 3, 2), distml.tensor([0, 1, 2, 1]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        F.nll_loss(x, distml.zeros(4, 1, dtype=distml.int64))
    with pytest.raises(ValueError, match="that is different to the input size"):
        F.binary_cross_entropy(distml.rand(3), distml.rand(3, 1))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(distml.tensor([0.5, 1.5]), distml.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(distml.rand(3), distml.rand(3, 1))


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


# -- init -------------------------------------------------------------------------------------

def test_calculate_gain_and_fans_match_torch():
    for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                      ("selu", None)]:
        assert nn.init.calculate_gain(nl, param) == pytest.approx(
            tnn.init.calculate_gain(nl, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        nn.init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope a not a valid number"):
        nn.init.calculate_gain("leaky_relu", "a")
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 3)]:
        assert nn.init._calculate_fan_in_and_fan_out(distml.empty(*shape)) == \
            tnn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.kaiming_uniform_(distml.empty(3))
    with pytest.raises(ValueError, match="Mode foo not supported"):
        nn.init.kaiming_uniform_(distml.empty(3, 3), mode="foo")


def test_init_distributions():
    distml.manual_seed(0)
    w = distml.empty(400, 500)
    fan_in, fan_out = 500, 400
    checks = [
        (lambda: nn.init.uniform_(w, -0.3, 0.7), 0.2, 1.0 / math.sqrt(12), -0.3, 0.7),
        (lambda: nn.init.normal_(w, 0.5, 2.0), 0.5, 2.0, None, None),
        (lambda: nn.init.xavier_uniform_(w, gain=2.0), 0.0,
         2.0 * math.sqrt(2.0 / (fan_in + fan_out)), None, None),
        (lambda: nn.init.xavier_normal_(w), 0.0, math.sqrt(2.0 / (fan_in + fan_out)),
         None, None),
        (lambda: nn.init.kaiming_uniform_(w, a=math.sqrt(5)), 0.0,
         1.0 / math.sqrt(3 * fan_in), None, None),
        (lambda: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), 0.0,
         math.sqrt(2.0 / fan_out), None, None),
        (lambda: nn.init.trunc_normal_(w, 0.1, 0.5, -0.5, 0.9), None, None, -0.5, 0.9),
    ]
    for fn, mean, std, lo, hi in checks:
        out = fn()
        assert out is w
        v = w.numpy()
        if mean is not None:
            assert abs(v.mean() - mean) < 5 * std / math.sqrt(v.size) + 1e-4
            assert abs(v.std() - std) / std < 0.01
        if lo is not None:
            assert v.min() >= lo and v.max() <= hi
    # truncated normal: compare the moments with torch's own draw
    tw = torch.empty(400, 500)
    torch.manual_seed(0)
    tnn.init.trunc_normal_(tw, 0.1, 0.5, -0.5, 0.9)
    nn.init.trunc_normal_(w, 0.1, 0.5, -0.5, 0.9)
    assert abs(w.numpy().mean() - tw.mean().item()) < 0.005
    assert abs(w.numpy().std() - tw.std().item()) < 0.005
    # constants and eye/dirac
    assert nn.init.constant_(distml.empty(2, 2), 0.25).tolist() == [[0.25, 0.25]] * 2
    assert nn.init.ones_(distml.empty(2)).tolist() == [1.0, 1.0]
    assert nn.init.zeros_(distml.ones(2)).tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(nn.init.eye_(distml.empty(2, 3)).numpy(),
                                  tnn.init.eye_(torch.empty(2, 3)).numpy())
    np.testing.assert_array_equal(nn.init.dirac_(distml.empty(4, 2, 3, 3), 2).numpy(),
                                  tnn.init.dirac_(torch.empty(4, 2, 3, 3), 2).numpy())
    q = nn.init.orthogonal_(distml.empty(6, 4), gain=2.0).numpy()
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    q = nn.init.orthogonal_(distml.empty(3, 7)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)


def test_init_uses_distml_generator_and_is_backend_independent():
    g = distml.Generator(42)
    a = nn.init.kaiming_uniform_(distml.empty(5, 7), generator=g).numpy()
    b = nn.init.kaiming_uniform_(distml.empty(5, 7), generator=distml.Generator(42)).numpy()
    np.testing.assert_array_equal(a, b)
    distml.manual_seed(3)
    lin_a = nn.Linear(6, 4)
    distml.manual_seed(3)
    lin_b = nn.Linear(6, 4)
    np.testing.assert_array_equal(lin_a.weight.detach().numpy(),
                                  lin_b.weight.detach().numpy())
    distml.set_cpu_backend("python")
    distml.manual_seed(3)
    lin_c = nn.Linear(6, 4)
    distml.set_cpu_backend("numpy")
    np.testing.assert_allclose(lin_c.weight.detach().numpy(),
                               lin_a.weight.detach().numpy(), atol=1e-7)


def test_default_parameter_init_matches_torch_bounds():
    distml.manual_seed(0)
    lin = nn.Linear(50, 300)
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound            # spans the whole interval
    assert abs(w.std() - bound / math.sqrt(3)) / (bound / math.sqrt(3)) < 0.03
    conv = nn.Conv2d(4, 64, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    bn = nn.BatchNorm2d(5)
    assert bn.weight.tolist() == [1.0] * 5 and bn.bias.tolist() == [0.0] * 5
    assert bn.running_mean.tolist() == [0.0] * 5 and bn.running_var.tolist() == [1.0] * 5
    for m in (lin, conv, bn):
        assert all(p.requires_grad and p.is_leaf for p in m.parameters())
    assert lin.weight.grad is None


# -- Module API -------------------------------------------------------------------------------

class _TNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(2, 4, 3, padding=1)
        self.bn = tnn.BatchNorm2d(4)
        self.head = tnn.Sequential(tnn.Flatten(), tnn.Linear(4 * 4 * 4, 3))
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("tmp", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu()) * self.scale


class _DNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
        self.register_buffer("scale", distml.ones(1))
        self.register_buffer("tmp", distml.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu()) * self.scale


def test_module_traversal_matches_torch():
    t, d = _TNet(), _DNet()
    assert [n for n, _ in d.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in d.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in d.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in d.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in d.named_parameters(prefix="m", recurse=False)] == []
    assert [n for n, _ in d.head.named_parameters(prefix="h")] == ["h.1.weight", "h.1.bias"]
    assert list(d.state_dict()) == list(t.state_dict())
    assert repr(d).replace("_DNet", "_TNet") == repr(t)
    assert len(list(d.parameters())) == len(list(t.parameters()))
    assert len(list(d.children())) == 3 and len(list(d.modules())) == 6
    assert d.get_submodule("head.1") is d.head[1]
    assert d.get_parameter("head.1.bias") is d.head[1].bias
    assert d.get_buffer("bn.running_var") is d.bn.running_var
    # shared modules/parameters are reported once, as torch
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_module_modes_grads_apply():
    d = _DNet()
    assert d.training and d.bn.training
    d.eval()
    assert not d.training and not d.bn.training and not d.head[1].training
    d.train()
    assert d.bn.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        d.train("yes")
    out = d(distml.randn(2, 2, 4, 4))
    out.sum().backward()
    assert all(p.grad is not None for p in d.parameters())
    d.zero_grad(set_to_none=False)
    assert all(p.grad is not None and float(p.grad.abs().sum()) == 0 for p in d.parameters())
    d.zero_grad()
    assert all(p.grad is None for p in d.parameters())
    d.requires_grad_(False)
    assert not any(p.requires_grad for p in d.parameters())
    d.requires_grad_()
    seen = []
    d.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "_DNet" and seen[0] == "Conv2d"


def test_module_to_moves_parameters_in_place():
    d = _DNet()
    params = list(d.parameters())
    out = d(distml.randn(2, 2, 4, 4))
    out.sum().backward()
    grads = [p.grad for p in params]
    assert d.to("cpu") is d
    assert d.to(distml.float32) is d and d.cpu() is d and d.float() is d
    d.to(device="cpu", dtype=distml.float32)
    assert list(d.parameters()) == params and all(isinstance(p, nn.Parameter) for p in params)
    assert [p.grad for p in params] == grads
    assert d.bn.num_batches_tracked.dtype is distml.int64
    with pytest.raises(TypeError):
        d.to(distml.int64)


def test_register_rules_match_torch():
    def err(fn):
        with pytest.raises(Exception) as info:
            fn()
        return type(info.value), str(info.value).replace("torch", "distml")

    t, d = tnn.Linear(2, 3), nn.Linear(2, 3)
    cases = [
        lambda m, lib: m.register_buffer("weight", lib.ones(1)),
        lambda m, lib: m.register_buffer("a.b", lib.ones(1)),
        lambda m, lib: m.register_buffer("", lib.ones(1)),
        lambda m, lib: m.register_parameter("bias", None) or m.register_parameter("x.y", None),
        lambda m, lib: m.add_module("x", 3),
        lambda m, lib: m.add_module("weight", tnn.ReLU() if lib is torch else nn.ReLU()),
    ]
    for case in cases:
        te, tmsg = err(lambda: case(t, torch))
        de, dmsg = err(lambda: case(d, distml))
        assert de is te and dmsg == tmsg
    with pytest.raises(TypeError, match="cannot assign 'distml.FloatTensor' as parameter "
                                        "'weight'"):
        d.weight = distml.ones(3, 2)
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'c'"):
        d.register_buffer("c", 3)
    with pytest.raises(TypeError, match="object to parameter 'c'"):
        d.register_parameter("c", distml.ones(1))
    d.register_buffer("c", distml.ones(1), persistent=False)
    assert "c" not in d.state_dict() and "c" in dict(d.named_buffers())
    d.extra = nn.Parameter(distml.zeros(2))
    assert "extra" in d.state_dict()
    del d.extra
    assert "extra" not in d.state_dict()
    d.bias = None
    assert "bias" not in d.state_dict() and d.bias is None
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        d.nope  # noqa: B018


def test_parameter_semantics():
    x = distml.randn(3)
    p = nn.Parameter(x)
    assert isinstance(p, distml.Tensor) and p.requires_grad and p.is_leaf
    assert p.tolist() == x.tolist() and p.shape == x.shape
    assert not nn.Parameter(x, requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is distml.Tensor and type(p.detach()) is distml.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor(")
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p and q.tolist() == p.tolist()
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.requires_grad and r.tolist() == p.tolist()


def test_deepcopy_module_is_independent():
    d = _DNet()
    e = copy.deepcopy(d)
    x = distml.randn(2, 2, 4, 4)
    np.testing.assert_array_equal(d(x).detach().numpy(), e(x).detach().numpy())
    with distml.no_grad():
        e.conv.weight.mul_(0.0)
    assert float(d.conv.weight.abs().sum()) > 0
    assert all(isinstance(p, nn.Parameter) for p in e.parameters())


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    seq[2] = nn.Tanh()
    assert isinstance(seq[2], nn.Tanh)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        seq[5]
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(od.state_dict()) == ["fc.weight", "fc.bias"] and od.act is od[1]
    assert od(distml.randn(4, 2)).shape == (4, 2)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert len(ml) == 6 and isinstance(ml[0], nn.Identity) and isinstance(ml[-1], nn.Tanh)
    assert len(list(ml.parameters())) == 6
    tml = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU()])
    dml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(dml) == repr(tml)
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    assert list(md) == ["a", "b", "c"] and "a" in md and len(md) == 3
    assert list(md.state_dict()) == ["a.weight", "a.bias"]
    assert md.pop("c") is not None and list(md.keys()) == ["a", "b"]
    pl = nn.ParameterList([nn.Parameter(distml.zeros(2)), distml.ones(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    assert list(pl.state_dict()) == ["0", "1"]
    pd = nn.ParameterDict({"w": nn.Parameter(distml.zeros(2))})
    assert list(pd.state_dict()) == ["w"] and pd["w"].shape == (2,)


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(distml.randn(1, 2))
    assert calls == ["pre"] and out.tolist() == [[0.0, 0.0]]
    h1.remove()
    h2.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks
    lin(distml.ones(1, 2))
    assert calls == ["pre"]


def test_module_reprs_match_torch():
    makers = [
        lambda m: m.Linear(3, 4), lambda m: m.Linear(3, 4, bias=False),
        lambda m: m.Conv2d(3, 4, 3), lambda m: m.Conv2d(3, 4, (3, 1), stride=2, bias=False),
        lambda m: m.Conv2d(3, 6, 3, padding="same", dilation=2, groups=3),
        lambda m: m.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
        lambda m: m.Conv1d(2, 3, 3), lambda m: m.BatchNorm2d(3),
        lambda m: m.BatchNorm1d(3, affine=False, track_running_stats=False, momentum=None),
        lambda m: m.LayerNorm(4), lambda m: m.LayerNorm((2, 3), elementwise_affine=False),
        lambda m: m.GroupNorm(2, 4), lambda m: m.MaxPool2d(2),
        lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), lambda m: m.AvgPool2d(2),
        lambda m: m.AdaptiveAvgPool2d((1, 1)), lambda m: m.AdaptiveMaxPool2d(2),
        lambda m: m.ReLU(), lambda m: m.ReLU(inplace=True), lambda m: m.LeakyReLU(),
        lambda m: m.LeakyReLU(0.2, True), lambda m: m.GELU(), lambda m: m.GELU("tanh"),
        lambda m: m.SiLU(), lambda m: m.Sigmoid(), lambda m: m.Tanh(),
        lambda m: m.Softmax(dim=1), lambda m: m.Softmax(), lambda m: m.LogSoftmax(dim=-1),
        lambda m: m.Dropout(), lambda m: m.Dropout(0.2, True), lambda m: m.Dropout2d(0.1),
        lambda m: m.Flatten(), lambda m: m.Unflatten(1, (2, 2)), lambda m: m.Identity(),
        lambda m: m.Embedding(3, 4, padding_idx=0), lambda m: m.Embedding(3, 4, max_norm=1.),
        lambda m: m.ELU(), lambda m: m.Softplus(), lambda m: m.Hardtanh(), lambda m: m.ReLU6(),
        lambda m: m.PReLU(), lambda m: m.Threshold(0.1, 20), lambda m: m.Bilinear(2, 3, 4),
        lambda m: m.MSELoss(), lambda m: m.BCEWithLogitsLoss(),
    ]
    for make in makers:
        assert repr(make(nn)) == repr(make(tnn))


# -- state_dict / load_state_dict -------------------------------------------------------------

def test_state_dict_roundtrip_and_sources():
    t, d = _TNet(), _DNet()
    sd = d.state_dict()
    assert isinstance(sd, OrderedDict)
    assert sd["bn.num_batches_tracked"].dtype is distml.int64
    assert sd["bn.num_batches_tracked"].shape == ()
    assert not sd["conv.weight"].requires_grad
    assert d.state_dict(keep_vars=True)["conv.weight"] is d.conv.weight
    assert list(d.state_dict(prefix="net.")) == ["net." + k for k in sd]
    # from torch tensors
    load_from_torch(d, t)
    x = _img((2, 2, 4, 4))
    close(d(dm(x)), t(tt(x)))
    # from numpy arrays, and from another distml model
    e = _DNet()
    e.load_state_dict({k: v.numpy() for k, v in d.state_dict().items()})
    close(e(dm(x)), t(tt(x)))
    f = _DNet()
    res = f.load_state_dict(d.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    close(f(dm(x)), t(tt(x)))
    # the loaded values are copies: changing the source later does not leak in
    arr = {k: v.numpy() for k, v in d.state_dict().items()}
    g = _DNet()
    g.load_state_dict(arr)
    arr["conv.weight"][...] = 0
    assert float(g.conv.weight.abs().sum()) > 0
    # and torch can load ours
    t2 = _TNet()
    t2.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in d.state_dict().items()})
    close(d(dm(x)), t2(tt(x)))
    # parameters keep their identity through load_state_dict
    w = d.conv.weight
    d.load_state_dict(t.state_dict())
    assert d.conv.weight is w and w.requires_grad


def test_load_state_dict_errors_match_torch():
    class TNet(tnn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = tnn.Linear(4, n)

    class Net(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = nn.Linear(4, n)

    d = Net(2)
    good = {k: v.numpy() for k, v in Net(2).state_dict().items()}
    missing = {"fc.weight": good["fc.weight"]}
    with pytest.raises(RuntimeError) as info:
        d.load_state_dict(missing)
    assert str(info.value) == ('Error(s) in loading state_dict for Net:\n\tMissing key(s) in '
                               'state_dict: "fc.bias". ')
    extra = dict(good, **{"fc.extra": good["fc.bias"], "other.weight": good["fc.bias"]})
    with pytest.raises(RuntimeError) as info:
        d.load_state_dict(extra)
    assert str(info.value) == ('Error(s) in loading state_dict for Net:\n\tUnexpected '
                               'key(s) in state_dict: "other.weight", "fc.extra". ')
    bad = {k: v.numpy() for k, v in Net(3).state_dict().items()}
    with pytest.raises(RuntimeError) as info:
        d.load_state_dict(bad)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\tsize mismatch for "
                          "fc.weight: copying a param with shape [3, 4] from checkpoint, the "
                          "shape in current model is [2, 4].")
    assert "size mismatch for fc.bias: copying a param with shape [3] from checkpoint" in msg
    # the same keys torch reports (torch prints torch.Size([3, 4]) where we print [3, 4])
    with pytest.raises(RuntimeError) as tinfo:
        TNet(2).load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()})
    assert str(tinfo.value).replace("torch.Size(", "").replace("])", "]") == \
        msg.replace("for Net", "for TNet")
    # strict=False reports instead of raising (size mismatches still raise, as torch)
    res = d.load_state_dict(dict(missing, **{"zzz": good["fc.bias"]}), strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["zzz"]
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        d.load_state_dict(bad, strict=False)
    with pytest.raises(RuntimeError, match="expected distml.Tensor or Tensor-like object"):
        d.load_state_dict({"fc.weight": [[0.0] * 4] * 2, "fc.bias": good["fc.bias"]})
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        d.load_state_dict([1, 2])


def test_batchnorm_state_dict_without_counter_loads():
    bn = nn.BatchNorm2d(3)
    sd = {k: v.numpy() for k, v in bn.state_dict().items() if "num_batches" not in k}
    assert nn.BatchNorm2d(3).load_state_dict(sd).missing_keys == []
    # with torch's metadata (version 2), the counter is required
    tsd = tnn.BatchNorm2d(3).state_dict()
    del tsd["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        nn.BatchNorm2d(3).load_state_dict(tsd)


# -- nn.utils ---------------------------------------------------------------------------------

def _grad_pair():
    torch.manual_seed(0)
    t = tnn.Sequential(tnn.Linear(4, 5), tnn.Tanh(), tnn.Linear(5, 2))
    d = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    load_from_torch(d, t)
    x = _img((3, 4)) * 3
    (t(tt(x)) ** 2).sum().backward()
    (d(dm(x)) ** 2).sum().backward()
    return t, d


def test_clip_grad_norm_and_value_match_torch():
    for norm_type in (2.0, 1.0, math.inf):
        t, d = _grad_pair()
        nt = tnn.utils.clip_grad_norm_(t.parameters(), 0.5, norm_type=norm_type)
        nd = nn.utils.clip_grad_norm_(d.parameters(), 0.5, norm_type=norm_type)
        assert isinstance(nd, distml.Tensor) and nd.ndim == 0
        close(nd, nt, what=f"norm {norm_type}")
        for pt, pd in zip(t.parameters(), d.parameters()):
            close(pd.grad, pt.grad, what=f"clipped {norm_type}")
    t, d = _grad_pair()
    tnn.utils.clip_grad_value_(t.parameters(), 0.1)
    nn.utils.clip_grad_value_(d.parameters(), 0.1)
    for pt, pd in zip(t.parameters(), d.parameters()):
        close(pd.grad, pt.grad)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0
    p = nn.Parameter(distml.ones(3))
    p.grad = distml.tensor([math.inf, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_parameters_vector_roundtrip():
    t, d = _grad_pair()
    vt = tnn.utils.parameters_to_vector(t.parameters())
    vd = nn.utils.parameters_to_vector(d.parameters())
    close(vd, vt)
    params = list(d.parameters())
    nn.utils.vector_to_parameters(vd * 2, d.parameters())
    assert list(d.parameters()) == params
    close(nn.utils.parameters_to_vector(d.parameters()), vt * 2)
    with pytest.raises(TypeError, match="expected distml.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1], d.parameters())


# -- models -----------------------------------------------------------------------------------

class _TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class _TResNet18(tnn.Module):
    """torchvision.models.resnet18, written out (torchvision is not installed here)."""

    def __init__(self, num_classes=10, stem="imagenet"):
        super().__init__()
        self.inplanes = 64
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        else:
            self.conv1 = tnn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1) if stem == "imagenet" else tnn.Identity()
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, 2)
        self.layer3 = self._make_layer(256, 2, 2)
        self.layer4 = self._make_layer(512, 2, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, tnn.Conv2d):
                tnn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, tnn.BatchNorm2d):
                tnn.init.constant_(m.weight, 1)
                tnn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes, 1, stride,
                                                   bias=False), tnn.BatchNorm2d(planes))
        layers = [_TBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(_TBasicBlock(self.inplanes, planes))
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_resnet18_matches_torch(stem):
    torch.manual_seed(0)
    t_net = _TResNet18(num_classes=10, stem=stem)
    d_net = models.resnet18(num_classes=10, stem=stem)
    assert list(d_net.state_dict()) == list(t_net.state_dict())
    assert [n for n, _ in d_net.named_modules()] == [n for n, _ in t_net.named_modules()]
    for (n, a), (_, b) in zip(d_net.state_dict().items(), t_net.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), n
    load_from_torch(d_net, t_net)
    x = _img((4, 3, 32, 32))
    y = np.array([1, 5, 0, 9], dtype=np.int64)
    assert_deep_net_matches_torch(d_net, t_net, x, y)


# -- deep networks: compare against float64 torch ------------------------------------------
# A deep net's float32 result depends on summation order (torch's oneDNN or reference
# kernels, AVX2 or AVX-512 blocking, FMA), so float32 torch is no fixed target: distml and
# torch-float32 are both compared with a float64 torch run, and distml may be off by a
# small multiple of torch-float32's own error on the same tensor.
EPS32 = float(np.finfo(np.float32).eps)


def _train_step_results(lib, net, x, y):
    """Train-mode loss/logits and gradients (input, parameters in order), buffers after
    the step's batch statistics, eval-mode logits: float64 numpy arrays by name."""
    if lib is torch:
        xt = torch.from_numpy(x).to(next(net.parameters()).dtype).requires_grad_(True)
        grad_ctx, loss_fn, target = torch.no_grad, TF.cross_entropy, torch.from_numpy(y)
    else:
        xt = dm(x, True)
        grad_ctx, loss_fn, target = distml.no_grad, F.cross_entropy, dm(y)
    out = net(xt)
    loss = loss_fn(out, target)
    loss.backward()
    got = {"loss": loss, "train-mode logits": out, "input grad": xt.grad}
    got.update({f"grad of parameter {i}": p.grad for i, p in enumerate(net.parameters())})
    got.update({f"buffer {i}": b for i, b in enumerate(net.buffers())})
    net.eval()
    with grad_ctx():
        got["eval-mode logits"] = net(xt.detach())
    net.train()
    return {k: np.asarray(v.detach().numpy(), dtype=np.float64) for k, v in got.items()}


def float32_tolerance(t32, t64):
    """How far a float32 result may be from the float64 one: 8x torch-float32's own error
    on that tensor, floored at 256 ulps of the tensor's scale (where torch lands close by
    luck)."""
    scale = max(float(np.abs(t64).max()), 1e-30)
    return max(8.0 * float(np.abs(t32 - t64).max()), 256 * EPS32 * scale)


def assert_deep_net_matches_torch(d_net, t_net, x, y):
    """One training step (and an eval forward) of d_net against t_net's float32 and
    float64 runs on the same weights and data."""
    t64_net = copy.deepcopy(t_net).double()
    want32 = _train_step_results(torch, t_net, x, y)
    want64 = _train_step_results(torch, t64_net, x, y)
    got = _train_step_results(distml, d_net, x, y)
    assert set(got) == set(want64)
    for what, d in got.items():
        t64 = want64[what]
        assert d.shape == t64.shape, what
        tol = float32_tolerance(want32[what], t64)
        err = float(np.abs(d - t64).max())
        assert err <= tol, f"{what}: distml is {err:.3g} from float64 torch (tolerance {tol:.3g})"


def test_resnet_structure_and_init():
    distml.manual_seed(0)
    net = models.resnet18()
    assert isinstance(net.maxpool, nn.MaxPool2d) and net.conv1.kernel_size == (7, 7)
    assert net.fc.out_features == 1000 and net.layer1[0].downsample is None
    assert isinstance(net.layer2[0].downsample, nn.Sequential)
    assert isinstance(net.layer2[0].downsample[0], nn.Conv2d)
    assert isinstance(net, models.ResNet) and isinstance(net.layer3[1], models.BasicBlock)
    cifar = models.resnet18(num_classes=10, stem="cifar", in_channels=1)
    assert isinstance(cifar.maxpool, nn.Identity) and cifar.conv1.stride == (1, 1)
    assert tuple(cifar.conv1.weight.shape) == (64, 1, 3, 3)
    assert cifar(distml.randn(2, 1, 16, 16)).shape == (2, 10)
    # kaiming_normal_(fan_out, relu) for convs
    w = net.layer3[0].conv1.weight.detach().numpy()
    std = math.sqrt(2.0 / (w.shape[0] * 9))
    assert abs(w.std() - std) / std < 0.02
    assert net.bn1.weight.tolist() == [1.0] * 64
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 11689512  # torchvision's resnet18
    r50 = models.resnet50()
    assert sum(p.numel() for p in r50.parameters()) == 25557032  # torchvision's resnet50
    assert sum(p.numel() for p in models.resnet34().parameters()) == 21797672
    with pytest.raises(ValueError, match="stem must be"):
        models.resnet18(stem="tiny")


def _torch_mnist_cnn(dropout):
    return tnn.Sequential(
        tnn.Sequential(tnn.Conv2d(1, 32, 3, padding=1, bias=False), tnn.BatchNorm2d(32),
                       tnn.ReLU(), tnn.Conv2d(32, 32, 3, padding=1, bias=False),
                       tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
                       tnn.Conv2d(32, 64, 3, padding=1, bias=False), tnn.BatchNorm2d(64),
                       tnn.ReLU(), tnn.Conv2d(64, 64, 3, padding=1, bias=False),
                       tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(2)),
        tnn.Sequential(tnn.Flatten(), tnn.Linear(64 * 7 * 7, 128), tnn.ReLU(),
                       tnn.Dropout(dropout), tnn.Linear(128, 10)))


def test_mnist_cnn_matches_torch_and_trains():
    distml.manual_seed(0)
    net = models.MnistCNN(dropout=0.0)
    assert net(distml.randn(2, 1, 28, 28)).shape == (2, 10)
    torch.manual_seed(0)
    tnet = _torch_mnist_cnn(0.0)
    assert [tuple(v.shape) for v in net.state_dict().values()] == \
        [tuple(v.shape) for v in tnet.state_dict().values()]
    load_from_torch_by_position(net, tnet)
    x = _img((3, 1, 28, 28))
    y = np.array([3, 1, 4], dtype=np.int64)
    assert_deep_net_matches_torch(net, tnet, x, y)
    # a few plain SGD steps on a fixed batch drive the loss down
    distml.manual_seed(0)
    net = models.MnistCNN()
    xb = distml.randn(16, 1, 28, 28)
    yb = distml.randint(0, 10, (16,))
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(net(xb), yb)
        net.zero_grad()
        loss.backward()
        with distml.no_grad():
            for p in net.parameters():
                p.copy_(p - p.grad * 0.01)
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_mlp_helper():
    mlp = models.MLP(8, [16, 12], 3, dropout=0.1)
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU",
                                               "Dropout", "Linear"]
    assert mlp(distml.randn(5, 8)).shape == (5, 3)
    assert list(mlp.state_dict())[:2] == ["0.weight", "0.bias"]
    assert len(models.MLP(4, 5, 2)) == 3
    assert isinstance(mlp[:3], models.MLP) and len(mlp[:3]) == 3


def load_from_torch_by_position(dm_mod, t_mod):
    keys = list(dm_mod.state_dict())
    values = list(t_mod.state_dict().values())
    dm_mod.load_state_dict(OrderedDict(zip(keys, values)))
