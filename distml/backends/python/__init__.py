"""The pure-Python backend (the cpu device where numpy is absent, e.g. Pyodide)."""
from .backend import PyBuffer, PythonBackend, backend

__all__ = ["PyBuffer", "PythonBackend", "backend"]
