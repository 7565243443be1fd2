"""index_put / index_add / scatter / index_fill / index_copy and their in-place forms,
composed from scatter_add, gather and where (x[rows, cols] = v itself is the core's)."""
from .._tensor import Tensor, full, ones, where, zeros
from .._tensor.index_put import index_put
from ..dtypes import bool_, int64


class IndexPutOps:

    def index_put(self, indices, values, accumulate=False):
        return index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        return self._assign(index_put(self, indices, values, accumulate))

    def index_add(self, dim, index, source, *, alpha=1):
        dim = dim % max(self.ndim, 1)
        moved = self.movedim(dim, 0)
        src = source.movedim(dim, 0) if source.ndim else source
        out = index_put(moved, (index,), src * alpha if alpha != 1 else src, accumulate=True)
        return out.movedim(0, dim) if isinstance(out, Tensor) else out

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._assign(self.index_add(dim, index, source, alpha=alpha))

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """torch.scatter: self with src (or a number) written at index along dim; where
        several entries write to one place the result is unspecified, as in torch."""
        if reduce is not None:
            if reduce != "add":
                raise NotImplementedError(f"scatter(reduce={reduce!r}) is not implemented")
        if src is None:
            src = value
        if not isinstance(src, Tensor):
            src = full(tuple(index.shape), src, dtype=self.dtype, device=self.device)
        src = src[tuple(slice(0, n) for n in index.shape)] if src.shape != index.shape \
            else src
        src = src.type(self.dtype)
        if reduce == "add":
            return self.scatter_add(dim, index, src)
        work = self.long() if self.dtype is bool_ else self
        hits = zeros(tuple(self.shape), dtype=int64, device=self.device).scatter_add(
            dim, index, ones(tuple(index.shape), dtype=int64, device=self.device)) > 0
        placed = zeros(tuple(self.shape), dtype=work.dtype, device=self.device).scatter_add(
            dim, index, src.type(work.dtype))
        return where(hits, placed, work).type(self.dtype)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._assign(self.scatter(dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim, index, src):
        return self._assign(self.scatter_add(dim, index, src))

    def index_fill(self, dim, index, value):
        moved = self.movedim(dim, 0)
        return index_put(moved, (index,), value).movedim(0, dim)

    def index_fill_(self, dim, index, value):
        return self._assign(self.index_fill(dim, index, value))

    def index_copy(self, dim, index, source):
        moved = self.movedim(dim, 0)
        return index_put(moved, (index,), source.movedim(dim, 0)).movedim(0, dim)

    def index_copy_(self, dim, index, source):
        return self._assign(self.index_copy(dim, index, source))


FREE = ("index_put", "index_add", "index_fill", "index_copy", "scatter")
