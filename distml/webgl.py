"""The "webgl" device: WebGL2 shaders from glsl/, in the browser under Pyodide.

The device itself arrives with the browser issue; on CPython there is no WebGL, so
`is_available()` is False there, the way `torch.cuda.is_available()` is on a machine
without a GPU, and a script picks its device the same way:

    device = "webgl" if distml.webgl.is_available() else "cpu"
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
