"""Small helpers shared by the op mixins of this package (dims, the public namespace)."""


def api():
    """The `distml` package, imported when an op runs: the mixins are bases of Tensor, so
    they cannot import tensor.py's functions at module load (an import circle)."""
    import distml
    return distml


def norm_dim(dim, ndim):
    """A dim in [-ndim, ndim) (a 0-d tensor accepts -1 and 0, as in torch) -> 0..ndim-1."""
    lim = max(ndim, 1)
    if not -lim <= dim < lim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-lim}, {lim - 1}], but got {dim})")
    return dim % lim


def move_to_last(x, dim):
    """x with `dim` moved last, and the permutation that moves it back."""
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    return x.permute(order), inverse


def is_host_backend(x):
    """Whether x's data lives on the host (cheap to read back for a validity check)."""
    return x._backend.name in ("numpy", "python")
