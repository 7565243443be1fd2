"""Shared helpers for the nn tests that check distml modules against torch.

The reference is torch in float64 with the same weights (torch's state_dict loaded into
distml) and the same inputs and upstream gradients; distml computes in float32, so the
tolerances are float32's rounding error over the few hundred operations of a small layer.
"""
import numpy as np
import pytest

import distml

torch = pytest.importorskip("torch")

RTOL, ATOL = 2e-4, 2e-5


def rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def dm(a, requires_grad=False):
    """numpy array / torch tensor -> distml tensor on the current cpu backend."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return distml.tensor(a, requires_grad=requires_grad)


def tt(a, requires_grad=False):
    """numpy array -> float64 (or integer/bool) torch tensor."""
    t = torch.from_numpy(np.array(a))
    if t.is_floating_point():
        t = t.double()
    return t.requires_grad_(requires_grad)


def npy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().double().numpy()
    return np.asarray(t.detach().tolist(), dtype=np.float64)


def close(a, b, rtol=RTOL, atol=ATOL, what=""):
    a, b = npy(a), npy(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def load_from_torch(dm_mod, t_mod):
    """torch's state_dict into distml (strict), then the torch module goes to float64."""
    result = dm_mod.load_state_dict(t_mod.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    t_mod.double()


def flat_outputs(out):
    """Every tensor in a (nested) tuple of outputs, None skipped."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat_outputs(o)]
    return [out]


def compare(dm_mod, t_mod, inputs, call=None, rtol=RTOL, atol=ATOL, grad_inputs=True,
            seed=1, load=True):
    """Same weights, inputs and upstream gradients in both; compare every output, the
    gradient of every float input and of every parameter. `inputs` are numpy arrays (float
    ones get gradients) or anything else passed through unchanged to both frameworks."""
    if load:
        load_from_torch(dm_mod, t_mod)
    call = call or (lambda m, *xs: m(*xs))

    def convert(x, to):
        if isinstance(x, np.ndarray):
            grad = grad_inputs and x.dtype.kind == "f"
            return to(x, requires_grad=grad)
        if isinstance(x, tuple):
            return tuple(convert(v, to) for v in x)
        return x

    xt = [convert(x, tt) for x in inputs]
    xd = [convert(x, dm) for x in inputs]
    yt = flat_outputs(call(t_mod, *xt))
    yd = flat_outputs(call(dm_mod, *xd))
    assert len(yt) == len(yd)
    for i, (a, b) in enumerate(zip(yd, yt)):
        close(a, b, rtol, atol, f"output {i}")
    gs = [rand(*t.shape, seed=seed + i) for i, t in enumerate(yt)]
    sum((t * tt(g)).sum() for t, g in zip(yt, gs)).backward()
    sum((d * dm(g)).sum() for d, g in zip(yd, gs)).backward()
    for i, (a, b) in enumerate(zip(flat_outputs(tuple(xd)), flat_outputs(tuple(xt)))):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            close(a.grad, b.grad, rtol, atol, f"grad of input {i}")
    tparams = dict(t_mod.named_parameters())
    dparams = dict(dm_mod.named_parameters())
    assert list(tparams) == list(dparams)
    for name, tp in tparams.items():
        if tp.grad is None:
            assert dparams[name].grad is None, name
        else:
            close(dparams[name].grad, tp.grad, rtol, atol, f"grad of {name}")
    return yd, yt
