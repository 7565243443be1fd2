"""Small hooks for the Tensor mixins that sit below tensor.py and factories.py."""


_FACTORIES = []


def register_factories(module):
    """_tensor/__init__.py hands factories.py down once it is imported: index_put.py (under
    x[rows, cols] = v) builds index tensors with it, but sits below the Tensor class."""
    _FACTORIES[:] = [module]


def factories():
    """distml._tensor.factories (tensor, zeros, ones, ...), for the mixins."""
    return _FACTORIES[0]


def is_host_backend(x):
    """Whether x's data lives on the host (cheap to read back for a validity check)."""
    return x._backend.host_resident
