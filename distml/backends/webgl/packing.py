"""The WebGL backend's packed products: matmul and conv as pack, matmul_packed and unpack
(glsl/pack.frag, matmul_packed.frag), im2col packing, and pooling. A mixin of
WebGLBackend (lowering.py)."""
from distml.backends.base import as_pair as _pair
from distml.backends.base import collapse, conv_geometry, pool_output_size, useful_taps
from distml.backends.base import promote_names as _promote

from .resources import GLBuffer, _numel

# smaller matmuls run in one draw (glsl/matmul.frag), not two to four (packs, the packed
# product, its unpack): SwiftShader's cost is its texel fetches (~5-15 ns each) and, in a
# captured step's chain of dependent draws, ~70 us a draw; the one-draw kernel wins while
# it needs fewer than 16k fetches (bench/browser_profile.py)
_ONE_DRAW_MAX_FETCHES = 1 << 14


class _Panel:
    """A rows x cols matrix packed for matmul_packed (glsl/pack.frag): an RGBA32F texture
    holding 4 consecutive columns per texel, `k4` texels per row, rows in bands of `h`
    (row r, texel j sits at ((r // h) * k4 + j, r % h)) so that tall matrices fit.
    A product computed 4 rows per fragment comes in 4 `parts` of `part_rows` rows each."""

    __slots__ = ("parts", "rows", "cols", "k4", "h", "part_rows")

    def __init__(self, parts, rows, cols, k4, h, part_rows=None):
        self.parts = parts
        self.rows = rows
        self.cols = cols
        self.k4 = k4
        self.h = h
        self.part_rows = rows if part_rows is None else part_rows


class _Direct:
    """A matmul operand read in place (no pack draw): row r's texel k4 (4 consecutive k) is
    texel q0 + r * step + k4 of the storage's flat layout (DIRECT); with `nat` the storage
    holds B itself, row-major: texel q0 + k * step + n4 holds columns 4 n4 .. + 3 of row k
    (NAT)."""

    __slots__ = ("parts", "rows", "k4", "h", "q0", "step", "nat")

    def __init__(self, storage, rows, k4, q0, step, nat=False):
        self.parts = [storage]
        self.rows = self.h = rows
        self.k4 = k4
        self.q0 = q0
        self.step = step
        self.nat = nat


