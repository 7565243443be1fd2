"""Adadelta, RMSprop, Adagrad, LBFGS and the added schedulers follow torch step for step."""
import numpy as np
import pytest
import torch

import distml
import distml.optim as optim

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-2)),
    ("Adadelta", dict(maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.9)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-3)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=1e-2,
                     initial_accumulator_value=0.1, eps=1e-8)),
]


def _loss(w, b, x):
    # smooth and non-quadratic, so the trajectory depends on every state variable
    return ((x @ w + b).tanh() ** 2).sum() + (w * w * w).sum() * 0.1


def _data(seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(10)]
    return w0, b0, xs


def _run(opt, w, b, xs, lib):
    for x in xs:
        opt.zero_grad()
        _loss(w, b, lib.tensor(x)).backward()
        opt.step()


@pytest.mark.parametrize("backend", ["numpy", "python"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(name, kw, backend, cpu_backend):
    cpu_backend(backend)
    w0, b0, xs = _data()
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    dw, db = distml.tensor(w0, requires_grad=True), distml.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw, tb], **kw)
    dopt = getattr(optim, name)([dw, db], **kw)
    _run(topt, tw, tb, xs, torch)
    _run(dopt, dw, db, xs, distml)
    for d, t in ((dw, tw), (db, tb)):
        np.testing.assert_allclose(np.array(d.tolist()), t.detach().numpy(), rtol=2e-5,
                                   atol=2e-6)
    tsd, dsd = topt.state_dict(), dopt.state_dict()
    assert set(dsd["state"]) == set(tsd["state"])
    for i in tsd["state"]:
        assert set(dsd["state"][i]) == set(tsd["state"][i])
        assert float(dsd["state"][i]["step"]) == float(tsd["state"][i]["step"])
    for k, v in dsd["param_groups"][0].items():
        assert tsd["param_groups"][0][k] == v


