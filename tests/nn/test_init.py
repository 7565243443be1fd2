"""distml.nn.init against torch: gains and fans, the distributions, the generator stream
and the default parameter initialisation of each layer."""
import math

import numpy as np
import pytest
# _restore_numpy_backend: an autouse fixture, active in this module
from nn_float32_reference import _restore_numpy_backend  # noqa: F401
from nn_float32_reference import torch

import distml
import distml.nn as nn

tnn = torch.nn


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
