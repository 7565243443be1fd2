"""Small helpers shared by the op mixins of this package (dims, the public namespace)."""


_API = []


def register_api(namespace):
    """The top floor (distml/__init__.py) hands its namespace down once it is built: the
    mixins are bases of Tensor, so they cannot import the functions above them."""
    _API[:] = [namespace]


def api():
    """distml's public namespace (where, arange, int64, ...), for the op mixins."""
    return _API[0]


def move_to_last(x, dim):
    """x with `dim` moved last, and the permutation that moves it back."""
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    return x.permute(order), inverse


def is_host_backend(x):
    """Whether x's data lives on the host (cheap to read back for a validity check)."""
    return x._backend.host_resident


def free_function(method, name):
    """distml.name(input, ...): Tensor.name as a free function, as torch has both."""
    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"distml.{name}(input, ...): the same as Tensor.{name}."
    return fn
