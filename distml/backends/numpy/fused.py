"""The numpy backend's fused ops: BatchNorm in cache-sized row blocks, and the SGD and
Adam steps: backends/update_rules.py's rules written out op for op with in-place numpy
calls, in cache-sized chunks (1.4x faster than running the rules on chunks, which needs
temporaries and copies; tests hold them bit-equal to the rules)."""
import math

import numpy as np

from .blas import _contiguous, _in_parts


class FusedOps:
    """Mixin of NumpyBackend: batch_norm_train(_backward), sgd_update, adam_update."""

    @staticmethod
    def _channel_layout(x, axes):
        """(n, c, p) when `axes` are all dims but 1 of a float32 array, else None."""
        if x.dtype != np.float32 or x.ndim < 2 or x.size == 0 or \
                tuple(axes) != (0,) + tuple(range(2, x.ndim)):
            return None
        return x.shape[0], x.shape[1], x.size // (x.shape[0] * x.shape[1])

    BN_BLOCK = 1 << 18  # elements in a block of rows: its temporaries stay in the L2 cache

    def _row_blocks(self, n, p, c0, c1):
        """Channels [c0, c1)'s columns of the (n, c*p) layout, its blocks of rows whose
        temporaries stay in the cache, and a scratch block."""
        width = (c1 - c0) * p
        step = max(1, self.BN_BLOCK // max(1, width))
        blocks = [(r, min(n, r + step)) for r in range(0, n, step)]
        return slice(c0 * p, c1 * p), blocks, np.empty((min(step, n), width), dtype=np.float32)

    # BatchNorm is memory-bound: it is laid out as (n, c*p) with per-channel vectors
    # repeated p times (inner loops c*p long: broadcasting over (n, c, p) loops p at a time,
    # slow on a ResNet's 2x2 maps), and walks blocks of rows whose temporaries (squares,
    # products) never leave the cache: forward reads x twice and writes y and x - mean
    # once; backward reads g and x - mean twice and writes the gradient once. Channels are
    # independent, so threads take ranges of them. Statistics are float32 sums, down the
    # batch and then pairwise over positions, as torch's CPU kernel.

    def batch_norm_train(self, x, weight, bias, axes, eps):
        layout = self._channel_layout(x, axes)
        if layout is None:
            return super().batch_norm_train(x, weight, bias, axes, eps)
        n, c, p = layout
        f32 = np.float32
        inv_n = f32(1.0 / (n * p))
        x2 = x.reshape(n, c * p)
        y, centered = np.empty_like(x2), np.empty_like(x2)
        mean, var, invstd = (np.empty(c, dtype=f32) for _ in range(3))
        w = None if weight is None else weight.reshape(c)
        b = None if bias is None else bias.reshape(c)

        def channels(c0, c1):
            (cols, blocks, scratch), k = self._row_blocks(n, p, c0, c1), c1 - c0
            acc = np.zeros(k * p, dtype=f32)
            for r0, r1 in blocks:
                acc += np.add.reduce(x2[r0:r1, cols], axis=0)
            m = np.multiply(acc.reshape(k, p).sum(axis=1), inv_n, out=mean[c0:c1])
            m_p = np.repeat(m, p)
            acc[...] = 0
            for r0, r1 in blocks:
                cen = np.subtract(x2[r0:r1, cols], m_p, out=centered[r0:r1, cols])
                acc += np.add.reduce(np.multiply(cen, cen, out=scratch[:r1 - r0]), axis=0)
            v = np.multiply(acc.reshape(k, p).sum(axis=1), inv_n, out=var[c0:c1])
            inv = np.divide(f32(1), np.sqrt(v + f32(eps)), out=invstd[c0:c1])
            scale_p = np.repeat(inv if w is None else inv * w[c0:c1], p)
            bias_p = None if b is None else np.repeat(b[c0:c1], p)
            for r0, r1 in blocks:
                out = np.multiply(centered[r0:r1, cols], scale_p, out=y[r0:r1, cols])
                if bias_p is not None:
                    out += bias_p
        _in_parts(c, x2.size, channels)
        sshape = (1, c) + (1,) * (x.ndim - 2)
        return (y.reshape(x.shape), centered.reshape(x.shape), mean.reshape(sshape),
                var.reshape(sshape), invstd.reshape(sshape))

    def batch_norm_train_backward(self, g, centered, invstd, weight, axes):
        layout = self._channel_layout(centered, axes)
        if layout is None or g.dtype != np.float32:
            return super().batch_norm_train_backward(g, centered, invstd, weight, axes)
        n, c, p = layout
        f32 = np.float32
        inv_n = f32(1.0 / (n * p))
        g2 = g.reshape(n, c * p)
        xc = centered.reshape(n, c * p)
        inv_all = invstd.reshape(c)
        w = None if weight is None else weight.reshape(c)
        gx = np.empty_like(g2)
        gweight, gbias = np.empty(c, dtype=f32), np.empty(c, dtype=f32)

        def channels(c0, c1):
            (cols, blocks, scratch), k = self._row_blocks(n, p, c0, c1), c1 - c0
            sum_g, sum_gx = np.zeros(k * p, dtype=f32), np.zeros(k * p, dtype=f32)
            for r0, r1 in blocks:
                gb = g2[r0:r1, cols]
                sum_g += np.add.reduce(gb, axis=0)
                sum_gx += np.add.reduce(np.multiply(gb, xc[r0:r1, cols], out=scratch[:r1 - r0]),
                                        axis=0)
            inv = inv_all[c0:c1]
            gbias[c0:c1] = sum_g.reshape(k, p).sum(axis=1)
            gw = np.multiply(sum_gx.reshape(k, p).sum(axis=1), inv, out=gweight[c0:c1])
            # gx = w*inv * ((g - mean(g)) - xhat * mean(g*xhat)), the subtractions first,
            # as torch (they cancel on small batches)
            mean_g = np.repeat(gbias[c0:c1] * inv_n, p)
            proj = np.repeat(inv * (gw * inv_n), p)
            scale = np.repeat(inv if w is None else inv * w[c0:c1], p)
            for r0, r1 in blocks:
                out = np.subtract(g2[r0:r1, cols], mean_g, out=gx[r0:r1, cols])
                out -= np.multiply(xc[r0:r1, cols], proj, out=scratch[:r1 - r0])
                out *= scale
        _in_parts(c, g2.size, channels)
        return gx.reshape(g.shape), gweight.reshape(invstd.shape), gbias.reshape(invstd.shape)

    # elements per pass, the chunks it touches staying in the L2 cache (measured: 1 << 15
    # took 1.2x as long on ResNet-18's 11M parameters, Python's per-chunk calls on two threads)
    SGD_CHUNK = 1 << 17

    def sgd_update(self, p, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                   nesterov, maximize):
        # the composed default's arithmetic, op for op, into fresh arrays (inputs are never
        # written), a cache-sized chunk at a time
        if not self._same_float32(p, grad, momentum_buffer):
            return super().sgd_update(p, grad, momentum_buffer, lr, momentum, dampening,
                                      weight_decay, nesterov, maximize)
        f32 = np.float32
        lr, momentum, dampening, weight_decay = (f32(lr), f32(momentum), f32(1 - dampening),
                                                 f32(weight_decay))
        pf, gf = p.reshape(-1), _contiguous(grad).reshape(-1)  # (Linear's: a transposed view)
        bf = None if momentum_buffer is None else momentum_buffer.reshape(-1)
        npf = np.empty(p.size, dtype=np.float32)
        nbf = np.empty(p.size, dtype=np.float32) if momentum else None

        def elements(e0, e1):  # threads take ranges of elements, a chunk at a time
            for a in range(e0, e1, self.SGD_CHUNK):
                sl = slice(a, min(e1, a + self.SGD_CHUNK))
                pc, g, out = pf[sl], gf[sl], npf[sl]
                if maximize:
                    g = np.negative(g)
                if weight_decay:
                    g = g + pc * weight_decay
                step = g
                if momentum:
                    buf = nbf[sl]
                    if bf is None:
                        buf[...] = g
                    else:
                        np.multiply(bf[sl], momentum, out=buf)
                        buf += g * dampening if dampening != 1 else g
                    step = g + buf * momentum if nesterov else buf
                np.multiply(step, lr, out=out)
                np.subtract(pc, out, out=out)
        _in_parts(pf.size, pf.size, elements, align=16)
        return npf.reshape(p.shape), None if nbf is None else nbf.reshape(p.shape)

    ADAM_CHUNK = 1 << 15  # (its temporaries stay in the L2 cache)

    def adam_update(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                    weight_decay, decoupled, amsgrad, maximize, step):
        # the composed default's arithmetic, op for op, into fresh arrays (inputs are never
        # written), a cache-sized chunk at a time, threads taking ranges of elements
        buffers = (p, grad, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if amsgrad else ())
        if not self._same_float32(*buffers):
            return super().adam_update(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1,
                                       beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                                       step)
        f32 = np.float32
        decay, wd = f32(1 - lr * weight_decay), f32(weight_decay)
        k1, b2, k2 = f32(1 - beta1), f32(beta2), f32(1 - beta2)
        root_c2, k_eps = f32(math.sqrt(1 - beta2 ** step)), f32(eps)
        k_lr = f32(lr / (1 - beta1 ** step))
        ins = [_contiguous(b).reshape(-1) for b in buffers]
        outs = [np.empty(p.shape, dtype=f32) for _ in range(4 if amsgrad else 3)]
        flat = [o.reshape(-1) for o in outs]

        def elements(e0, e1):
            with np.errstate(all="ignore"):
                for a in range(e0, e1, self.ADAM_CHUNK):
                    sl = slice(a, min(e1, a + self.ADAM_CHUNK))
                    pc, g, m0, v0 = (x[sl] for x in ins[:4])
                    if maximize:
                        g = np.negative(g)
                    if weight_decay:
                        if decoupled:
                            pc = pc * decay
                        else:
                            g = g + pc * wd
                    m = np.subtract(g, m0, out=flat[1][sl])
                    m *= k1
                    m += m0
                    v = np.multiply(v0, b2, out=flat[2][sl])
                    v += (g * g) * k2
                    if amsgrad:
                        v = np.maximum(ins[4][sl], v, out=flat[3][sl])
                    denom = np.sqrt(v)
                    denom /= root_c2
                    denom += k_eps
                    update = m / denom
                    update *= k_lr
                    np.subtract(pc, update, out=flat[0][sl])
        _in_parts(p.size, p.size * 3, elements, align=16)
        return outs[0], outs[1], outs[2], outs[3] if amsgrad else None
