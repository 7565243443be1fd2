"""distml.distributions against torch.distributions: log_prob, entropy and their gradients,
sample statistics, validation, and a REINFORCE loop whose losses match torch's."""
import math

import numpy as np
import pytest
import torch

import distml
from distml.distributions import Bernoulli, Categorical, Normal

D = distml.distributions
T = torch.distributions


def _pair(x, requires_grad=True):
    x = np.asarray(x, dtype=np.float32)
    return (distml.tensor(x, requires_grad=requires_grad),
            torch.tensor(x, requires_grad=requires_grad))


def _close(d, t, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.array(d.tolist()), t.detach().numpy(), rtol=rtol, atol=atol)


LOGITS = [[0.3, -1.2, 2.0, 0.0], [1.0, 1.0, -3.0, 0.5], [0.0, 0.0, 0.0, 0.0]]
PROBS = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.25, 0.25], [2.0, 1.0, 1.0, 0.0]]  # unnormalised


@pytest.mark.parametrize("backend", ["numpy", "python"])
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical_log_prob_entropy_and_grads(param, backend, cpu_backend):
    cpu_backend(backend)
    dp, tp = _pair(PROBS if param == "probs" else LOGITS)
    dc, tc = Categorical(**{param: dp}), Categorical_t(**{param: tp})
    assert dc.batch_shape == tc.batch_shape and dc.event_shape == tc.event_shape == ()
    _close(dc.probs, tc.probs)
    _close(dc.logits, tc.logits)
    # a batch of values and values broadcast against the batch (sample_shape (2, 3))
    for v in ([3, 0, 2], [[1, 1, 1], [0, 3, 2]]):
        _close(dc.log_prob(distml.tensor(v)), tc.log_prob(torch.tensor(v)))
    _close(dc.entropy(), tc.entropy())
    _close(dc.mode, tc.mode)
    loss_d = (dc.log_prob(distml.tensor([2, 3, 0])) * distml.tensor([1.0, -2.0, 0.5])).sum() \
        + dc.entropy().sum()
    loss_t = (tc.log_prob(torch.tensor([2, 3, 0])) * torch.tensor([1.0, -2.0, 0.5])).sum() \
        + tc.entropy().sum()
    loss_d.backward()
    loss_t.backward()
    _close(dp.grad, tp.grad, rtol=1e-4, atol=1e-5)


def Categorical_t(**kw):
    return T.Categorical(**kw)


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_normal_log_prob_entropy_rsample_and_grads(backend, cpu_backend):
    cpu_backend(backend)
    (dl, tl), (ds, ts) = _pair([0.0, 1.5, -2.0]), _pair([1.0, 0.5, 2.5])
    dn, tn = Normal(dl, ds), T.Normal(tl, ts)
    x = [[0.3, 1.0, -1.0], [2.0, -0.5, 0.0]]
    _close(dn.log_prob(distml.tensor(x)), tn.log_prob(torch.tensor(x)))
    _close(dn.entropy(), tn.entropy())
    _close(dn.cdf(distml.tensor(x)), tn.cdf(torch.tensor(x)))
    _close(dn.mean, tn.mean)
    _close(dn.stddev, tn.stddev)
    _close(dn.variance, tn.variance)
    (dn.log_prob(distml.tensor(x)).sum() + dn.entropy().sum()).backward()
    (tn.log_prob(torch.tensor(x)).sum() + tn.entropy().sum()).backward()
    _close(dl.grad, tl.grad, rtol=1e-4, atol=1e-5)
    _close(ds.grad, ts.grad, rtol=1e-4, atol=1e-5)
    # rsample = loc + scale * eps: d/dloc = 1 per draw, d/dscale = eps = (x - loc) / scale
    dl.grad = ds.grad = None
    s = dn.rsample((4,))
    assert s.shape == (4, 3) and s.requires_grad
    s.sum().backward()
    assert dl.grad.tolist() == [4.0, 4.0, 4.0]
    eps = ((s.detach() - dl.detach()) / ds.detach()).sum(0)
    _close(ds.grad, torch.tensor(eps.tolist()), rtol=1e-5, atol=1e-5)
    assert not dn.sample((2,)).requires_grad
    assert Normal(0.0, 1.0).batch_shape == () and Normal(0.0, 1.0).sample().shape == ()


