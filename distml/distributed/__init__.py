"""Data-parallel training across browsers and processes.

`codec` (binary frames), `strategy` (aggregation rules, pure functions), `experiment` (the
one-file experiment the server and the workers share) and `worker` (the worker, with a
small transport adapter: CPython's over `websockets`, later the browser's). The server
side (transport and orchestration) lives in the repository's `server/` package.
"""
import importlib

from .process_group import (  # noqa: F401 (torch.distributed's names, see the module)
    all_reduce, barrier, broadcast, destroy_process_group, get_rank, get_world_size,
    init_process_group, is_available, is_initialized)

__all__ = ["codec", "strategy", "experiment", "worker"]


def __getattr__(name):
    # loaded on first use: `strategy` needs numpy (server side), a worker in the
    # browser does not
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
