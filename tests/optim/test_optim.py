"""Optimizers and schedulers follow torch's trajectories step for step."""
import numpy as np
import pytest
import torch

import distml
import distml.optim as optim

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=5e-4)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2, eps=1e-6)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
]


def _loss(lib, w, b, x):
    # a smooth non-quadratic loss so the trajectory depends on every state variable
    return ((x @ w + b).tanh() ** 2).sum() + (w * w * w).sum() * 0.1


@pytest.mark.parametrize("backend", ["numpy", "python"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(name, kw, backend, cpu_backend):
    cpu_backend(backend)
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(10)]
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    dw, db = distml.tensor(w0, requires_grad=True), distml.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw, tb], **kw)
    dopt = getattr(optim, name)([dw, db], **kw)
    for x in xs:
        topt.zero_grad()
        _loss(torch, tw, tb, torch.tensor(x)).backward()
        topt.step()
        dopt.zero_grad()
        _loss(distml, dw, db, distml.tensor(x)).backward()
        dopt.step()
    np.testing.assert_allclose(np.array(dw.tolist()), tw.detach().numpy(), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np.array(db.tolist()), tb.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_state_dict_roundtrip_and_resume(tmp_path):
    w = distml.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    distml.save(sd, tmp_path / "opt.safetensors")
    loaded = distml.load(tmp_path / "opt.safetensors")
    w2 = distml.tensor(w.tolist(), requires_grad=True)
    opt2 = optim.Adam([w2], lr=0.5)
    opt2.load_state_dict(loaded)
    assert opt2.param_groups[0]["lr"] == 0.1
    for o, p in ((opt, w), (opt2, w2)):
        o.zero_grad()
        (p ** 2).sum().backward()
        o.step()
    assert w2.tolist() == w.tolist()


def test_optimizer_bad_input():
    w = distml.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="beta"):
        optim.Adam([w], betas=(1.5, 0.9))
    opt = optim.Adam([w])
    bad = opt.state_dict()
    bad["param_groups"].append(dict(bad["param_groups"][0]))
    with pytest.raises(ValueError, match="number of parameter groups"):
        opt.load_state_dict(bad)


@pytest.mark.parametrize("name,kw", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=3)),
])
def test_schedulers_match_torch(name, kw):
    p = torch.nn.Parameter(torch.zeros(2))
    topt = torch.optim.SGD([p], lr=0.1)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    q = distml.zeros(2, requires_grad=True)
    dopt = optim.SGD([q], lr=0.1)
    dsched = getattr(optim.lr_scheduler, name)(dopt, **kw)
    for _ in range(15):
        topt.step()
        tsched.step()
        dopt.step()
        dsched.step()
        assert dsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
