"""A backend that implements only Backend's abstract primitives: the proof that a new
backend is one file plus `register`. Everything else (bytes, arange, random, conv2d and
its gradients, pooling, cat, batch norm, the optimizer steps) comes from the composed defaults
in distml/backends/base.py and composed.py.

To stay short it keeps its data in the pure-Python backend's buffers (flat `array.array`
plus shape) and answers each primitive with that backend's primitive of the same name;
it inherits nothing else from it.
"""
from distml.backends import register, unregister
from distml.backends.base import Backend
from distml.backends.python import PythonBackend

_lists = PythonBackend()


class MinimalBackend(Backend):
    name = "minimal"
    host_resident = True

    def shape(self, buf):
        return _lists.shape(buf)

    def dtype(self, buf):
        return _lists.dtype(buf)

    def from_list(self, flat, shape, dtype):
        return _lists.from_list(flat, shape, dtype)

    def to_list(self, buf):
        return _lists.to_list(buf)

    def full(self, shape, value, dtype):
        return _lists.full(shape, value, dtype)

    def cast(self, x, dtype):
        return _lists.cast(x, dtype)

    def unary(self, op, x):
        return _lists.unary(op, x)

    def binary(self, op, x, y):
        return _lists.binary(op, x, y)

    def where(self, cond, x, y):
        return _lists.where(cond, x, y)

    def reduce(self, op, x, axes, keepdim):
        return _lists.reduce(op, x, axes, keepdim)

    def argreduce(self, op, x, axis, keepdim):
        return _lists.argreduce(op, x, axis, keepdim)

    def reshape(self, x, shape):
        return _lists.reshape(x, shape)

    def permute(self, x, order):
        return _lists.permute(x, order)

    def expand(self, x, shape):
        return _lists.expand(x, shape)

    def slice(self, x, starts, stops, steps):
        return _lists.slice(x, starts, stops, steps)

    def slice_assign(self, x, starts, stops, steps, src):
        return _lists.slice_assign(x, starts, stops, steps, src)

    def gather(self, x, axis, index):
        return _lists.gather(x, axis, index)

    def scatter_add(self, x, axis, index, src):
        return _lists.scatter_add(x, axis, index, src)

    def matmul(self, a, b):
        return _lists.matmul(a, b)


backend = MinimalBackend()


def install(name="minimal", cpu=True):
    """Register the minimal backend as `name` (a cpu variant, or its own device type)."""
    register(name, lambda: backend, cpu=cpu)


def uninstall(name="minimal"):
    unregister(name)
