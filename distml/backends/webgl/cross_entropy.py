"""Cross-entropy over class indices in three draws (glsl/cross_entropy_*.frag) instead of the
~35 of log_softmax + gather + the reductions and their gradients: on SwiftShader a draw's
fixed cost dominates such small ops. A mixin of WebGLBackend; used by F.cross_entropy
(function.fused_cross_entropy) for 2-D float32 logits without class weights or smoothing,
eagerly and in captured steps alike (so both give the same bits)."""
from .resources import GLBuffer

MAX_ROWS = 1 << 13  # the loss kernel sums the rows in one fragment


class CrossEntropyOps:
    def cross_entropy_fits(self, x):
        return len(x.shape) == 2 and x.dtype == "float32" and 0 < x.shape[0] <= MAX_ROWS \
            and x.shape[1] > 0

    def cross_entropy(self, x, target, ignore_index, mean):
        """(loss, saved for the backward): loss a 0-d view of (loss, count)."""
        x, target = self.contiguous(x), self.contiguous(target)
        n, c = x.shape
        lse = self._run("cross_entropy_rows", {}, self._out((n,), "float32"), [x],
                        {"u_off0": x.offset, "u_C": c})
        stats = self._out((2,), "float32")
        self._run("cross_entropy_loss", {"MEAN": 1} if mean else {}, stats, [x, target, lse],
                  {"u_off0": x.offset, "u_off1": target.offset, "u_N": n, "u_C": c,
                   "u_ignore": float(ignore_index)})
        loss = GLBuffer(stats.storage, (), "float32", (), 0)
        return loss, (x, target, lse, stats, float(ignore_index), mean)

    def cross_entropy_backward(self, g, saved):
        x, target, lse, stats, ignore, mean = saved
        return self._run("cross_entropy_grad", {"MEAN": 1} if mean else {},
                         self._out(x.shape, "float32"), [x, target, lse, stats, g],
                         {"u_off0": x.offset, "u_off1": target.offset, "u_off4": g.offset,
                          "u_C": x.shape[1], "u_ignore": ignore})
