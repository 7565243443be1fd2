import math

from .._tensor import zeros_like
from .optimizer import Optimizer


class Adam(Optimizer):
    """torch.optim.Adam (L2 weight decay added to the gradient; amsgrad; maximize)."""
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _update(self, p, grad, state, group):
        # one backend primitive per parameter (a few draws on webgl); its composed default
        # is the update below, op for op
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        state["step"] += 1
        be = p._backend
        buffers = [p, grad, state["exp_avg"], state["exp_avg_sq"]] + (
            [state["max_exp_avg_sq"]] if group["amsgrad"] else [])
        if any(t.dtype.name != "float32" or t._backend is not be for t in buffers):
            return self._update_composed(p, grad, state, group)
        beta1, beta2 = group["betas"]
        new_p, exp_avg, exp_avg_sq, max_sq = be.adam_update(
            p._buf, grad._buf, state["exp_avg"]._buf, state["exp_avg_sq"]._buf,
            state["max_exp_avg_sq"]._buf if group["amsgrad"] else None, float(group["lr"]),
            float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]),
            self.decoupled, bool(group["amsgrad"]), bool(group["maximize"]), state["step"])
        state["exp_avg"], state["exp_avg_sq"] = p._new(exp_avg), p._new(exp_avg_sq)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = p._new(max_sq)
        p._assign(p._new(new_p))

    def _update_composed(self, p, grad, state, group):
        if group["maximize"]:
            grad = -grad
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        step = state["step"]
        if wd:
            if self.decoupled:
                p.mul_(1 - lr * wd)
            else:
                grad = grad + p * wd
        exp_avg = state["exp_avg"].lerp(grad, 1 - beta1)
        exp_avg_sq = state["exp_avg_sq"] * beta2 + grad * grad * (1 - beta2)
        state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
        if group["amsgrad"]:
            exp_avg_sq = state["max_exp_avg_sq"] = state["max_exp_avg_sq"].maximum(exp_avg_sq)
        bias_c1 = 1 - beta1 ** step
        bias_c2 = 1 - beta2 ** step
        denom = exp_avg_sq.sqrt() / math.sqrt(bias_c2) + eps
        p.sub_(exp_avg / denom * (lr / bias_c1))


class AdamW(Adam):
    """torch.optim.AdamW: weight decay applied to the weights, not the gradient."""
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
