"""The "webgl" device: WebGL2 shaders from glsl/, in the browser under Pyodide.

The backend is distml/backends/webgl/. On CPython there is no WebGL, so
`is_available()` is False there, the way `torch.cuda.is_available()` is on a machine
without a GPU, and a script picks its device the same way:

    device = "webgl" if distml.webgl.is_available() else "cpu"

`stats()` gives the device's counters (live and pooled textures, bytes, kernel launches,
FFI calls); `empty_cache()` frees the pooled textures, like torch.cuda.empty_cache().
"""
import sys


def is_available():
    """True only inside a browser (Pyodide) whose WebGL2 context renders float32."""
    if sys.platform != "emscripten":
        return False
    try:
        from . import backends
        backends.get_backend("webgl")
    except Exception:
        return False
    return True


def _backend():
    from . import backends
    return backends.get_backend("webgl")


def stats():
    """Counters of the webgl device: live_textures / live_bytes (owned by tensors),
    pooled_textures (free, kept for reuse), textures_created, draws (kernel launches),
    ffi_calls, compiles, plus the JS helper's own counters under "js"."""
    return _backend().stats()


def empty_cache():
    """Delete the pooled (free) textures; live tensors keep theirs."""
    _backend().empty_pool()
