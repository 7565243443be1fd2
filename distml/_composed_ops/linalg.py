"""Matrix products with torch's argument checks: mm, bmm, mv, dot, outer, addmm, baddbmm,
addmv. All are matmul (one backend primitive) plus elementwise ops."""
from .._tensor import Tensor, matmul


def _check_ndim(t, ndim, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        kind = {1: "a 1D tensor", 2: "a matrix", 3: "a 3D tensor"}[ndim]
        raise RuntimeError(f"{what} must be {kind}, got a {t.ndim}D tensor")


def _scaled_sum(input, product, beta, alpha):
    """beta * input + alpha * product; beta == 0 ignores input (nan and inf too), as torch."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return (input if beta == 1 else input * beta) + product


class LinalgOps:

    def mm(self, mat2):
        _check_ndim(self, 2, "self")
        _check_ndim(mat2, 2, "mat2")
        return matmul(self, mat2)

    def bmm(self, mat2):
        _check_ndim(self, 3, "batch1")
        _check_ndim(mat2, 3, "batch2")
        b, _, k = self.shape
        if tuple(mat2.shape[:2]) != (b, k):
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to "
                               f"be: [{b}, {k}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
        return matmul(self, mat2)

    def spmm(self, mat2):
        """torch.spmm with dense operands (distml has no sparse tensors): mm."""
        return self.mm(mat2)

    def mv(self, vec):
        _check_ndim(self, 2, "self")
        _check_ndim(vec, 1, "vec")
        return matmul(self, vec)

    def dot(self, other):
        _check_ndim(self, 1, "self")
        _check_ndim(other, 1, "other")
        if self.shape != other.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] "
                               f"and src [{other.shape[0]}] to have the same number of "
                               "elements, but got {0} and {1} elements respectively"
                               .format(self.shape[0], other.shape[0]))
        if self.dtype is not other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{self.dtype} and {other.dtype}")
        return (self * other).sum()

    def outer(self, vec2):
        _check_ndim(self, 1, "self")
        _check_ndim(vec2, 1, "vec2")
        return self.unsqueeze(1) * vec2.unsqueeze(0)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _scaled_sum(self, mat1.mm(mat2), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _scaled_sum(self, batch1.bmm(batch2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _scaled_sum(self, mat.mv(vec), beta, alpha)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return self._assign(self.addmm(mat1, mat2, beta=beta, alpha=alpha))

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._assign(self.baddbmm(batch1, batch2, beta=beta, alpha=alpha))


FREE = ("mm", "spmm", "bmm", "mv", "dot", "outer", "ger", "addmm", "baddbmm", "addmv")
