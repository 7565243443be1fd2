"""The optimizer steps as Functions: each runs the backend's update for one parameter (the
one written rule is the composed default in backends/base.py; numpy and WebGL fuse it).
Not differentiable."""
from ..autograd import Function


class _OptimizerStep(Function):
    def backward(self, g):
        raise RuntimeError(f"{type(self).__name__} is an optimizer step: it has no gradient")


class SgdStep(_OptimizerStep):
    def forward(self, p, grad, *momentum_buffer, hyper, state_out):
        new_p, state_out["momentum_buffer"] = self.be.sgd_update(
            p, grad, momentum_buffer[0] if momentum_buffer else None, **hyper)
        return new_p


class AdamStep(_OptimizerStep):
    def forward(self, p, grad, exp_avg, exp_avg_sq, *max_exp_avg_sq, hyper, state_out):
        new_p, *state = self.be.adam_update(
            p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq[0] if max_exp_avg_sq else None,
            **hyper)
        state_out.update(zip(("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), state))
        return new_p


def optimizer_step(kind, p, grad, *state, **hyper):
    """Run an optimizer step Function `kind` (SgdStep, AdamStep) on parameter p: returns the new
    parameter value and {state name: new Tensor, or None} (state entries given as None
    are left out of the inputs)."""
    out = {}
    new_p = kind.apply(p, grad, *[s for s in state if s is not None], hyper=hyper,
                       state_out=out)
    return new_p, {k: None if b is None else new_p._new(b) for k, b in out.items()}
