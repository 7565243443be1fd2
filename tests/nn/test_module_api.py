"""The nn.Module API against torch: traversal, train/eval, grads, .to, the register
rules, Parameter, deepcopy, containers, hooks and reprs; state_dict /
load_state_dict; nn.utils (gradient clipping, parameters <-> vector)."""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest
# _restore_numpy_backend: an autouse fixture, active in this module
from nn_float32_reference import _restore_numpy_backend  # noqa: F401
from nn_float32_reference import _img, close, dm, load_from_torch, tt, torch

import distml
import distml.nn as nn

tnn = torch.nn


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
