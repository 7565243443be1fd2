from .._tensor import full_like
from ._checks import check_nonnegative
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """torch.optim.Adagrad: each step divided by the root of the sum of all squared
    gradients so far; the learning rate decays as lr / (1 + (step - 1) * lr_decay)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, maximize=False):
        check_nonnegative(lr, "learning rate")
        check_nonnegative(lr_decay, "lr_decay value")
        check_nonnegative(weight_decay, "weight_decay value")
        check_nonnegative(initial_accumulator_value, "initial_accumulator_value value")
        check_nonnegative(eps, "epsilon value")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize))

    def add_param_group(self, group):
        # as torch, a parameter's state exists from the start (state_dict lists it at once)
        super().add_param_group(group)
        for p in self.param_groups[-1]["params"]:
            self.state[p] = self._fresh_state(p, self.param_groups[-1])

    @staticmethod
    def _fresh_state(p, group):
        return {"step": 0.0, "sum": full_like(p.detach(), group["initial_accumulator_value"])}

    def _update(self, p, grad, state, group):
        if not state:
            state.update(self._fresh_state(p, group))
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + p * group["weight_decay"]
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        acc = state["sum"] = state["sum"] + grad * grad
        p.sub_(grad / (acc.sqrt() + group["eps"]) * clr)
