"""Shared helpers for the nn tests that check distml against float32 torch with identical
weights (nn_reference.py is the float64-reference variant): tensor conversion, `close`,
`compare_module` (output, input gradient and every parameter gradient) and the autouse
fixture that puts the cpu backend back to numpy after each test (import it into a test
module to enable it there)."""
import numpy as np
import pytest

import distml

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture(autouse=True)
def _restore_numpy_backend():
    yield
    distml.set_cpu_backend("numpy")


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


def _img(shape, seed=0):
    return rng(seed).randn(*shape).astype(np.float32)
