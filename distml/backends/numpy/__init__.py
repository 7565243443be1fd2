"""The numpy backend (CPython's "cpu" device): NumpyBackend and its thread settings."""
from .blas import get_num_threads, set_num_threads
from .primitives import NumpyBackend, backend

__all__ = ["NumpyBackend", "backend", "get_num_threads", "set_num_threads"]
