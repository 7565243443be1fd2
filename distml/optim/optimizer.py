import copy
import functools

from ..autograd import no_grad
from .._tensor import Tensor
from ..utils.hooks import add_hook

_GLOBAL_PRE_HOOKS = {}
_GLOBAL_POST_HOOKS = {}


def register_optimizer_step_pre_hook(hook):
    """torch.optim.optimizer's global hook: hook(optimizer, args, kwargs) runs before every
    optimizer's step() and may return new (args, kwargs)."""
    return add_hook(_GLOBAL_PRE_HOOKS, hook)


def register_optimizer_step_post_hook(hook):
    """hook(optimizer, args, kwargs) runs after every optimizer's step()."""
    return add_hook(_GLOBAL_POST_HOOKS, hook)


def _with_hooks(step):
    """step() running the global and the optimizer's own pre and post hooks, as torch's
    does (pre: global first; post: the optimizer's first); a step() that calls a wrapped
    step() of its base class runs them once."""
    @functools.wraps(step)
    def hooked(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        for hook in (*_GLOBAL_PRE_HOOKS.values(), *self._step_pre_hooks.values()):
            changed = hook(self, args, kwargs)
            if changed is not None:
                if not (isinstance(changed, tuple) and len(changed) == 2):
                    raise RuntimeError(f"optimizer step pre hook {hook!r} must return None "
                                       f"or a tuple of (new_args, new_kwargs), but got "
                                       f"{changed!r}")
                args, kwargs = changed
        self._in_step = True
        try:
            result = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in (*self._step_post_hooks.values(), *_GLOBAL_POST_HOOKS.values()):
            hook(self, args, kwargs)
        return result
    return hooked


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: param_groups, per-parameter state, zero_grad, state_dict (torch format)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_hooks(cls.__dict__["step"])

    def __init__(self, params, defaults):
        self._step_pre_hooks = {}
        self._step_post_hooks = {}
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else p.grad * 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.shape != p.shape:
                        raise RuntimeError(f"gradient of shape {list(p.grad.shape)} does not "
                                           f"match its parameter's shape {list(p.shape)}")
                    self._update(p, p.grad, self.state.setdefault(p, {}), group)
        return loss

    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) runs before this optimizer's step(); it may return
        new (args, kwargs)."""
        return add_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) runs after this optimizer's step()."""
        return add_hook(self._step_post_hooks, hook)

    def _update(self, p, grad, state, group):
        raise NotImplementedError

    # a captured step's replay (distml.compile) redoes a fused update's Python side with
    # these: _advance(state) then _hyper(state, group) -> the backend update's keywords
    def _advance(self, state):
        pass

    def _hyper(self, state, group):
        raise NotImplementedError

    # -- state_dict, in torch's layout: params are numbered in group order ------------
    def state_dict(self):
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: (v.detach() if isinstance(v, Tensor) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        by_index = {}
        for mine, theirs in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], theirs["params"]):
                by_index[i] = p
        self.state = {}
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            loaded = {}
            for k, v in st.items():
                if _is_tensor_like(v) and k != "step":
                    t = v if isinstance(v, Tensor) else _to_tensor(v)
                    if t.shape != p.shape:
                        raise ValueError(f"state {k!r} of parameter {i} has shape "
                                         f"{list(t.shape)}, the parameter has {list(p.shape)}")
                    loaded[k] = t.to(p.device)
                elif k == "step":
                    loaded[k] = float(v.item() if hasattr(v, "item") else v)
                else:
                    loaded[k] = copy.deepcopy(v)
            self.state[p] = loaded
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = copy.deepcopy(v)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


Optimizer.step = _with_hooks(Optimizer.step)


def _is_tensor_like(v):
    return isinstance(v, Tensor) or hasattr(v, "shape") and hasattr(v, "dtype")


def _to_tensor(v):
    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    return Tensor(v)
