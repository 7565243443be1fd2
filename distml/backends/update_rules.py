"""The optimizer updates, each written once: torch.optim's SGD and Adam/AdamW arithmetic,
op for op, over values that have + - * / and the three functions of `ops` (neg, sqrt,
maximum). Backends differ only in what the values are: the composed default in `base.py`
runs a rule on backend buffers, numpy on float32 array chunks, webgl on `Expression`s
(GLSL source) that become one draw. Every op rounds to float32 in each of them, so the
order written here fixes the result bit for bit.

`constants(kind, hyper)` turns an optimizer's hyperparameters into the named float
constants a rule reads (a captured step recomputes them per replay, so a scheduled lr
needs no new program); the rule's other arguments are flags that shape it."""
import math
from types import SimpleNamespace


def constants(kind, hyper):
    """{name: float} read by `sgd` ("sgd") or `adam` ("adam"), in a fixed order."""
    wd = float(hyper["weight_decay"])
    if kind == "sgd":
        return {"weight_decay": wd, "momentum": float(hyper["momentum"]),
                "damp": 1.0 - hyper["dampening"], "lr": float(hyper["lr"])}
    lr, beta1, beta2, step = (hyper[k] for k in ("lr", "beta1", "beta2", "step"))
    return {"weight_decay": wd, "decay": 1.0 - lr * wd, "k1": 1.0 - beta1,
            "beta2": float(beta2), "k2": 1.0 - beta2, "root_c2": math.sqrt(1 - beta2 ** step),
            "eps": float(hyper["eps"]), "k_lr": lr / (1 - beta1 ** step)}


def sgd(ops, k, p, grad, buf, *, momentum, nesterov, maximize, weight_decay):
    """torch.optim.SGD for one parameter: (new p, new momentum buffer or None). `buf` is
    None on the first step (the buffer starts as the gradient); `momentum` and
    `weight_decay` say whether those terms exist (their values are in k)."""
    if maximize:
        grad = ops.neg(grad)
    if weight_decay:
        grad = grad + p * k["weight_decay"]
    if not momentum:
        return p - grad * k["lr"], None
    buf = grad if buf is None else buf * k["momentum"] + grad * k["damp"]
    step = grad + buf * k["momentum"] if nesterov else buf
    return p - step * k["lr"], buf


def adam(ops, k, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, weight_decay, decoupled,
         amsgrad, maximize):
    """torch.optim.Adam (AdamW's decay when `decoupled`) for one parameter: (new p, new
    exp_avg, new exp_avg_sq, new max_exp_avg_sq or None)."""
    if maximize:
        grad = ops.neg(grad)
    if weight_decay and decoupled:
        p = p * k["decay"]
    elif weight_decay:
        grad = grad + p * k["weight_decay"]
    exp_avg = exp_avg + (grad - exp_avg) * k["k1"]
    exp_avg_sq = exp_avg_sq * k["beta2"] + (grad * grad) * k["k2"]
    v = exp_avg_sq
    if amsgrad:
        v = max_exp_avg_sq = ops.maximum(max_exp_avg_sq, exp_avg_sq)
    denom = ops.sqrt(v) / k["root_c2"] + k["eps"]
    return (p - (exp_avg / denom) * k["k_lr"], exp_avg, exp_avg_sq,
            max_exp_avg_sq if amsgrad else None)


class Operators:
    """Python's + - * / as `self._binary(op, other)` (op "add", "sub", "mul", "div"): a
    value a rule runs on subclasses this and says what one binary op makes."""

    __slots__ = ()

    def __add__(self, other):
        return self._binary("add", other)

    def __sub__(self, other):
        return self._binary("sub", other)

    def __mul__(self, other):
        return self._binary("mul", other)

    def __truediv__(self, other):
        return self._binary("div", other)


class Expression(Operators):
    """A rule's value as the source text of a C-like expression, for a backend that
    generates one kernel from a rule: binary ops print infix, and `functions(call)` gives
    the `ops` that print calls (call: "f_{}" prints sqrt(x) as f_sqrt(x))."""

    __slots__ = ("src",)
    _SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}

    def __init__(self, src):
        self.src = src

    def _binary(self, op, other):
        return Expression(f"({self.src} {self._SYMBOL[op]} {other.src})")

    @staticmethod
    def functions(call):
        def fn(name):
            return lambda *xs: Expression(f"{call.format(name)}({', '.join(x.src for x in xs)})")
        return SimpleNamespace(neg=lambda x: Expression(f"(-{x.src})"), sqrt=fn("sqrt"),
                               maximum=fn("maximum"))
