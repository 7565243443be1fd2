
from . import step_functions as _F
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

    def _advance(self, state):
        state["step"] += 1

    def _hyper(self, state, group):
        """The fused step's hyperparameters (a captured step's replay reads them too)."""
        beta1, beta2 = group["betas"]
        return dict(lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                    eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                    decoupled=self.decoupled, amsgrad=bool(group["amsgrad"]),
                    maximize=bool(group["maximize"]), step=state["step"])

    def _update(self, p, grad, state, group):
        # torch's update is the backend's adam_update (a few fused draws on WebGL, fused
        # chunks on numpy)
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        self._advance(state)
        new_p, new_state = _F.optimizer_step(
            _F.AdamStep, p, grad, state["exp_avg"], state["exp_avg_sq"],
            state["max_exp_avg_sq"] if group["amsgrad"] else None, **self._hyper(state, group))
        state["exp_avg"], state["exp_avg_sq"] = new_state["exp_avg"], new_state["exp_avg_sq"]
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = new_state["max_exp_avg_sq"]
        p._assign(new_p)


class AdamW(Adam):
    """torch.optim.AdamW: weight decay applied to the weights, not the gradient."""
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
