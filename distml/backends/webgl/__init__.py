"""The WebGL2 backend (the "webgl" device, in the browser under Pyodide)."""
from .lowering import GLBuffer, WebGLBackend, WebGLError, get_backend

__all__ = ["GLBuffer", "WebGLBackend", "WebGLError", "get_backend"]
