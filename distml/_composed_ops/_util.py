"""Small helpers shared by the composed ops."""


def move_to_last(x, dim):
    """x with `dim` moved last, and the permutation that moves it back."""
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    return x.permute(order), inverse


def on_host(x):
    """Whether x's device keeps its data on the host (cheap to read back for a check)."""
    return x.device.backend.host_resident


def free_function(method, name):
    """distml.name(input, ...): Tensor.name as a free function, as torch has both."""
    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"distml.{name}(input, ...): the same as Tensor.{name}."
    return fn