@pytest.mark.parametrize("name", ["Adadelta", "RMSprop", "Adagrad"])
def test_param_groups_and_state_dict_roundtrip(name, tmp_path):
    w0, b0, xs = _data(1)
    dw, db = distml.tensor(w0, requires_grad=True), distml.tensor(b0, requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    groups = lambda a, c: [{"params": [a]}, {"params": [c], "lr": 0.05}]  # noqa: E731
    dopt = getattr(optim, name)(groups(dw, db), weight_decay=1e-2)
    topt = getattr(torch.optim, name)(groups(tw, tb), weight_decay=1e-2)
    _run(dopt, dw, db, xs[:4], distml)
    _run(topt, tw, tb, xs[:4], torch)
    distml.save(dopt.state_dict(), tmp_path / "opt.safetensors")
    # resume in a fresh optimizer from the saved state; torch continues uninterrupted
    dw2 = distml.tensor(dw.tolist(), requires_grad=True)
    db2 = distml.tensor(db.tolist(), requires_grad=True)
    dopt2 = getattr(optim, name)(groups(dw2, db2), weight_decay=0.5)
    dopt2.load_state_dict(distml.load(tmp_path / "opt.safetensors"))
    assert dopt2.param_groups[1]["lr"] == 0.05 and dopt2.param_groups[0]["weight_decay"] == 1e-2
    _run(dopt2, dw2, db2, xs[4:], distml)
    _run(topt, tw, tb, xs[4:], torch)
    np.testing.assert_allclose(np.array(dw2.tolist()), tw.detach().numpy(), rtol=2e-5,
                               atol=2e-6)
    np.testing.assert_allclose(np.array(db2.tolist()), tb.detach().numpy(), rtol=2e-5,
                               atol=2e-6)


def test_adagrad_state_exists_before_the_first_step():
    w = distml.zeros(3, requires_grad=True)
    sd = optim.Adagrad([w], initial_accumulator_value=0.5).state_dict()
    assert sd["state"][0]["step"] == 0.0 and sd["state"][0]["sum"].tolist() == [0.5] * 3


def test_bad_arguments():
    w = distml.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.RMSprop([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid rho value"):
        optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        optim.Adagrad([w], lr_decay=-0.1)
    with pytest.raises(ValueError, match="strong_wolfe"):
        optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [distml.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([w]).step()


# -- LBFGS on a small nonlinear least-squares problem ------------------------------------
def _lbfgs_problem(lib, opt_kw):
    rng = np.random.default_rng(3)
    # columns on different scales: many iterations from the minimum, no float32 noise
    scale = np.linspace(0.3, 2.0, 8)
    a = lib.tensor((rng.standard_normal((24, 8)) * scale).astype(np.float32))
    y = lib.tensor(rng.standard_normal(24).astype(np.float32))
    w = lib.tensor(np.full((8, 1), 0.1, np.float32), requires_grad=True)
    opt = lib.optim.LBFGS([w], **opt_kw)

    def closure():
        opt.zero_grad()
        loss = (((a @ w).reshape(-1) * 0.5).tanh() - y * 0.3).pow(2).mean()
        loss.backward()
        return loss
    return w, opt, closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kw", [dict(max_iter=3), dict(lr=0.5, max_iter=2, history_size=2)])
def test_lbfgs_matches_torch(line_search_fn, kw):
    kw = dict(kw, line_search_fn=line_search_fn)
    dw, dopt, dclosure = _lbfgs_problem(distml, kw)
    tw, topt, tclosure = _lbfgs_problem(torch, kw)
    for _ in range(3):
        dloss, tloss = dopt.step(dclosure), topt.step(tclosure)
        assert float(dloss) == pytest.approx(float(tloss.detach()), rel=1e-5)
        np.testing.assert_allclose(np.array(dw.tolist()), tw.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        dstate, tstate = dopt.state[dw], topt.state[tw]
        assert (dstate["func_evals"], dstate["n_iter"]) == \
            (tstate["func_evals"], tstate["n_iter"])
        assert len(dstate["old_dirs"]) == len(tstate["old_dirs"])
        assert dstate["t"] == pytest.approx(float(tstate["t"]), rel=1e-4)


def test_lbfgs_state_dict_roundtrip_continues_identically():
    kw = dict(max_iter=3, line_search_fn="strong_wolfe")
    w, opt, closure = _lbfgs_problem(distml, kw)
    opt.step(closure)
    w2, opt2, closure2 = _lbfgs_problem(distml, kw)
    w2.data.copy_(w.detach())
    opt2.load_state_dict(opt.state_dict())
    opt.step(closure)
    opt2.step(closure2)
    assert w2.tolist() == w.tolist()
    assert opt2.state[w2]["n_iter"] == opt.state[w]["n_iter"] > 3


# -- schedulers ---------------------------------------------------------------------------
def _sched_pair(name, kw, opt_name="SGD", opt_kw=None, make=None):
    opt_kw = opt_kw or dict(lr=0.1, momentum=0.9)
    p = torch.nn.Parameter(torch.zeros(2))
    q = distml.zeros(2, requires_grad=True)
    topt = getattr(torch.optim, opt_name)([p], **opt_kw)
    dopt = getattr(optim, opt_name)([q], **opt_kw)
    if make is not None:
        return topt, make(torch.optim, topt), dopt, make(optim, dopt)
    return (topt, getattr(torch.optim.lr_scheduler, name)(topt, **kw),
            dopt, getattr(optim.lr_scheduler, name)(dopt, **kw))


def _sequential(mod, opt):
    s = mod.lr_scheduler
    return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=3),
                                s.ConstantLR(opt, factor=0.5, total_iters=2),
                                s.CosineAnnealingLR(opt, T_max=4)], milestones=[3, 6])


def _chained(mod, opt):
    s = mod.lr_scheduler
    return s.ChainedScheduler([s.ConstantLR(opt, factor=0.1, total_iters=2),
                               s.ExponentialLR(opt, gamma=0.9),
                               s.MultiplicativeLR(opt, lambda e: 0.95 if e % 2 else 1.0)])


SCHEDULES = [
    ("LinearLR", dict(), None),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=4), None),
    ("ConstantLR", dict(factor=0.25, total_iters=3), None),
    ("PolynomialLR", dict(total_iters=6, power=2.0), None),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01), None),
    ("CosineAnnealingWarmRestarts", dict(T_0=4), None),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=16), None),
    ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=4, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25), None),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=16, div_factor=10.0), "Adam"),
    ("SequentialLR", None, None),
    ("ChainedScheduler", None, None),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9 + 0.01 * e), None),
]


@pytest.mark.parametrize("name,kw,opt_name", SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULES)])
def test_schedulers_match_torch(name, kw, opt_name):
    opt_kw = dict(lr=0.1, betas=(0.9, 0.99)) if opt_name == "Adam" else None
    make = {"SequentialLR": _sequential, "ChainedScheduler": _chained}.get(name)
    topt, tsched, dopt, dsched = _sched_pair(name, kw, opt_name or "SGD", opt_kw, make)
    assert dsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    for _ in range(15):
        topt.step()
        tsched.step()
        dopt.step()
        dsched.step()
        assert dsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        tg, dg = topt.param_groups[0], dopt.param_groups[0]
        if "betas" in tg:
            assert dg["betas"] == pytest.approx(tg["betas"], rel=1e-12)
        else:
            assert dg["momentum"] == pytest.approx(tg["momentum"], rel=1e-12)


