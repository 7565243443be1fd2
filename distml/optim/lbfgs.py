"""torch.optim.LBFGS: limited-memory BFGS over all parameters as one flat vector.

Each step(closure) runs up to max_iter iterations: a direction from the last
history_size (step, gradient change) pairs by the two-loop recursion, then either a fixed
step of lr (the first one scaled by 1 / |grad|_1) or a strong-Wolfe line search. The
scalars (dot products, step lengths) are Python floats; the vectors stay tensors.
"""
import copy

from ..autograd import enable_grad, no_grad
from .._tensor import Tensor, cat, tensor, zeros
from ._checks import check_nonnegative
from .lbfgs_line_search import strong_wolfe
from .optimizer import Optimizer


def _dot(a, b):
    return float((a * b).sum())


def _abs_max(v):
    return float(v.abs().max())


class LBFGS(Optimizer):
    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_nonnegative(lr, "learning rate")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector ----------------------------------------------
    def _flat_grad(self):
        return cat([p.grad.reshape(-1) if p.grad is not None
                    else zeros(p.numel(), device=p.device) for p in self._params], 0)

    def _add_to_params(self, step, direction):
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(direction[offset:offset + n].reshape(p.shape) * step)
            offset += n

    def _snapshot(self):
        return [p.detach().clone() for p in self._params]

    def _restore(self, values):
        for p, v in zip(self._params, values):
            p.copy_(v)

    def _evaluate_at(self, closure, x, t, d):
        """Loss and flat gradient at x + t * d; the parameters are back at x afterwards."""
        self._add_to_params(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        self._restore(x)
        return loss, flat_grad

    # -- one step -----------------------------------------------------------------------
    def step(self, closure=None):
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that recomputes the loss "
                               "(zero_grad, forward, backward, return loss)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        def evaluate():
            with enable_grad():
                return closure()

        with no_grad():
            orig_loss = evaluate()
            loss = float(orig_loss)
            evals = 1
            state["func_evals"] += 1
            flat_grad = self._flat_grad()
            if _abs_max(flat_grad) <= tol_grad:
                return orig_loss
            d, t = state.get("d"), state.get("t")
            old_dirs, old_stps = state.get("old_dirs", []), state.get("old_stps", [])
            ro, h_diag = state.get("ro", []), state.get("H_diag", 1.0)
            prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * t
                    ys = _dot(y, s)
                    if ys > 1e-10:  # keep the pair only where the curvature is positive
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / _dot(y, y)
                    d = _two_loop(-flat_grad, old_dirs, old_stps, ro, h_diag)
                prev_flat_grad = flat_grad.clone()
                prev_loss = loss
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr
                else:
                    t = lr
                gtd = _dot(flat_grad, d)
                if gtd > -tol_change:  # not a descent direction
                    break

                if group["line_search_fn"] == "strong_wolfe":
                    x_init = self._snapshot()
                    loss, flat_grad, t, ls_evals = strong_wolfe(
                        lambda x, step, direction: self._evaluate_at(evaluate, x, step,
                                                                    direction),
                        x_init, t, d, loss, flat_grad, gtd)
                    self._add_to_params(t, d)
                    opt_cond = _abs_max(flat_grad) <= tol_grad
                else:
                    self._add_to_params(t, d)
                    ls_evals = 0
                    opt_cond = False
                    if n_iter != max_iter:  # the last iteration leaves the loss unevaluated
                        loss = float(evaluate())
                        flat_grad = self._flat_grad()
                        opt_cond = _abs_max(flat_grad) <= tol_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                if n_iter == max_iter or evals >= max_eval or opt_cond:
                    break
                if _abs_max(d) * abs(t) <= tol_change or abs(loss - prev_loss) < tol_change:
                    break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def load_state_dict(self, state_dict):
        # the history holds flat vectors, not parameter-shaped state: load it as is
        saved = state_dict["state"]
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        if saved:
            theirs = next(iter(saved.values()))
            self.state[self._params[0]] = {k: _copy_value(v) for k, v in theirs.items()}


def _two_loop(q, old_dirs, old_stps, ro, h_diag):
    """H @ q for the L-BFGS inverse-Hessian estimate (two-loop recursion)."""
    alphas = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alphas[i] = _dot(old_stps[i], q) * ro[i]
        q = q - old_dirs[i] * alphas[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = _dot(old_dirs[i], r) * ro[i]
        r = r + old_stps[i] * (alphas[i] - beta)
    return r


def _copy_value(v):
    if isinstance(v, list):
        return [_copy_value(x) for x in v]
    if isinstance(v, Tensor):
        return v.detach().clone()
    if type(v).__module__.startswith("torch"):  # from a torch LBFGS's state_dict
        return v.item() if v.dim() == 0 else tensor(v.detach().cpu().tolist())
    return copy.deepcopy(v)
