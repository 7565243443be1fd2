"""Optimizer step hooks (torch.optim's register_step_pre_hook / post_hook and the global
register_optimizer_step_*_hook): the order they run in, torch's, and what they may return."""
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook as torch_post_hook
from torch.optim.optimizer import register_optimizer_step_pre_hook as torch_pre_hook

import distml
from distml.optim.optimizer import (register_optimizer_step_post_hook,
                                    register_optimizer_step_pre_hook)


def _events(lib, make_opt, global_pre, global_post):
    calls = []
    p = lib.ones(3, requires_grad=True)
    p.grad = lib.ones(3)
    opt = make_opt(lib, p)
    handles = [opt.register_step_pre_hook(lambda o, a, k: calls.append("pre")),
               opt.register_step_post_hook(lambda o, a, k: calls.append("post")),
               global_pre(lambda o, a, k: calls.append(("global pre", type(o).__name__))),
               global_post(lambda o, a, k: calls.append(("global post", type(o).__name__)))]
    opt.step()
    for h in handles:
        h.remove()
    opt.step()  # removed: no more calls
    return calls, p.detach().tolist()


@pytest.mark.parametrize("make_opt", [
    lambda lib, p: lib.optim.SGD([p], lr=0.1, momentum=0.9),
    lambda lib, p: lib.optim.Adam([p], lr=0.1),
    lambda lib, p: lib.optim.RMSprop([p], lr=0.1),
])
def test_hooks_run_in_torchs_order(make_opt):
    ours = _events(distml, make_opt, register_optimizer_step_pre_hook,
                   register_optimizer_step_post_hook)
    theirs = _events(torch, make_opt, torch_pre_hook, torch_post_hook)
    assert ours[0] == theirs[0]
    assert ours[1] == pytest.approx(theirs[1], rel=1e-6)


def test_pre_hook_may_replace_the_arguments():
    p = distml.ones(2, requires_grad=True)
    opt = distml.optim.LBFGS([p], lr=0.5)
    seen = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        seen.append("closure")
        return loss

    opt.register_step_pre_hook(lambda o, args, kwargs: ((closure,), {}))
    opt.step(lambda: pytest.fail("the hook replaced this closure"))
    assert seen and p.detach().tolist() != [1.0, 1.0]


def test_pre_hook_returning_something_else_is_an_error():
    p = distml.ones(2, requires_grad=True)
    p.grad = distml.ones(2)
    opt = distml.optim.SGD([p], lr=0.1)
    opt.register_step_pre_hook(lambda o, a, k: "oops")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()
    assert p.detach().tolist() == [1.0, 1.0]  # the step did not run


def test_handle_as_context_manager():
    p = distml.ones(2, requires_grad=True)
    p.grad = distml.ones(2)
    opt = distml.optim.SGD([p], lr=0.1)
    calls = []
    with opt.register_step_post_hook(lambda o, a, k: calls.append(1)):
        opt.step()
    opt.step()
    assert calls == [1]
