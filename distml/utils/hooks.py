"""torch.utils.hooks: the handle that register_*_hook returns."""
import itertools


class RemovableHandle:
    """Returned by register_*_hook; remove() unregisters the hook (also as a context
    manager)."""
    _next_id = itertools.count()

    def __init__(self, hooks_dict):
        self._hooks = hooks_dict
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks, hook):
    """Put hook into the dict `hooks` (a register_*_hook's table) under a new handle's id;
    returns the handle that removes it."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle
