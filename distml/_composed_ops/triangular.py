"""tril/triu, diag, diagonal, trace: index masks from arange compared elementwise, so
every backend computes them with no read-back."""
from .._tensor import arange, cat, eye, tensor, zeros
from ..dtypes import int64
from .._tensor.shapes import _normalize_dim


def _band_mask(x, diagonal, lower):
    """bool (rows, cols) mask of the last two dims: col - row <= diagonal (lower) or >=."""
    rows, cols = x.shape[-2], x.shape[-1]
    offset = arange(cols, device=x.device).reshape(1, cols) - \
        arange(rows, device=x.device).reshape(rows, 1)
    return offset <= diagonal if lower else offset >= diagonal


def _tri(x, diagonal, lower):
    if x.ndim < 2:
        name = "tril" if lower else "triu"
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return x.masked_fill(~_band_mask(x, diagonal, lower), 0)


class TriangularOps:

    def tril(self, diagonal=0):
        return _tri(self, diagonal, True)

    def triu(self, diagonal=0):
        return _tri(self, diagonal, False)

    def tril_(self, diagonal=0):
        return self._assign(self.tril(diagonal))

    def triu_(self, diagonal=0):
        return self._assign(self.triu(diagonal))

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The (offset) diagonal of dims dim1, dim2, as a new last dim (torch.diagonal)."""
        a, b = _normalize_dim(dim1, self.ndim), _normalize_dim(dim2, self.ndim)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        rest = [k for k in range(self.ndim) if k not in (a, b)]
        t = self.permute(rest + [a, b])
        rows, cols = t.shape[-2], t.shape[-1]
        start_r, start_c = (0, offset) if offset >= 0 else (-offset, 0)
        n = max(0, min(rows - start_r, cols - start_c))
        idx = (arange(n, device=self.device) + start_r) * cols + \
            arange(n, device=self.device) + start_c
        return t.reshape(tuple(t.shape[:-2]) + (rows * cols,)).index_select(-1, idx)

    def diag(self, diagonal=0):
        """1-D -> a square matrix with it on the `diagonal`-th diagonal; 2-D -> that
        diagonal of the matrix."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError("diag(): Supports 1D or 2D tensors. Got "
                               f"{self.ndim}D")
        n, k = self.shape[0], abs(diagonal)
        square = self.unsqueeze(1) * eye(n, dtype=self.dtype, device=self.device)
        if k == 0:
            return square
        zeros_cols = zeros(n, k, dtype=self.dtype, device=self.device)
        zeros_rows = zeros(k, n + k, dtype=self.dtype, device=self.device)
        if diagonal > 0:  # above the main diagonal: zero columns left, zero rows below
            return cat([cat([zeros_cols, square], 1), zeros_rows], 0)
        return cat([zeros_rows, cat([square, zeros_cols], 1)], 0)

    def diag_embed(self, offset=0):
        if offset != 0:
            raise NotImplementedError("diag_embed(): only offset=0 is supported")
        n = self.shape[-1]
        return self.unsqueeze(-1) * eye(n, dtype=self.dtype, device=self.device)

    def trace(self):
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                               f"{self.ndim}")
        return self.diagonal().sum()


def tril_indices(row, col, offset=0, dtype=None, device=None):
    return _tri_indices(row, col, offset, True, dtype, device)


def triu_indices(row, col, offset=0, dtype=None, device=None):
    return _tri_indices(row, col, offset, False, dtype, device)


def _tri_indices(row, col, offset, lower, dtype, device):
    pairs = [(i, j) for i in range(row) for j in range(col)
             if (j - i <= offset if lower else j - i >= offset)]
    return tensor([[p[0] for p in pairs], [p[1] for p in pairs]],
                    dtype=dtype or int64, device=device).reshape(2, len(pairs))


FREE = ("tril", "triu", "diagonal", "diag", "diag_embed", "trace")
