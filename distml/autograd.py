"""The autograd core: grad mode, the Function base class and the backward pass.

A Function runs forward on backend buffers, remembers what backward needs, and is
attached to the Tensor it produced (`tensor._ctx`). `backward()` walks those links in
reverse topological order, micrograd-style, and accumulates `.grad` on leaves.

This floor sits below the Tensor (distml/_tensor/) and never imports it: a Function
builds its result through the input tensor (`first._wrap(...)`), and Tensor.backward
turns a gradient given as data into a tensor before calling `backward` here.
"""
import threading

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "enabled", True)


def set_grad_enabled_flag(mode):
    _state.enabled = bool(mode)


class set_grad_enabled:
    """Context manager and decorator, as torch.set_grad_enabled."""

    def __init__(self, mode):
        self.prev = is_grad_enabled()
        self.mode = bool(mode)
        set_grad_enabled_flag(self.mode)

    def __enter__(self):
        set_grad_enabled_flag(self.mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled_flag(self.prev)
        return False


class _GradMode:
    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        set_grad_enabled_flag(self.mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled_flag(self.prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class Function:
    """One differentiable op. Subclasses define forward(*buffers, **kw) -> buffer and
    backward(grad_buffer) -> tuple of buffers (None where no gradient is needed).

    `edges` are fixed when the op runs: for each input, the Function that produced it, or
    the input itself if it is a leaf. An in-place op later rebinds the tensor object to a
    new Function, but graphs built before it keep pointing at the old one (as in torch).
    """

    def __init__(self, backend, parents):
        self.be = backend
        self.parents = parents
        self.needs_input_grad = tuple(p.requires_grad for p in parents)
        self.edges = tuple((p._ctx if p._ctx is not None else p) if p.requires_grad else None
                           for p in parents)
        self.retained = None  # weakref to the output tensor if it called retain_grad()
        self.freed = False

    @classmethod
    def apply(cls, *tensors, **kwargs):
        check_same_device(tensors)
        first = tensors[0]
        ctx = cls(first._backend, tensors)
        out_buf = ctx.forward(*[t._buf for t in tensors], **kwargs)
        requires_grad = is_grad_enabled() and any(ctx.needs_input_grad)
        # a transfer (Function "To") sets out_device and out_backend; every other op stays
        out = first._wrap(out_buf, getattr(ctx, "out_backend", first._backend),
                          getattr(ctx, "out_device", first.device), requires_grad)
        if requires_grad:
            ctx.parents = None  # the edges are the graph; don't keep input tensors alive
            out._ctx = ctx
        return out

    def forward(self, *bufs, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def release(self):
        """Drop what forward saved (the graph is then freed, as torch after backward)."""
        for name in list(vars(self)):
            if name not in ("be", "edges", "needs_input_grad", "retained", "freed"):
                delattr(self, name)
        self.freed = True


def check_same_device(tensors):
    first = tensors[0].device
    for t in tensors[1:]:
        if t.device != first:
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, {first} and {t.device}!")


def _topological_order(root):
    """Nodes (Functions and leaf tensors) from the root down, each after all its users."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in (node.edges if isinstance(node, Function) else ()):
            if child is not None and id(child) not in seen:
                stack.append((child, False))
    return reversed(order)


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from root; grad is None (root a scalar) or a tensor of root's shape."""
    if not root.requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn")
    if grad is None:
        if root.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs, "
                               f"but the output has shape {tuple(root.shape)}")
        grad_buf = root._backend.full(tuple(root.shape), 1.0, "float32")
    else:
        if tuple(grad.shape) != tuple(root.shape):
            raise RuntimeError(f"grad has shape {tuple(grad.shape)} but the output has "
                               f"shape {tuple(root.shape)}")
        grad_buf = grad._buf
    start = root._ctx if root._ctx is not None else root
    grads = {id(start): grad_buf}
    with no_grad():
        for node in _topological_order(start):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not isinstance(node, Function):
                node._accumulate_grad(g)  # a leaf
                continue
            kept = node.retained() if node.retained is not None else None
            if kept is not None:
                kept._accumulate_grad(g)
            if node.freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access "
                    "saved tensors after they have already been freed). Saved intermediate "
                    "values of the graph are freed when you call .backward(). Specify "
                    "retain_graph=True if you need to backward through the graph a second time.")
            in_grads = node.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for child, cg in zip(node.edges, in_grads):
                if child is None or cg is None:
                    continue
                key = id(child)
                grads[key] = cg if key not in grads else node.be.binary("add", grads[key], cg)
            if not retain_graph:
                node.release()