@pytest.mark.parametrize("backend", ["numpy", "python"])
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli_log_prob_entropy_and_grads(param, backend, cpu_backend):
    cpu_backend(backend)
    values = [0.05, 0.5, 0.9, 1.0] if param == "probs" else [-3.0, 0.0, 1.5, 20.0]
    dp, tp = _pair(values)
    db, tb = Bernoulli(**{param: dp}), T.Bernoulli(**{param: tp})
    _close(db.probs, tb.probs)
    _close(db.logits, tb.logits, rtol=1e-4)
    x = [[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    _close(db.log_prob(distml.tensor(x)), tb.log_prob(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    _close(db.entropy(), tb.entropy(), rtol=1e-4, atol=1e-5)
    (db.log_prob(distml.tensor(x)).sum() + db.entropy().sum()).backward()
    (tb.log_prob(torch.tensor(x)).sum() + tb.entropy().sum()).backward()
    _close(dp.grad, tp.grad, rtol=1e-3, atol=1e-5)


def _within(freq, p, n, sigmas=5.0):
    # a sample mean of n draws has standard deviation sqrt(var / n)
    return abs(freq - p) <= sigmas * math.sqrt(max(p * (1 - p), 1e-12) / n)


def test_sample_statistics():
    distml.manual_seed(1)
    n = 20000
    probs = [0.1, 0.0, 0.6, 0.3]
    s = Categorical(probs=distml.tensor(probs)).sample((n,))
    assert s.shape == (n,) and s.dtype == distml.int64
    counts = np.bincount(np.array(s.tolist()), minlength=4) / n
    assert counts[1] == 0.0
    assert all(_within(c, p, n) for c, p in zip(counts, probs))
    batched = Categorical(logits=distml.tensor([[0.0, 5.0], [5.0, 0.0]])).sample((n,))
    assert batched.shape == (n, 2)
    p1 = 1 / (1 + math.exp(-5.0))
    freq = np.array(batched.tolist()).mean(0)
    assert _within(freq[0], p1, n) and _within(freq[1], 1 - p1, n)

    b = Bernoulli(probs=distml.tensor([0.2, 0.7])).sample((n,))
    assert b.dtype == distml.float32 and set(np.unique(np.array(b.tolist()))) <= {0.0, 1.0}
    freq = np.array(b.tolist()).mean(0)
    assert _within(freq[0], 0.2, n) and _within(freq[1], 0.7, n)

    loc, scale = 1.5, 2.0
    x = np.array(Normal(loc, distml.tensor([scale])).sample((n,)).tolist())
    assert x.shape == (n, 1)
    assert abs(x.mean() - loc) <= 5 * scale / math.sqrt(n)
    assert abs(x.std() - scale) <= 5 * scale / math.sqrt(2 * n)


def test_samples_follow_distmls_seed_on_every_backend(cpu_backend):
    draws = []
    for backend in ("numpy", "python"):
        cpu_backend(backend)
        distml.manual_seed(7)
        draws.append((Categorical(logits=distml.tensor(LOGITS)).sample((5,)).tolist(),
                      Normal(distml.zeros(3), 1.0).sample((2,)).tolist(),
                      Bernoulli(logits=distml.zeros(4)).sample().tolist()))
    assert draws[0][0] == draws[1][0] and draws[0][2] == draws[1][2]
    np.testing.assert_allclose(draws[0][1], draws[1][1], rtol=1e-6)


def test_validation_errors_name_the_problem():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Categorical()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Bernoulli(probs=distml.tensor([0.5]), logits=distml.tensor([0.0]))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(probs=distml.tensor(1.0))
    with pytest.raises(ValueError, match=r"parameter probs .* constraint Simplex\(\)"):
        Categorical(probs=distml.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(ValueError, match=r"parameter scale .* GreaterThan\(lower_bound=0.0\)"):
        Normal(0.0, distml.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"parameter probs .* Interval"):
        Bernoulli(probs=distml.tensor([1.5]))
    c = Categorical(logits=distml.zeros(3))
    with pytest.raises(ValueError, match=r"within the support \(IntegerInterval\(lower_bound=0"):
        c.log_prob(distml.tensor([3]))
    with pytest.raises(ValueError, match="not broadcastable"):
        Categorical(logits=distml.zeros(2, 3)).log_prob(distml.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="support"):
        Bernoulli(probs=distml.tensor([0.5])).log_prob(distml.tensor([0.5]))
    # validation can be switched off as in torch
    Normal(0.0, distml.tensor([-1.0]), validate_args=False)


# -- REINFORCE, written as pytorch/examples/reinforcement_learning/reinforce.py -----------
class _Chain:
    """Five states in a row; action 1 moves right, 0 moves left; reward 1 at the end."""

    def reset(self):
        self.pos = 0
        return self._obs()

    def _obs(self):
        return np.eye(5, dtype=np.float32)[self.pos]

    def step(self, action):
        self.pos = min(4, self.pos + 1) if action == 1 else max(0, self.pos - 1)
        done = self.pos == 4
        return self._obs(), float(done), done


def _policy(lib, weights):
    nn = lib.nn

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(5, 16)
            self.affine2 = nn.Linear(16, 2)

        def forward(self, x):
            return lib.nn.functional.softmax(self.affine2(self.affine1(x).relu()), dim=1)

    policy = Policy()
    policy.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    return policy


def test_reinforce_losses_match_torch():
    rng = np.random.default_rng(0)
    weights = {"affine1.weight": rng.standard_normal((16, 5)) * 0.4,
               "affine1.bias": rng.standard_normal(16) * 0.1,
               "affine2.weight": rng.standard_normal((2, 16)) * 0.4,
               "affine2.bias": np.zeros(2)}
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    dpol, tpol = _policy(distml, weights), _policy(torch, weights)
    dopt = distml.optim.Adam(dpol.parameters(), lr=1e-2)
    topt = torch.optim.Adam(tpol.parameters(), lr=1e-2)
    gamma, eps = 0.9, 1e-7
    distml.manual_seed(3)
    env = _Chain()
    for episode in range(4):
        state, actions, rewards = env.reset(), [], []
        dlogp, tlogp = [], []
        for _ in range(8):
            dprobs = dpol(distml.tensor(state).unsqueeze(0))
            m = D.Categorical(dprobs)
            action = m.sample()  # distml draws; torch replays the same action
            dlogp.append(m.log_prob(action))
            tm = T.Categorical(tpol(torch.tensor(state).unsqueeze(0)))
            tlogp.append(tm.log_prob(torch.tensor(action.tolist())))
            state, reward, done = env.step(action.item())
            actions.append(action.item())
            rewards.append(reward)
            if done:
                break
        returns, R = [], 0.0
        for r in reversed(rewards):
            R = r + gamma * R
            returns.insert(0, R)
        losses = []
        for lib, logp, opt in ((distml, dlogp, dopt), (torch, tlogp, topt)):
            ret = lib.tensor(returns)
            ret = (ret - ret.mean()) / (ret.std() + eps)
            loss = lib.cat([-lp * r for lp, r in zip(logp, ret)]).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-4, abs=1e-5), (episode, actions)
    for k, v in tpol.state_dict().items():
        _close(dpol.state_dict()[k], v, rtol=1e-4, atol=1e-5)
