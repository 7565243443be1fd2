from .._tensor import zeros_like
from ._checks import check_nonnegative
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """torch.optim.Adadelta: the step is the gradient scaled by the ratio of the running
    RMS of past updates to the running RMS of gradients, times lr (1.0 by default)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
        check_nonnegative(lr, "learning rate")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative(eps, "epsilon value")
        check_nonnegative(weight_decay, "weight_decay value")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = zeros_like(p)
            state["acc_delta"] = zeros_like(p)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + p * group["weight_decay"]
        rho, eps = group["rho"], group["eps"]
        square_avg = state["square_avg"] = state["square_avg"] * rho + grad * grad * (1 - rho)
        delta = (state["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * grad
        state["acc_delta"] = state["acc_delta"] * rho + delta * delta * (1 - rho)
        p.sub_(delta * group["lr"])
