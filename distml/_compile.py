"""distml.compile: torch.compile's name for a captured step (it captures, it does not
compile). Named after torch.compile because that is what a PyTorch user reaches for to
take Python out of a training step; the mechanism is CUDA Graphs' (tinygrad's TinyJit):

    @distml.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

On the "webgl" device the first two calls run eagerly and are recorded; later calls with
arguments of the same shapes, dtypes and devices replay the recorded draws in the JS helper
with one FFI call (the arguments' textures are rebound, parameters and optimizer state are
updated in their textures, an optimizer's lr and step count are read at each call). A
changed signature, train()/eval(), optimizer hyperparameter or reseeded generator records
again; a step that reads values back (`.item()`) or uploads Python data stays eager.
Replayed calls return detached tensors (backward already ran inside the step); work on
other devices inside a captured step is not replayed, so keep the step on one device.
As with CUDA Graphs, a Python number the step reads from outside (a global, a closure) is
baked in when it is recorded: pass it as an argument (its value is part of the signature).
On the CPU backends compile(fn) just calls fn.
"""
import sys
import weakref

from .autograd import is_grad_enabled
from ._tensor import Tensor

_SCALARS = (int, float, bool, str, bytes, type(None))


def compile(model=None, *, disable=False):  # noqa: A001 - torch.compile's name
    """Wrap a step function (also as a decorator, with or without arguments)."""
    if model is None:
        return lambda fn: compile(fn, disable=disable)
    if not callable(model):
        raise TypeError(f"distml.compile expects a callable, got {type(model).__name__}")
    return model if disable else CapturedFunction(model)


class CapturedFunction:
    """A function whose webgl steps are recorded and replayed (see distml.compile)."""

    def __init__(self, fn):
        self.fn = fn
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self._capture = None
        self._last = None  # (what the last call passed, its signature, its tensors)

    @property
    def reason(self):
        """Why the last call ran eagerly (None when it replayed or no capture is active)."""
        return None if self._capture is None else self._capture.reason

    @property
    def replays(self):
        return 0 if self._capture is None else self._capture.replays

    def __call__(self, *args, **kwargs):
        be = _webgl_backend()
        if be is None:
            return self.fn(*args, **kwargs)
        sig, tensors = self._signature(args, kwargs)
        if self._capture is None:
            from ._graph.capture import Capture
            from ._graph.webgl import WebGLGraph
            self._capture = Capture(be, WebGLGraph)
        return self._capture(self.fn, sig, tensors, args, kwargs)

    def _signature(self, args, kwargs):
        """_signature(args, kwargs), reused when a call passes the very objects of the last
        one (tensors holding the same buffers, shapes and flags; immutable scalars), as a
        training loop's replays mostly do: ~5 us a call less."""
        grad = is_grad_enabled()
        last = self._last
        if last is not None and not kwargs and last[0] == grad and len(args) == len(last[1]) \
                and all(a is ref() for a, ref in zip(args, last[1])):
            tensors = [a for a in args if isinstance(a, Tensor)]
            if all(t._buf is b and t.shape is s and t.dtype is d and t.device is dev
                   and t.requires_grad is rg for t, (b, s, d, dev, rg) in zip(tensors, last[3])):
                return last[2], tensors
        sig, tensors = _signature(args, kwargs)
        self._last = None
        if not kwargs and all(isinstance(a, Tensor) or type(a) in _SCALARS for a in args):
            # tensors weakly (a batch is freed when the loop drops it), scalars as they are
            refs = [weakref.ref(a) if isinstance(a, Tensor) else (lambda a=a: a) for a in args]
            self._last = (grad, refs, sig, [(t._buf, t.shape, t.dtype, t.device,
                                              t.requires_grad) for t in tensors])
        return sig, tensors


def _webgl_backend():
    """The webgl backend if it is already in use (never created here), else None."""
    if sys.platform != "emscripten":
        return None
    mod = sys.modules.get("distml.backends.webgl.lowering")
    return None if mod is None else mod._INSTANCE.get("backend")


def _key(v, tensors):
    """_signature's key of one argument; the tensors met are appended to `tensors`. (A
    function of its own, not a closure: a recursive closure is a reference cycle, which
    kept each call's argument tensors, and so their textures, alive until the garbage
    collector ran.)"""
    if isinstance(v, Tensor):
        b = v._buf
        tensors.append(v)
        st = getattr(b, "storage", None)
        layout = (getattr(b, "strides", None), getattr(b, "offset", None),
                  None if st is None else (st.w, st.h))
        return ("T", str(v.device), tuple(v.shape), v.dtype.name, v.requires_grad, layout)
    if isinstance(v, _SCALARS):
        return (type(v).__name__, v)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_key(x, tensors) for x in v))
    return ("id", id(v))


def _signature(args, kwargs):
    """What must not change between a recording and its replay: tensors' device, shape,
    dtype, layout; Python scalars' values; other objects' identity; grad mode."""
    tensors = []
    sig = (tuple(_key(a, tensors) for a in args),
           tuple((k, _key(v, tensors)) for k, v in sorted(kwargs.items())),
           is_grad_enabled())
    # which tensor arguments share a buffer (step(x, x) must not replay as step(x, y))
    first = {}
    shared = tuple(first.setdefault(id(getattr(t._buf, "storage", t._buf)), k)
                   for k, t in enumerate(tensors))
    return sig + (shared,), tensors