def test_one_cycle_too_many_steps_and_bad_arguments():
    q = distml.zeros(2, requires_grad=True)
    opt = optim.SGD([q], lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="x")
    with pytest.raises(ValueError, match="momentum or beta1"):
        optim.lr_scheduler.OneCycleLR(optim.Adagrad([q]), max_lr=1.0, total_steps=5)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs",
         cooldown=2, min_lr=0.02),
    dict(patience=0, factor=0.5, min_lr=0.099, eps=1e-3),
])
def test_reduce_lr_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.89, 0.9, 0.91, 0.92, 0.8, 0.8, 0.8, 0.81, 0.9, 0.7,
               0.7, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78]
    topt, tsched, dopt, dsched = _sched_pair("ReduceLROnPlateau", kw)
    for m in metrics:
        tsched.step(m)
        dsched.step(distml.tensor(m))
        assert dopt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"],
                                                           rel=1e-12)
        assert dsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        assert dsched.num_bad_epochs == tsched.num_bad_epochs
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        optim.lr_scheduler.ReduceLROnPlateau(dopt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        optim.lr_scheduler.ReduceLROnPlateau(dopt, mode="avg")


@pytest.mark.parametrize("opt_name,opt_kw,make", [
    ("Adam", dict(lr=1e-2), lambda m, o: m.lr_scheduler.OneCycleLR(o, max_lr=0.05,
                                                                  total_steps=10)),
    ("RMSprop", dict(lr=1e-2, momentum=0.9), lambda m, o: m.lr_scheduler.OneCycleLR(
        o, max_lr=0.02, total_steps=10, three_phase=True, anneal_strategy="linear")),
    ("Adadelta", dict(), lambda m, o: m.lr_scheduler.LinearLR(o, start_factor=0.5,
                                                             total_iters=4)),
    ("Adagrad", dict(lr=0.1), _sequential),
])
def test_optimizer_with_scheduler_matches_torch(opt_name, opt_kw, make):
    w0, b0, xs = _data(2)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    dw, db = distml.tensor(w0, requires_grad=True), distml.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, opt_name)([tw, tb], **opt_kw)
    dopt = getattr(optim, opt_name)([dw, db], **opt_kw)
    tsched, dsched = make(torch.optim, topt), make(optim, dopt)
    for x in xs:
        for lib, opt, sched, w, b in ((torch, topt, tsched, tw, tb),
                                      (distml, dopt, dsched, dw, db)):
            opt.zero_grad()
            _loss(w, b, lib.tensor(x)).backward()
            opt.step()
            sched.step()
        assert dopt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"],
                                                           rel=1e-12)
    for d, t in ((dw, tw), (db, tb)):
        np.testing.assert_allclose(np.array(d.tolist()), t.detach().numpy(), rtol=2e-5,
                                   atol=2e-6)


@pytest.mark.parametrize("name,kw", [("RMSprop", dict(momentum=0.9, centered=True)),
                                     ("Adagrad", dict(lr_decay=0.01)), ("Adadelta", dict())])
def test_torch_state_dict_loads_and_continues(name, kw):
    w0, b0, xs = _data(4)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw, tb], **kw)
    _run(topt, tw, tb, xs[:5], torch)
    dw = distml.tensor(tw.detach().numpy(), requires_grad=True)
    db = distml.tensor(tb.detach().numpy(), requires_grad=True)
    dopt = getattr(optim, name)([dw, db])
    dopt.load_state_dict(topt.state_dict())  # torch tensors, torch's group keys
    _run(topt, tw, tb, xs[5:], torch)
    _run(dopt, dw, db, xs[5:], distml)
    for d, t in ((dw, tw), (db, tb)):
        np.testing.assert_allclose(np.array(d.tolist()), t.detach().numpy(), rtol=2e-5,
                                   atol=2e-6)


def test_scheduler_state_dict_roundtrip():
    for make in (lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20),
                 lambda o: optim.lr_scheduler.ReduceLROnPlateau(o, patience=1),
                 lambda o: _sequential(optim, o)):
        q = distml.zeros(2, requires_grad=True)
        opt = optim.SGD([q], lr=0.1, momentum=0.9)
        sched = make(opt)
        plateau = isinstance(sched, optim.lr_scheduler.ReduceLROnPlateau)
        for i in range(5):
            sched.step(1.0) if plateau else sched.step()
        q2 = distml.zeros(2, requires_grad=True)
        opt2 = optim.SGD([q2], lr=0.1, momentum=0.9)
        sched2 = make(opt2)
        opt2.load_state_dict(opt.state_dict())
        sched2.load_state_dict(sched.state_dict())
        for i in range(6):
            for s in (sched, sched2):
                s.step(1.0) if plateau else s.step()
            assert sched2.get_last_lr() == sched.get_last_lr()
            assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_lbfgs_loads_torchs_state_dict():
    kw = dict(max_iter=3, line_search_fn="strong_wolfe")
    tw, topt, tclosure = _lbfgs_problem(torch, kw)
    topt.step(tclosure)
    dw, dopt, dclosure = _lbfgs_problem(distml, kw)
    dw.data.copy_(distml.tensor(tw.detach().numpy()))
    dopt.load_state_dict(topt.state_dict())
    topt.step(tclosure)
    dopt.step(dclosure)
    np.testing.assert_allclose(np.array(dw.tolist()), tw.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    assert dopt.state[dw]["n_iter"] == topt.state[tw]["n_iter"]
