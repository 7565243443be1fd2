from .._tensor import zeros_like
from ._checks import check_nonnegative
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """torch.optim.RMSprop: a running mean of squared gradients scales each step;
    `centered` subtracts the squared running mean of gradients, `momentum` keeps a buffer
    of scaled steps."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        check_nonnegative(lr, "learning rate")
        check_nonnegative(eps, "epsilon value")
        check_nonnegative(momentum, "momentum value")
        check_nonnegative(weight_decay, "weight_decay value")
        check_nonnegative(alpha, "alpha value")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = zeros_like(p)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + p * group["weight_decay"]
        alpha = group["alpha"]
        square_avg = state["square_avg"] = state["square_avg"] * alpha + grad * grad * (1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"] = state["grad_avg"].lerp(grad, 1 - alpha)
            avg = (square_avg - grad_avg * grad_avg).sqrt() + group["eps"]
        else:
            avg = square_avg.sqrt() + group["eps"]
        if group["momentum"] > 0:
            # (a scheduler may have turned momentum on after the first step)
            buf = state.get("momentum_buffer")
            buf = zeros_like(p) if buf is None else buf
            buf = state["momentum_buffer"] = buf * group["momentum"] + grad / avg
            p.sub_(buf * group["lr"])
        else:
            p.sub_(grad / avg * group["lr"])
