"""Backend registry: which implementation of the primitive interface serves a device."""
import os

_BACKENDS = {}
_CPU = {"name": None}


def register(device_type, backend_factory):
    """Register a backend for a device type ("cpu" variants: "numpy", "python")."""
    _BACKENDS[device_type] = backend_factory


def _numpy():
    from .numpy_backend import backend
    return backend


def _python():
    from .python_backend import backend
    return backend


def _webgl():
    # importable only under Pyodide (it needs the `js` module); raises when WebGL2 with
    # float32 render targets is unavailable
    import sys
    if sys.platform != "emscripten":
        raise RuntimeError("the 'webgl' device needs a browser with WebGL2 (distml under "
                           "Pyodide); here distml.webgl.is_available() is False: use 'cpu'")
    from .webgl_backend import get_backend
    return get_backend()


register("numpy", _numpy)
register("python", _python)
register("webgl", _webgl)


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
    """Choose what serves the "cpu" device: "numpy" or "python" (pure Python)."""
    if name not in ("numpy", "python"):
        raise ValueError(f"unknown cpu backend {name!r}: expected 'numpy' or 'python'")
    if name == "numpy" and not numpy_available():
        raise RuntimeError("the numpy cpu backend needs numpy, which is not importable")
    _CPU["name"] = name


def get_backend(device_type):
    key = cpu_backend_name() if device_type == "cpu" else device_type
    if key not in _BACKENDS:
        others = ", ".join(k for k in _BACKENDS if k not in ("numpy", "python"))
        raise RuntimeError(f"no backend for device type {device_type!r}; known: cpu, {others}")
    return _BACKENDS[key]()

# torch.backends' flag modules (plain modules: settable attributes, no compute code)
from . import cuda, cudnn, mps  # noqa: E402,F401
