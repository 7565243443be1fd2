"""The numpy backend (CPython's "cpu" device): NumpyBackend and its thread settings."""
from .primitives import NumpyBackend, backend, get_num_threads, set_num_threads

__all__ = ["NumpyBackend", "backend", "get_num_threads", "set_num_threads"]
