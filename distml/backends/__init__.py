"""Backend registry: which implementation of the primitive interface serves a device.

`register(name, factory)` makes a device type: `distml.ones(2, device=name)` then runs on
`factory()` (a `distml.backends.base.Backend`, built on first use). The "cpu" device is
served by one of the backends registered with `cpu=True` ("numpy" or "python" here),
chosen with `set_cpu_backend`.
"""
import os

_BACKENDS = {}
_CPU_VARIANTS = set()
_CPU = {"name": None}


def register(name, backend_factory, cpu=False):
    """Register `backend_factory` for device type `name` (or, with cpu=True, as a variant
    of the "cpu" device: see set_cpu_backend). It is called on each use and should return
    one shared `Backend` instance."""
    if name == "cpu" or ":" in name:
        raise ValueError(f"invalid backend name {name!r}")
    _BACKENDS[name] = backend_factory
    (_CPU_VARIANTS.add if cpu else _CPU_VARIANTS.discard)(name)


def unregister(name):
    """Forget a registered backend (tests use it to remove a device they added)."""
    _BACKENDS.pop(name, None)
    _CPU_VARIANTS.discard(name)
    if _CPU["name"] == name:
        _CPU["name"] = None


def device_types():
    """The device types a `distml.device` may name: "cpu" and every non-cpu backend."""
    return ("cpu",) + tuple(n for n in _BACKENDS if n not in _CPU_VARIANTS)


def cpu_backends():
    """Names of the backends that can serve the "cpu" device."""
    return tuple(n for n in _BACKENDS if n in _CPU_VARIANTS)


def _numpy():
    from .numpy import backend
    return backend


def _python():
    from .python import backend
    return backend


def _webgl():
    # importable only under Pyodide (it needs the `js` module); raises when WebGL2 with
    # float32 render targets is unavailable
    import sys
    if sys.platform != "emscripten":
        raise RuntimeError("the 'webgl' device needs a browser with WebGL2 (distml under "
                           "Pyodide); here distml.webgl.is_available() is False: use 'cpu'")
    from .webgl import get_backend
    return get_backend()


def numpy_available():
    if os.environ.get("DISTML_NO_NUMPY"):
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_backend_name():
    if _CPU["name"] is None:
        wanted = os.environ.get("DISTML_CPU_BACKEND")
        _CPU["name"] = wanted or ("numpy" if numpy_available() else "python")
    return _CPU["name"]


def set_cpu_backend(name):
    """Choose what serves the "cpu" device: "numpy" or "python" (pure Python), or another
    backend registered with cpu=True."""
    if name not in _CPU_VARIANTS:
        known = " or ".join(repr(n) for n in cpu_backends())
        raise ValueError(f"unknown cpu backend {name!r}: expected {known}")
    if name == "numpy" and not numpy_available():
        raise RuntimeError("the numpy cpu backend needs numpy, which is not importable")
    _CPU["name"] = name


def get_backend(device_type):
    key = cpu_backend_name() if device_type == "cpu" else device_type
    if key not in _BACKENDS:
        others = ", ".join(device_types())
        raise RuntimeError(f"no backend for device type {device_type!r}; known: {others}")
    return _BACKENDS[key]()


register("numpy", _numpy, cpu=True)
register("python", _python, cpu=True)
register("webgl", _webgl)
# torch.backends' flag modules (plain modules: settable attributes, no compute code)
from . import cuda, cudnn, mps  # noqa: E402,F401