def _panel_layout(rows, k4, max_size):
    """(width, height, rows per band) of a panel, or None when it cannot fit."""
    bands = -(-rows // max_size)
    h = -(-rows // bands)
    return None if bands * k4 > max_size else (bands * k4, h, h)


def _texel_aligned(u):
    """Whether every 4 outputs of unpack MODE 0 (from flat index 4t) are one texel of C: the
    last out dim walks C's columns one by one in runs of a multiple of 4 starting at columns
    that are multiples of 4."""
    shape, rs, cs = u["u_oshape"], u["u_rs"], u["u_cs"]
    return (shape[3] % 4 == 0 and rs[3] == 0 and cs[3] == 1
            and all(c % 4 == 0 for n, c in zip(shape[:3], cs[:3]) if n > 1))


def _quad(offset, dims):
    """Whether an operand's texels start on multiples of 4: offset and the strides of the
    dims (size, stride) that vary are multiples of 4."""
    return offset % 4 == 0 and all(st % 4 == 0 for n, st in dims if n > 1)


def _one_draw_matmul(a, ast, b, bst, nb, M, N, K):
    """(defines of glsl/matmul.frag, texel fetches it makes) for A (nb, M, K) and B
    (nb, K, N) read through their strides ([batch, row, col] each)."""
    ak4 = K % 4 == 0 and ast[2] == 1 and _quad(a.offset, ((nb, ast[0]), (M, ast[1])))
    if N % 4 == 0 and bst[2] == 1 and _quad(b.offset, ((nb, bst[0]), (K, bst[1]))):
        return ({"BN4": 1, "AK4": 1} if ak4 else {"BN4": 1}), \
            nb * M * N // 4 * K * (5 if ak4 else 8) // 4
    if ak4 and bst[1] == 1 and _quad(b.offset, ((nb, bst[0]), (N, bst[2]))):
        return {"K4": 1}, nb * M * N * K // 2
    return {}, nb * M * N * K * 2


def _dims3(shape, strides):
    """A view's dims as exactly 3 (shape, strides) entries, merged or padded in front."""
    shp, (st,) = collapse(shape, [strides])
    if len(shp) > 3:
        raise ValueError("more than 3 non-mergeable dims")
    pad = 3 - len(shp)
    return [1] * pad + shp, [0] * pad + st


class PackedOps:
    """matmul, conv2d and its gradients, max/avg pooling of a WebGLBackend."""

    # function.Matmul: a transposed operand's gradient is computed transposed, so that a
    # Linear's weight gradient is contiguous and the optimizer's update reads whole texels
    grad_in_operand_layout = True
    packed_fast_paths = True  # pack.frag ALIGNED, unpack.frag WHOLE (False: tests compare)
    direct_operands = True  # matmul_packed reads aligned operands in place (_Direct)
    mrt_rows = 8  # rows of C per matmul_packed fragment (render targets), 4 or 8

    # -- linear algebra and nn ---------------------------------------------------------------
    def _batched(self, x, nbatch):
        """(x, [batch stride, row stride, col stride]) with the batch dims merged into one."""
        bshape = x.shape[:nbatch]
        shp, (st,) = collapse(bshape, [x.strides[:nbatch]])
        if len(shp) > 1:
            x = self.contiguous(x)
            shp, (st,) = collapse(bshape, [x.strides[:nbatch]])
        bst = st[0] if st else 0
        return x, [bst, x.strides[-2], x.strides[-1]]

    # -- packed matmul: every big matmul and conv is pack, matmul_packed, unpack ------------
    def _pack(self, x, rows, cols, k0, defines, uniforms):
        """A _Panel of columns k0 .. k0 + cols of the matrix that pack.frag reads from x."""
        k4 = -(-cols // 4)
        w, h, band = _panel_layout(rows, k4, self.max_size)
        st = self._texture(w, h)
        uniforms.update({"u_off0": x.offset, "u_R": rows, "u_K": cols, "u_K4": k4,
                         "u_H": band, "u_k0": k0})
        if band < rows:
            defines = dict(defines, BANDS=1)
        self._draw("pack", defines, st, [x.storage], uniforms)
        return _Panel([st], rows, cols, k4, band)

    def _packed_product(self, a_source, b_source, batch, M, N, K):
        """C = A @ B as a _Panel with rows (batch, M) and N columns. `a_source(k0, k)` and
        `b_source(k0, k)` pack columns k0 .. k0 + k of A (rows batch * M) and of B^T (rows
        batch * N); K is split into passes when a panel would not fit a texture."""
        n4 = -(-N // 4)
        rows = batch * M
        # 4 or 8 rows per fragment (one per render target) when there is one batch
        parts = 4 if batch == 1 and rows >= 16 else 1
        if parts == 4 and rows >= 32 and self.mrt_rows == 8 \
                and self.info.get("maxDrawBuffers", 4) >= 8:  # WebGL2 promises only 4
            parts = 8
        part_rows = -(-rows // parts)
        out_layout = _panel_layout(part_rows, n4, self.max_size)
        bands = max(-(-rows // self.max_size), -(-batch * N // self.max_size))
        chunk = 4 * (self.max_size // bands)
        if out_layout is None or chunk < 4:
            return None
        w, h, band = out_layout
        defines = {"MRT": 1} if parts > 1 else {}
        if parts == 8:
            defines["RB8"] = 1
        if batch > 1:
            defines["BATCHED"] = 1
        if band < part_rows:
            defines["OBANDS"] = 1
        acc = None
        for k0 in range(0, K, chunk):
            k = min(chunk, K - k0)
            pa, pb = a_source(k0, k), b_source(k0, k)
            if pa.h < pa.rows:
                defines["ABANDS"] = 1
            if pb.h < pb.rows:
                defines["BBANDS"] = 1
            out = [self._texture(w, h) for _ in range(parts)]
            u = {"u_M": M, "u_N": N, "u_R": rows, "u_N4": n4, "u_H": band,
                 "u_K4": pa.k4, "u_HA": pa.h, "u_HB": pb.h, "u_Mq": part_rows}
            d = dict(defines)
            for name, op in (("A", pa), ("B", pb)):
                if isinstance(op, _Direct):
                    d[name + ("NAT" if op.nat else "DIRECT")] = 1
                    u.update({f"u_q{name.lower()}": op.q0, f"u_s{name.lower()}": op.step})
            inputs = pa.parts + pb.parts + (acc or [])
            self._draw("matmul_packed", dict(d, ACC=1) if acc else d, out, inputs, u)
            acc = out
        return _Panel(acc, rows, N, n4, band, part_rows)

    def _unpack(self, c, shape, mode, uniforms, whole=False):
        out = self._out(shape, "float32")
        uniforms.update({"u_N4": c.k4, "u_HC": c.h, "u_n": _numel(shape), "u_Mq": c.part_rows})
        defines = {"MODE": mode, "WHOLE": 1} if whole else {"MODE": mode}
        if mode == 0 and not whole and self.packed_fast_paths and _texel_aligned(uniforms):
            defines["TEXEL"] = 1
        if mode == 1 and uniforms["u_sh"] == uniforms["u_sw"] == 1:
            defines["STRIDE1"] = 1
        if len(c.parts) > 1:
            defines[f"MRT{len(c.parts)}"] = 1
        if c.h < c.part_rows:
            defines["BANDS"] = 1
        self._draw("unpack", defines, out.storage, c.parts, uniforms)
        return out

    def _strided_pack(self, x, row_dims, col_dims, b_operand=False):
        """pack_source(k0, k) of the matrix with rows over x's dims `row_dims` and columns
        over `col_dims` (dims as indices into x.shape); `b_operand`: it is B^T, which may
        be read in B's own layout (_Direct nat)."""
        rshape, rst = _dims3([x.shape[d] for d in row_dims], [x.strides[d] for d in row_dims])
        kshape, kst = _dims3([x.shape[d] for d in col_dims], [x.strides[d] for d in col_dims])
        rows = _numel(rshape)
        # rows start 4-aligned and k is contiguous: a texel of the panel is one of x
        aligned = self.packed_fast_paths and kshape[:2] == [1, 1] and kst[2] == 1 \
            and x.offset % 4 == 0 and all(s % 4 == 0 for n, s in zip(rshape, rst) if n > 1)
        # a transposed contiguous matrix: the 4 k of a texel sit in one component of 4
        trans = self.packed_fast_paths and rshape[:2] == [1, 1] and rst[2] == 1 \
            and kshape[:2] == [1, 1] and kst[2] % 4 == 0 and x.offset % 4 == 0

        # one row stride: the matmul reads x where it is (_Direct), no pack draw
        direct = self.packed_fast_paths and self.direct_operands and rshape[:2] == [1, 1]
        if direct and aligned:
            return lambda k0, k: (_Direct(x.storage, rows, k // 4, (x.offset + k0) // 4,
                                          rst[2] // 4) if k0 % 4 == 0 and k % 4 == 0
                                  else source(k0, k))
        if direct and trans and b_operand and rows % 4 == 0 and _numel(kshape) % 4 == 0:
            return lambda k0, k: _Direct(x.storage, rows, k // 4,
                                         (x.offset + k0 * kst[2]) // 4, kst[2] // 4, nat=True)

        def source(k0, k):
            defines = {"MODE": 0}
            if aligned and k0 % 4 == 0 and k % 4 == 0:
                defines["ALIGNED"] = 1
            elif trans:
                defines["TALIGNED"] = 1
            return self._pack(x, rows, k, k0, defines, {
                "u_rshape": rshape, "u_rst": rst, "u_kshape": kshape, "u_kst": kst})
        return source

    def _im2col_pack(self, x, u, transposed):
        """pack_source(k0, k) of x's im2col matrix: rows (n, oh, ow) and columns (c, kh, kw),
        or the transpose."""
        rows = (u["u_C"] * u["u_KH"] * u["u_KW"] if transposed
                else u["u_N"] * u["u_OH"] * u["u_OW"])
        defines = {"MODE": 1, "TRANS": 1} if transposed else {"MODE": 1}
        uniforms = {k: v for k, v in u.items() if k not in ("u_H", "u_W")}
        uniforms.update({"u_IH": u["u_H"], "u_IW": u["u_W"], "u_st0": list(x.strides)})
        return lambda k0, k: self._pack(x, rows, k, k0, defines, dict(uniforms))

    def matmul(self, a, b):
        *batch, M, K = a.shape
        *batch_b, K2, N = b.shape
        if K != K2 or tuple(batch) != tuple(batch_b):
            raise ValueError(f"matmul shapes {a.shape} @ {b.shape}")
        dt = a.dtype if a.dtype == b.dtype else _promote(a.dtype, b.dtype)
        shape = tuple(batch) + (M, N)
        if K == 0:
            return self.full(shape, 0, dt)
        a, ast = self._batched(a, len(batch))
        b, bst = self._batched(b, len(batch))
        nb = _numel(batch)
        # (without the fast paths, or for integers: the general kernel, 2 fetches a term)
        one_draw, fetches = _one_draw_matmul(a, ast, b, bst, nb, M, N, K) \
            if self.packed_fast_paths and dt == "float32" else ({}, 2 * nb * M * N * K)
        if dt == "float32" and fetches >= _ONE_DRAW_MAX_FETCHES:
            # rows (batch, m) of A and (batch, n) of B^T, as 3-dim views
            av = GLBuffer(a.storage, (nb, M, K), dt, ast, a.offset)
            bv = GLBuffer(b.storage, (nb, N, K), dt, (bst[0], bst[2], bst[1]), b.offset)
            b_source = self._strided_pack(bv, (0, 1), (2,), N % 4 == 0)
            c = self._packed_product(self._strided_pack(av, (0, 1), (2,)), b_source, nb, M, N, K)
            if c is not None:
                return self._unpack(c, shape, 0, {"u_oshape": [1, 1, nb * M, N],
                                                   "u_rs": [0, 0, 1, 0], "u_cs": [0, 0, 0, 1]},
                                    whole=self.packed_fast_paths and N % 4 == 0)
        out = self._out(shape, dt)
        uniforms = {"u_M": M, "u_N": N, "u_K": K, "u_off0": a.offset, "u_st0": ast,
                    "u_off1": b.offset, "u_st1": bst}
        return self._run("matmul", one_draw, out, [a, b], uniforms)

    @staticmethod
    def _conv_uniforms(x_shape, w_shape, stride, padding, dilation, groups):
        N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW = conv_geometry(
            x_shape, w_shape, stride, padding, dilation, groups)
        return {"u_N": N, "u_C": C, "u_H": H, "u_W": W, "u_O": CO, "u_KH": KH, "u_KW": KW,
                "u_OH": max(OH, 0), "u_OW": max(OW, 0), "u_sh": sh, "u_sw": sw, "u_ph": ph,
                "u_pw": pw, "u_dh": dh, "u_dw": dw}

    @staticmethod
    def _conv_packed(u, groups, ins):
        """Whether a conv runs as packed matmuls (im2col / col2im around matmul_packed);
        else (grouped, empty) it is Backend's default composed from the primitives."""
        return (groups == 1 and all(_numel(b.shape) for b in ins)
                and u["u_OH"] > 0 and u["u_OW"] > 0)

    def conv2d(self, x, w, stride, padding, dilation, groups):
        crop = useful_taps(x.shape, w.shape[2:], stride, padding, dilation)
        if crop is not None:  # skip the taps that only see padding (a view of w)
            return self.conv2d(x, self._cropped_kernel(w, crop), stride, crop[2], dilation,
                               groups)
        u = self._conv_uniforms(x.shape, w.shape, stride, padding, dilation, groups)
        shape = (u["u_N"], u["u_O"], u["u_OH"], u["u_OW"])
        if self._conv_packed(u, groups, (x, w)):
            # out[(n, oh, ow), o] = im2col(x) @ w.reshape(O, -1).T
            rows, K = u["u_N"] * u["u_OH"] * u["u_OW"], u["u_C"] * u["u_KH"] * u["u_KW"]
            ohw = u["u_OH"] * u["u_OW"]
            im2col, wmat = self._im2col_pack(x, u, False), self._strided_pack(w, (0,), (1, 2, 3))
            if self.packed_fast_paths and ohw % 4 == 0 and u["u_O"] >= 16:
                # out^T[o, (n, oh, ow)] = w.reshape(O, -1) @ im2col(x)^T (the same sums): four
                # neighbouring outputs are then one texel of the product, which unpack copies
                c = self._packed_product(wmat, im2col, 1, u["u_O"], rows, K)
                if c is not None:
                    return self._unpack(c, shape, 0, {"u_oshape": list(shape),
                                                      "u_rs": [0, 1, 0, 0],
                                                      "u_cs": [ohw, 0, u["u_OW"], 1]})
            c = self._packed_product(im2col, wmat, 1, rows, u["u_O"], K)
            if c is not None:
                return self._unpack(c, shape, 0, {"u_oshape": list(shape),
                                                  "u_rs": [ohw, 0, u["u_OW"], 1],
                                                  "u_cs": [0, 1, 0, 0]})
        return super().conv2d(x, w, stride, padding, dilation, groups)  # composed

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        crop = useful_taps(tuple(x_shape), w.shape[2:], stride, padding, dilation)
        if crop is not None:  # the taps that only see padding contribute nothing
            return self.conv2d_grad_input(gy, self._cropped_kernel(w, crop), x_shape, stride,
                                          crop[2], dilation, groups)
        u = self._conv_uniforms(tuple(x_shape), w.shape, stride, padding, dilation, groups)
        if self._conv_packed(u, groups, (gy, w)):
            # cols[(n, oh, ow), (c, kh, kw)] = gy as rows (n, oh, ow) @ w.reshape(O, -1);
            # then col2im sums each input pixel's taps
            rows, K = u["u_N"] * u["u_OH"] * u["u_OW"], u["u_C"] * u["u_KH"] * u["u_KW"]
            c = self._packed_product(self._strided_pack(gy, (0, 2, 3), (1,)),
                                     self._strided_pack(w, (1, 2, 3), (0,), True), 1, rows, K,
                                     u["u_O"])
            if c is not None:
                uniforms = {k: v for k, v in u.items() if k not in ("u_H", "u_W", "u_N")}
                uniforms.update({"u_IH": u["u_H"], "u_IW": u["u_W"]})
                return self._unpack(c, tuple(x_shape), 1, uniforms)
        return super().conv2d_grad_input(gy, w, x_shape, stride, padding, dilation, groups)

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        # (no cropping of taps that only see padding here: writing the cropped gradient
        # into a zero kernel through the strided-assign shader measured slower, 351 ms
        # against 219 for layer4's 512x512x3x3 on 1x1 maps, than the full packed product,
        # whose im2col holds zeros for those taps)
        u = self._conv_uniforms(x.shape, tuple(w_shape), stride, padding, dilation, groups)
        if self._conv_packed(u, groups, (x, gy)):
            # gw[o, (c, kh, kw)] = gy as rows o, columns (n, oh, ow) @ im2col(x)
            K, cols = u["u_N"] * u["u_OH"] * u["u_OW"], u["u_C"] * u["u_KH"] * u["u_KW"]
            c = self._packed_product(self._strided_pack(gy, (1,), (0, 2, 3)),
                                     self._im2col_pack(x, u, True), 1, u["u_O"], cols, K)
            if c is not None:
                # gw is the product itself, (O, C * KH * KW) contiguous
                return self._unpack(c, tuple(w_shape), 0, {
                    "u_oshape": [1, 1, u["u_O"], cols], "u_rs": [0, 0, 1, 0],
                    "u_cs": [0, 0, 0, 1]}, whole=self.packed_fast_paths and cols % 4 == 0)
        return super().conv2d_grad_weight(x, gy, w_shape, stride, padding, dilation, groups)

    def _planes(self, x):
        return self.contiguous(x)

    @staticmethod
    def _pool_uniforms(x_shape, kernel, stride, padding, dilation, ceil_mode):
        (KH, KW), (sh, sw), (ph, pw), (dh, dw) = (_pair(v) for v in (kernel, stride, padding,
                                                                       dilation))
        H, W = x_shape[-2:]
        return {"u_H": H, "u_W": W, "u_OH": pool_output_size(H, KH, sh, ph, dh, ceil_mode),
                "u_OW": pool_output_size(W, KW, sw, pw, dw, ceil_mode), "u_KH": KH,
                "u_KW": KW, "u_sh": sh, "u_sw": sw, "u_ph": ph, "u_pw": pw, "u_dh": dh,
                "u_dw": dw}

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        u = self._pool_uniforms(x.shape, kernel, stride, padding, dilation, ceil_mode)
        shape = tuple(x.shape[:-2]) + (u["u_OH"], u["u_OW"])
        x = self._planes(x)
        vals = self._run("pool", {"MODE": 0}, self._out(shape, "float32"), [x], dict(u))
        idx = self._run("pool", {"MODE": 1}, self._out(shape, "int64"), [x], dict(u))
        idx.pool_meta = u  # lets max_pool2d_grad visit only the windows that cover a pixel
        return vals, idx

    def max_pool2d_grad(self, gy, indices, x_shape):
        *lead, H, W = x_shape
        OH, OW = gy.shape[-2:]
        u = dict(indices.pool_meta or {})
        u.update({"u_H": H, "u_W": W, "u_OH": OH, "u_OW": OW,
                  "u_anywin": 0 if indices.pool_meta else 1})
        out = self._out(tuple(x_shape), "float32")
        return self._run("pool", {"MODE": 4}, out, [self._planes(gy), self._planes(indices)], u)

    def _avg_uniforms(self, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        u = self._pool_uniforms(x_shape, kernel, stride, padding, 1, ceil_mode)
        u["u_cip"] = 1 if count_include_pad else 0
        return x_shape[:-2], u
    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        lead, u = self._avg_uniforms(x.shape, kernel, stride, padding, ceil_mode,
                                     count_include_pad)
        out = self._out(tuple(lead) + (u["u_OH"], u["u_OW"]), "float32")
        return self._run("pool", {"MODE": 2}, out, [self._planes(x)], u)

    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        lead, u = self._avg_uniforms(tuple(x_shape), kernel, stride, padding, ceil_mode,
                                     count_include_pad)
        out = self._out(tuple(x_shape), "float32")
        return self._run("pool", {"MODE": 3}, out, [self._planes(gy)], u)
