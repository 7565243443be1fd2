from . import step_functions as _F
from .optimizer import Optimizer, required


class SGD(Optimizer):
    """torch.optim.SGD: momentum, dampening, nesterov, weight_decay, maximize."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _hyper(self, state, group):
        """The fused step's hyperparameters (a captured step's replay reads them too)."""
        return dict(lr=float(group["lr"]), momentum=float(group["momentum"]),
                    dampening=float(group["dampening"]),
                    weight_decay=float(group["weight_decay"]), nesterov=bool(group["nesterov"]),
                    maximize=bool(group["maximize"]))

    def _update(self, p, grad, state, group):
        # torch's update (weight decay, momentum with dampening/nesterov, p -= lr * step)
        # is the backend's sgd_update, fused on numpy and WebGL
        momentum = group["momentum"]
        new_p, new_state = _F.optimizer_step(
            _F.SgdStep, p, grad, state.get("momentum_buffer") if momentum else None,
            **self._hyper(state, group))
        if momentum:
            state["momentum_buffer"] = new_state["momentum_buffer"]
        p._assign(new_p)
