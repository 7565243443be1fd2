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

    def _update(self, p, grad, state, group):
        # one backend primitive per parameter (fused on numpy); its composed default is
        # torch's update: weight decay, momentum (dampening, nesterov), p -= lr * step
        be = p._backend
        if p.dtype.name != "float32" or grad.dtype.name != "float32" or grad._backend is not be:
            return self._update_composed(p, grad, state, group)
        momentum = group["momentum"]
        buf = state.get("momentum_buffer") if momentum else None
        if buf is not None and (buf._backend is not be or buf.dtype.name != "float32"):
            return self._update_composed(p, grad, state, group)
        new_p, new_buf = be.sgd_update(
            p._buf, grad._buf, None if buf is None else buf._buf, float(group["lr"]),
            float(momentum), float(group["dampening"]), float(group["weight_decay"]),
            bool(group["nesterov"]), bool(group["maximize"]))
        if momentum:
            state["momentum_buffer"] = p._new(new_buf)
        p._assign(p._new(new_p))

    def _update_composed(self, p, grad, state, group):
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + p * group["weight_decay"]
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.clone()
            else:
                buf = buf * momentum + grad * (1 - group["dampening"])
            state["momentum_buffer"] = buf
            grad = grad + buf * momentum if group["nesterov"] else buf
        p.sub_(grad * group["lr"])
