"""distml: deep learning with PyTorch's API, in CPython and in the browser (WebGL)."""
from . import backends
from ._compile import compile  # noqa: A004  (torch.compile: a captured step)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .device import device, get_default_device, set_default_device
from .dtypes import bool_ as bool  # noqa: A001  (torch.bool)
from .dtypes import bfloat16, dtype, float16, float32, float64, get_dtype, int64
from .random import Generator, default_generator
from .serialization import load, save
from .random import manual_seed as _manual_seed
from ._tensor import (
    Size, Tensor, arange, as_tensor, broadcast_shapes, cat, concat, empty, empty_like, eye,
    from_numpy, full, full_like, is_tensor, linspace, matmul, ones, ones_like, rand,
    rand_like, randint, randn, randn_like, randperm, stack, tensor, where, zeros, zeros_like,
)
from ._composed_ops import FREE_FUNCTIONS  # also attaches the composed methods to Tensor

float = float32  # noqa: A001
long = int64
double = float64
half = float16
globals().update(FREE_FUNCTIONS)

__version__ = "0.1.0"


def manual_seed(seed):
    """Seed the default generator (the same numbers on every device for a given seed)."""
    return _manual_seed(seed)


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def set_num_threads(n):
    """Threads the "cpu" device uses inside one op (torch.set_num_threads). The numpy
    backend splits big ops into a part per thread and runs BLAS single-threaded in each
    part, so this also sets numpy's OpenBLAS to one thread, process-wide. The default is
    OpenBLAS's own count (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else every core), or
    DISTML_NUM_THREADS. No effect on the pure-Python backend or in the browser."""
    import builtins  # `bool` here is distml.bool
    if isinstance(n, builtins.bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: the number of threads must be positive, got {n}")
    if backends.numpy_available():
        from .backends import numpy as numpy_backend
        numpy_backend.set_num_threads(n)


def get_num_threads():
    """Threads the "cpu" device uses inside one op (1 without numpy)."""
    if backends.numpy_available():
        from .backends import numpy as numpy_backend
        return numpy_backend.get_num_threads()
    return 1


def set_cpu_backend(name):
    """Pick what serves "cpu": "numpy" (default when importable) or "python"."""
    backends.set_cpu_backend(name)


def __getattr__(name):
    # submodules load on first use, so `import distml` stays light in the browser
    import importlib
    if name in ("accelerator", "cuda", "distributions", "amp", "onnx"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("nn", "optim", "utils", "models", "webgl", "datasets", "serialization"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'distml' has no attribute {name!r}")

