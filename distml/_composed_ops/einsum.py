"""distml.einsum: composed from permute, reshape, sum and one batched matmul per pair of
operands (left to right), so it has every backend and autograd for free."""
from .._tensor import eye, matmul
from .aliases import promote_types
import math


_ELLIPSIS_LABELS = [chr(0x400 + i) for i in range(32)]  # stand-ins for the dims of "..."


def _parse(equation, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                         "equation" if len(operands) > len(terms) else
                         "einsum(): fewer operands were provided than specified in the "
                         "equation")
    ell_ndim = 0
    labels = []
    for term, op in zip(terms, operands):
        if term.count("...") > 1 or term.replace("...", "").count(".") or \
                not all(c.isalpha() for c in term.replace("...", "")):
            raise RuntimeError(f"einsum(): invalid subscript in {term!r}: use letters and at "
                             "most one '...'")
        n_named = len(term.replace("...", ""))
        if "..." in term:
            k = op.ndim - n_named
            if k < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({n_named}) is more than the number of dimensions "
                                   f"({op.ndim}) for operand")
            ell_ndim = max(ell_ndim, k)
            head, _, tail = term.partition("...")
            labels.append(list(head) + _ELLIPSIS_LABELS[32 - k:] + list(tail))
        else:
            if n_named != op.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({n_named}) does not match the number of dimensions "
                                   f"({op.ndim}) for operand and no ellipsis was given")
            labels.append(list(term))
    ell = _ELLIPSIS_LABELS[32 - ell_ndim:]
    if arrow:
        if rhs.count("...") > 1 or not all(c.isalpha() for c in rhs.replace("...", "")):
            raise RuntimeError(f"einsum(): invalid output subscript {rhs!r}")
        head, dots, tail = rhs.partition("...")
        out = list(head) + (ell if dots else []) + list(tail)
        if not dots and ell_ndim:
            raise RuntimeError("einsum(): output subscript must contain '...' when an "
                               "operand has one")
        seen = [c for ls in labels for c in ls]
        for c in out:
            if c not in seen:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
        if len(set(out)) != len(out):
            raise RuntimeError("einsum(): output subscript appears more than once")
    else:  # implicit output: "..." first, then the labels used once, alphabetically
        counts = {}
        for ls in labels:
            for c in ls:
                counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1 and c not in ell)
    return labels, out


def _take_diagonals(t, labels):
    """'ii->i': a label repeated within one operand keeps only the diagonal."""
    while len(set(labels)) != len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(c)
        j = labels.index(c, i + 1)
        n = t.shape[i]
        diagonal = eye(n, dtype=t.dtype, device=t.device)
        shape = [1] * t.ndim
        shape[i] = shape[j] = n
        t = (t * diagonal.reshape(shape)).sum(j)
        labels = labels[:j] + labels[j + 1:]
    return t, labels


def _sum_out(t, labels, keep):
    dims = [d for d, c in enumerate(labels) if c not in keep]
    if dims:
        t = t.sum(dims)
        labels = [c for c in labels if c in keep]
    return t, labels


def _contract(a, la, b, lb, keep):
    """One batched matmul: batch labels (in both, kept), a-only, contracted, b-only."""
    sizes = {}
    for t, ls in ((a, la), (b, lb)):
        for d, c in enumerate(ls):
            sizes[c] = max(sizes.get(c, 1), t.shape[d])
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    a_only = [c for c in la if c not in lb]
    b_only = [c for c in lb if c not in la]

    def arrange(t, ls, groups):
        order = [ls.index(c) for g in groups for c in g]
        t = t.permute(order) if order else t
        full = [sizes[c] for g in groups for c in g]
        if list(t.shape) != full:
            t = t.expand(full)  # broadcast size-1 dims ("..." or explicit)
        return t.reshape([math.prod(sizes[c] for c in g) for g in groups])

    am = arrange(a, la, [batch, a_only, summed])
    bm = arrange(b, lb, [batch, summed, b_only])
    if am.dtype is not bm.dtype:
        dtype = promote_types(am.dtype, bm.dtype)
        am, bm = am.type(dtype), bm.type(dtype)
    out = matmul(am, bm)
    labels = batch + a_only + b_only
    return out.reshape([sizes[c] for c in labels]), labels


def einsum(equation, *operands):
    """torch.einsum(equation, *operands) (operands may also come as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    labels, out = _parse(equation, operands)
    terms = []
    for t, ls in zip(operands, labels):
        t, ls = _take_diagonals(t, ls)
        terms.append((t, ls))
    t, ls = terms[0]
    for k in range(1, len(terms)):
        keep = set(out) | {c for _, later in terms[k + 1:] for c in later}
        t, ls = _sum_out(t, ls, keep | set(terms[k][1]))
        b, lb = _sum_out(*terms[k], keep | set(ls))
        t, ls = _contract(t, ls, b, lb, keep)
    t, ls = _sum_out(t, ls, set(out))
    if ls != out:
        t = t.permute([ls.index(c) for c in out])
    return t
