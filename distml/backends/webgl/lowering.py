"""WebGL2 backend: the "webgl" device, in the browser under Pyodide.

Every op is a GLSL ES 3.00 fragment shader from `glsl/` (read with importlib.resources as
`distml/glsl/*`; glsl/README.md gives the kernels and the texture layout), specialised by
`#define`s that Python prepends, compiled once per variant and cached. The JS helper
beside this file (`webgl_helper.js`) owns the GL context on an OffscreenCanvas (it works
in a Web Worker) and holds programs and textures by integer handle, so an op is one FFI
call: all op logic stays here. A buffer is a `GLBuffer`, a strided view of a float32
RGBA texture: reshape of contiguous buffers, permute, expand, basic slices and `full` are
views, no shader runs.

dtypes: int64 and bool are stored as float32 too, so int64 values are exact only in
[-2**24, 2**24]; bool is 0.0 / 1.0. Integer division or modulo by zero does not raise
here (it cannot be detected without a read-back). Values cross to Python only in
`to_list` / `to_bytes`. A lost context or a kernel that fails to compile raises
`WebGLError` (naming the kernel, with the GLSL log), and the backend then refuses every
further op instead of computing on garbage.
"""
import math
import re
from array import array

from distml import random as _rnd
from distml.backends.base import BINARY_OPS, COMPARISON_OPS, FLOAT_UNARY_OPS, UNARY_OPS
from distml.backends.base import Backend, collapse, reduced_shapes
from distml.backends.base import broadcast_shape as _broadcast_shape
from distml.backends.base import broadcast_strides
from distml.backends.base import contiguous_strides as _contig
from distml.backends.base import promote_names as _promote
from distml.backends import update_rules
from distml.backends.hostvalues import array_to_bytes, array_to_list, check_count, typed_array

from .cross_entropy import CrossEntropyOps
from .packing import PackedOps
from .resources import GLBuffer, GPUResources, WebGLError, _Constant, _numel


def _check_dtype(dtype):
    if dtype not in ("float32", "int64", "bool"):
        raise TypeError(f"the webgl device has no {dtype} tensors (WebGL2 computes in float32); "
                        f"keep {dtype} tensors on the cpu device")

# every op of unary / binary is the function of glsl/elementwise.frag named after it,
# f_<op>; these binary ops have an int64 variant i_<op> (exact integer pow, mod, max, min)
_INT_VARIANT = ("pow", "mod", "maximum", "minimum")
_REDUCE_MODE = {"sum": 0, "prod": 1, "max": 2, "min": 3, "argmax": 4, "argmin": 5}
_CHUNK = 1024  # reductions longer than this run in two (or more) passes
_CHUNK_MIN = 64


def _as_dtype(expr, dtype):
    """The GLSL expression with its value stored as `dtype` (bool: 0.0 or 1.0)."""
    return f"f_bool({expr} != 0.0)" if dtype == "bool" else expr


def _is_contiguous(buf):
    shp, (st,) = collapse(buf.shape, [buf.strides])
    return not shp or (len(shp) == 1 and st[0] == 1)


class WebGLBackend(GPUResources, PackedOps, CrossEntropyOps, Backend):
    """The primitives lowered to GLSL kernels (elementwise, reductions, movement,
    indexing) and the fused BatchNorm and optimizer steps."""
    name = "webgl"

    # -- buffers and transfer ----------------------------------------------------------------
    def shape(self, buf):
        return buf.shape

    def dtype(self, buf):
        return buf.dtype

    def _upload(self, values, shape, dtype):
        """values: array('f') of numel(shape)."""
        self._check()
        out = self._out(shape, dtype)
        if len(values):
            if self.recording is not None:
                self.recording.refuse("it uploads values from Python")
            data = self._js.Float32Array.new(len(values))
            data.assign(values)
            self._call("upload", self._gl.upload, out.storage.handle, data)
        return out

    def from_list(self, flat, shape, dtype):
        _check_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        values = typed_array(flat, dtype)
        check_count("from_list", len(values), shape)
        return self._upload(values if dtype == "float32" else array("f", values), shape, dtype)

    def _download(self, buf):
        """array('f') of the buffer's values, row-major."""
        self._check()
        n = _numel(buf.shape)
        if n == 0:
            return array("f")
        if not _is_contiguous(buf):
            buf = self.contiguous(buf)
        if self.recording is not None:
            self.recording.refuse("it reads values back to Python (.item(), .tolist())")
        data = self._call("download", self._gl.download, buf.storage.handle, buf.offset + n)
        out = array("f")
        out.frombytes(data.to_bytes())
        return out[buf.offset:] if buf.offset else out

    def _host_values(self, buf):
        """The buffer's values as an array of its dtype (converted from the float32 read)."""
        values = self._download(buf)
        return values if buf.dtype == "float32" else typed_array(values, buf.dtype)

    def to_list(self, buf):
        return array_to_list(self._host_values(buf), buf.dtype)

    def to_bytes(self, buf):
        return array_to_bytes(self._host_values(buf))

    # -- elementwise machinery ---------------------------------------------------------------
    def _map(self, expr, inputs, out_shape, dtype, consts=None, more=()):
        """out[i] = expr(a, b, c, d) over inputs broadcast to out_shape; expr may read the
        float uniforms u_k = consts (4, or 8). With `more` expressions: (out, out1, ...),
        each written in the same pass (render targets 1, 2)."""
        self._check()
        out_shape = tuple(out_shape)
        more = tuple(more)
        # constants (a Python number, full()) are read as uniforms u_c[j], not textures
        values = [b.storage.uniform if type(b.storage) is _Constant else None for b in inputs]
        folded = tuple(k for k, v in enumerate(values) if v is not None)
        if folded:
            inputs = [b for b, v in zip(inputs, values) if v is None]
            values = [values[k] for k in folded]
        key = (expr, out_shape, more, -1 if consts is None else len(consts), folded,
               tuple((b.shape, b.strides, b.offset) for b in inputs))
        hit = self._map_cache.get(key)
        if hit is None:
            if len(self._map_cache) > 4096:  # a bound for programs that vary their shapes
                self._map_cache.clear()
            if folded:
                names, j = [], 0
                for k in range(len(inputs) + len(folded)):
                    names.append(f"u_c[{j}]" if k in folded else "abcde"[k - j])
                    j += k in folded
                expr = rename_inputs(expr, names)
                more = tuple(rename_inputs(e, names) for e in more)
            hit = self._map_cache[key] = self._map_program(expr, inputs, out_shape, consts,
                                                           more, len(folded))
        prog, uniforms = hit
        uniforms = dict(uniforms)  # _run adds per-draw values, a recording keeps the dict
        if consts is not None:
            uniforms["u_k"] = u_k(consts)
        if folded:
            uniforms["u_c"] = values
        out = self._out(out_shape, dtype)
        if more:
            out = (out,) + tuple(self._out(out_shape, dtype) for _ in more)
        return self._run("elementwise", prog, out, inputs, uniforms)

    def _map_program(self, expr, inputs, out_shape, consts, more, n_uniform_inputs):
        """(program, uniforms but u_k) of _map's draw: they depend only on the geometry,
        and an eager loop makes the same ops again and again, so _map keeps them."""
        strides = [broadcast_strides(b.shape, b.strides, out_shape) for b in inputs]
        shp, sts = collapse(out_shape, strides + [list(_contig(out_shape))])
        sts = sts[:-1]
        if not shp:
            shp, sts = [1], [[0] for _ in inputs]
        uniforms = {"u_shape": shp}
        for k, (b, st) in enumerate(zip(inputs, sts)):
            uniforms[f"u_off{k}"] = b.offset
            uniforms[f"u_st{k}"] = st
        args = "(" + ",".join("abcde"[:max(len(inputs), 3)]) + ")"
        defines = {"RANK": len(shp), "NIN": len(inputs), "OP" + args: expr}
        if consts is not None and len(consts) > 4:
            defines["KN"] = 8
        if n_uniform_inputs:
            defines["NC"] = n_uniform_inputs
        if more:
            defines["MRT"] = 1
            defines.update((f"OP{k + 1}{args}", e) for k, e in enumerate(more))
        # a texel's 4 outputs differ only in the innermost index when its size is a
        # multiple of 4: then each input loads them with one fetch (contiguous, aligned)
        # or one element (stride 0)
        if shp[-1] % 4 == 0:
            modes = [1 if st[-1] == 1 and b.offset % 4 == 0 and all(s % 4 == 0 for s in st[:-1])
                     else 2 if st[-1] == 0 else 0 for b, st in zip(inputs, sts)]
            if all(modes):
                defines["VEC"] = 1
                defines.update((f"VEC{k}", m) for k, m in enumerate(modes))
        return self._program("elementwise", **defines), uniforms

    def contiguous(self, x):
        """A contiguous copy of a view (x itself when it already is)."""
        if _is_contiguous(x) and x.offset == 0:
            return x
        return self._map("a", [x], x.shape, x.dtype)

    # -- creation ----------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        _check_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        v = float(typed_array([value], dtype)[0])  # as the dtype converts it, stored as float
        if _numel(shape) == 0:
            return GLBuffer(None, shape, dtype)
        return GLBuffer(_Constant(self, v), shape, dtype, (0,) * len(shape), 0)

    def arange(self, start, stop, step, dtype):
        if step == 0:
            raise ValueError("arange: step must be nonzero")
        n = max(0, math.ceil((stop - start) / step))
        out = self._out((n,), dtype)
        return self._run("arange", {}, out, [], {"u_start": float(start), "u_step": float(step)})

    def random(self, shape, kind, seed, offset):
        shape = tuple(int(s) for s in shape)
        if kind not in ("uniform", "normal"):
            raise ValueError(f"unknown random kind {kind!r}")
        out = self._out(shape, "float32")
        uniforms = {"u_offset": offset & _rnd.MASK, "u_k0": _rnd.stream_key(seed, 0),
                    "u_k1": _rnd.stream_key(seed, 1)}
        rec, n = self.recording, len(self.recording.ops) if self.recording else 0
        self._run("random", {"MODE": 0 if kind == "uniform" else 1}, out, [], uniforms)
        if rec is not None:
            rec.tag_last("u_offset", ("rng", seed, offset), n)
        return out

    def cast(self, x, dtype):
        _check_dtype(dtype)
        if x.dtype == dtype:
            return x
        if dtype == "bool":
            return self._map("f_bool(a != 0.0)", [x], x.shape, dtype)
        if dtype == "int64" and x.dtype == "float32":
            return self._map("f_trunc(a)", [x], x.shape, dtype)
        # bool -> int64/float32, int64 -> float32: same stored values
        return GLBuffer(x.storage, x.shape, dtype, x.strides, x.offset)

    # -- elementwise -------------------------------------------------------------------------
    def unary(self, op, x):
        if op not in UNARY_OPS:
            raise ValueError(f"unknown unary op {op!r}")
        if op == "logical_not":
            return self._map("f_logical_not(a)", [x], x.shape, "bool")
        if op in FLOAT_UNARY_OPS or x.dtype == "float32":
            dt = "float32"
        else:
            dt = x.dtype
            if op in ("floor", "ceil", "round"):
                return x
        return self._map(_as_dtype(f"f_{op}(a)", dt), [x], x.shape, dt)

    def binary(self, op, x, y):
        if op not in BINARY_OPS:
            raise ValueError(f"unknown binary op {op!r}")
        out_shape = _broadcast_shape(x.shape, y.shape)
        if op in COMPARISON_OPS:
            return self._map(f"f_{op}(a, b)", [x, y], out_shape, "bool")
        dt = _promote(x.dtype, y.dtype)
        if dt == "float32" or op == "div":
            return self._map(f"f_{op}(a, b)", [x, y], out_shape, "float32")
        fn = ("i_" if op in _INT_VARIANT else "f_") + op
        return self._map(_as_dtype(f"{fn}(a, b)", dt), [x, y], out_shape, dt)

    def where(self, cond, x, y):
        out_shape = _broadcast_shape(cond.shape, x.shape, y.shape)
        dt = x.dtype if x.dtype == y.dtype else _promote(x.dtype, y.dtype)
        return self._map("(a != 0.0 ? b : c)", [cond, x, y], out_shape, dt)

    # -- reductions --------------------------------------------------------------------------
    def _reduce(self, mode, x, axes, out_dtype, chunked, y=None):
        """(M,) or (M, nchunks) buffer: reduce x (sum: x * y when y is given, y with x's
        strides) over `axes` (kept dims row-major)."""
        def collapsed(dims):  # (shape, strides) of x over dims, collapsed, at least 1-D
            shp, (st,) = collapse([x.shape[d] for d in dims], [[x.strides[d] for d in dims]])
            return shp or [1], st or [0]
        kept = [d for d in range(len(x.shape)) if d not in axes]
        kshp, kst = collapsed(kept)
        rshp, rst = collapsed(axes)
        R = _numel([x.shape[d] for d in axes])
        M = _numel([x.shape[d] for d in kept])
        # about sqrt(R) chunks of sqrt(R): enough fragments to keep every core busy, and
        # short serial sums (the partial sums are reduced by a second pass)
        chunk = min(max(math.isqrt(R), _CHUNK_MIN), _CHUNK) if chunked else R
        defines = {"KRANK": len(kshp), "RRANK": len(rshp), "MODE": mode}
        inputs = [x]
        if y is not None:
            defines["PROD2"] = 1
            inputs.append(y)
        if mode == 0 and rst[-1] == 1 and rshp[-1] % 4 == 0 \
                and all(b.offset % 4 == 0 for b in inputs) \
                and all(s % 4 == 0 for s in kst + rst[:-1]):
            defines["VEC4"] = 1
            chunk = -(-chunk // 4) * 4
        if R <= 2 * chunk:
            chunk = max(R, 1)
        nchunks = -(-R // chunk) if R else 1
        out = self._out((M, nchunks), out_dtype)
        uniforms = {"u_off0": x.offset, "u_kshape": kshp, "u_kst": kst, "u_rshape": rshp,
                    "u_rst": rst, "u_R": R, "u_chunk": chunk, "u_nchunks": nchunks,
                    "u_off1": y.offset if y is not None else 0}
        return self._run("reduce", defines, out, inputs, uniforms)

    def reduce(self, op, x, axes, keepdim):
        axes = tuple(sorted(set(axes)))
        if not axes:
            return x
        if op not in ("sum", "prod", "max", "min"):
            raise ValueError(f"unknown reduce op {op!r}")
        kept_shape, out_shape = reduced_shapes(x.shape, axes, keepdim)
        R = _numel([x.shape[d] for d in axes])
        dt = "int64" if x.dtype == "bool" and op in ("sum", "prod") else x.dtype
        if R == 0 and op in ("max", "min"):
            raise ValueError(f"reduce {op} over an empty dimension")
        if R == 0 or _numel(kept_shape) == 0:  # an empty result or sum/prod over nothing
            return self.full(out_shape, 1 if op == "prod" else 0, dt)
        return GLBuffer(self._reduced(_REDUCE_MODE[op], x, axes, dt).storage, out_shape, dt)

    def _reduced(self, mode, x, axes, dt, y=None):
        """(M, 1): the passes of _reduce until one chunk is left."""
        part = self._reduce(mode, x, axes, dt, True, y)
        while part.shape[1] > 1:
            part = self._reduce(mode, part, (1,), dt, True)
        return part

    def _sum_of_products(self, x, y, axes):
        """sum(x * y) over axes, keepdim, without the product in memory (x and y have the
        same shape; y is copied when its strides differ)."""
        if y.strides != x.strides:
            y = self.contiguous(y)
            x = self.contiguous(x)
        out_shape = reduced_shapes(x.shape, axes, True)[1]
        return GLBuffer(self._reduced(0, x, axes, "float32", y).storage, out_shape, "float32")

    # -- Backend's elementwise helpers in one pass (its batch norm default uses them) ------
    def _mul_add(self, x, y, z):
        shape = _broadcast_shape(x.shape, y.shape, z.shape)
        return self._map("(a * b + c)", [x, y, z], shape, "float32")

    def _mul3(self, x, y, z):
        shape = _broadcast_shape(x.shape, y.shape, z.shape)
        return self._map("(a * b * c)", [x, y, z], shape, "float32")

    # -- optimizer steps: one draw per parameter instead of the composed default's ~10 ----
    def optimizer_step(self, kind, hyper, buffers, **flags):
        """The update rule run on GLSL expressions of the buffers (inputs a, b, ...; None
        stays None) and of its constants (the uniforms u_k, so a scheduled lr needs no new
        program): one draw writes every result that is not an input unchanged. While a step
        is recorded, its constants are marked as recomputed per replay."""
        inputs = [b for b in buffers if b is not None]
        if not self._same_float32(*inputs):
            return super().optimizer_step(kind, hyper, buffers, **flags)
        letters = iter("abcde")
        args = [None if b is None else _Expr(next(letters)) for b in buffers]
        named = update_rules.constants(kind, hyper)
        k = {name: _Expr(f"u_k[{i}]") for i, name in enumerate(named)}
        results = getattr(update_rules, kind)(_GLSL_FUNCTIONS, k, *args, **flags)
        as_input = {a.src: b for a, b in zip(args, buffers) if a is not None}
        exprs = [r.src for r in results if r is not None and r.src not in as_input]
        rec = self.recording
        n = len(rec.ops) if rec is not None else 0
        drawn = self._map(exprs[0], inputs, inputs[0].shape, "float32", list(named.values()),
                          exprs[1:])
        if rec is not None:
            rec.tag_last("u_k", (kind, rec.source), n)
        drawn = iter(drawn if exprs[1:] else (drawn,))
        return tuple(None if r is None else as_input[r.src] if r.src in as_input else next(drawn)
                     for r in results)

    def argreduce(self, op, x, axis, keepdim):
        if op not in ("argmax", "argmin"):
            raise ValueError(f"unknown argreduce op {op!r}")
        if not x.shape:
            return self.full((), 0, "int64")
        if x.shape[axis] == 0:
            raise ValueError(f"{op} over an empty dimension")
        kept_shape, out_shape = reduced_shapes(x.shape, (axis,), keepdim)
        if _numel(kept_shape) == 0:
            return GLBuffer(None, out_shape, "int64")
        part = self._reduce(_REDUCE_MODE[op], x, (axis,), "int64", False)
        return GLBuffer(part.storage, out_shape, "int64")

    # -- movement ----------------------------------------------------------------------------
    def reshape(self, x, shape):
        shape = tuple(int(s) for s in shape)
        if _numel(shape) != _numel(x.shape):
            raise ValueError(f"cannot reshape {x.shape} to {shape}")
        if all(s == 0 for s in x.strides) and x.storage is not None:  # a broadcast constant
            return GLBuffer(x.storage, shape, x.dtype, (0,) * len(shape), x.offset)
        if not _is_contiguous(x):
            x = self.contiguous(x)
        return GLBuffer(x.storage, shape, x.dtype, None, x.offset)

    def permute(self, x, order):
        order = tuple(order)
        return GLBuffer(x.storage, tuple(x.shape[d] for d in order), x.dtype,
                        tuple(x.strides[d] for d in order), x.offset)

    def expand(self, x, shape):
        shape = tuple(int(s) for s in shape)
        if shape == x.shape:
            return x
        return GLBuffer(x.storage, shape, x.dtype, broadcast_strides(x.shape, x.strides, shape),
                        x.offset)

    def slice(self, x, starts, stops, steps):
        shape = tuple(len(range(a, b, c)) for a, b, c in zip(starts, stops, steps))
        if _numel(shape) == 0:
            return GLBuffer(None, shape, x.dtype)
        offset = x.offset + sum(a * s for a, s in zip(starts, x.strides))
        strides = tuple(s * c for s, c in zip(x.strides, steps))
        return GLBuffer(x.storage, shape, x.dtype, strides, offset)

    def slice_assign(self, x, starts, stops, steps, src):
        counts = tuple(len(range(a, b, c)) for a, b, c in zip(starts, stops, steps))
        if _numel(counts) == 0:
            return x
        if src.dtype != x.dtype:
            src = self.cast(src, x.dtype)
        nd = len(x.shape)
        if nd == 0:
            return self._map("a", [src], (), x.dtype)
        src = self.expand(src, counts)  # src broadcasts to the region
        out = self._out(x.shape, x.dtype)
        uniforms = {"u_shape": list(x.shape), "u_off0": x.offset, "u_st0": list(x.strides),
                    "u_off1": src.offset, "u_st1": list(src.strides), "u_start": list(starts),
                    "u_step": list(steps), "u_count": list(counts)}
        return self._run("strided", {"RANK": nd, "STEP1": int(all(s == 1 for s in steps))},
                         out, [x, src], uniforms)

    # -- indexing ----------------------------------------------------------------------------
    @staticmethod
    def _index_uniforms(shape, axis, *bufs):
        u = {"u_shape": list(shape) or [1], "u_ishape": list(bufs[1].shape) or [1],
             "u_axis": axis}
        for k, b in enumerate(bufs):
            u.update({f"u_off{k}": b.offset, f"u_st{k}": list(b.strides) or [0]})
        return u

    def gather(self, x, axis, index):
        out = self._out(index.shape, x.dtype)
        return self._run("index", {"RANK": max(len(index.shape), 1), "MODE": 0}, out,
                         [x, index], self._index_uniforms(index.shape, axis, x, index))

    def scatter_add(self, x, axis, index, src):
        if _numel(index.shape) == 0:
            return x
        out = self._out(x.shape, x.dtype)
        if src.dtype != x.dtype:
            src = self.cast(src, x.dtype)
        return self._run("index", {"RANK": max(len(x.shape), 1), "MODE": 1}, out,
                         [x, index, src], self._index_uniforms(x.shape, axis, x, index, src))


_Expr = update_rules.Expression
_GLSL_FUNCTIONS = _Expr.functions("f_{}")  # glsl/elementwise.frag's f_sqrt, f_maximum


def rename_inputs(expr, names):
    """An elementwise expression with its input letters a, b, c, d, e replaced by `names`
    (strings, one per letter; one pass). Also captured-step fusion's (_graph/fusion.py)."""
    return re.sub(r"\b([a-e])\b", lambda m: names[ord(m.group(1)) - 97], expr)


def u_k(consts):
    """The uniform u_k as _map sets it."""
    return [float(v) for v in consts] + [0.0] * (4 - len(consts))


_INSTANCE = {}


def get_backend():
    """The process-wide WebGL backend (created on first use; raises WebGLError when WebGL2
    with float32 render targets is unavailable)."""
    if "backend" not in _INSTANCE:
        _INSTANCE["backend"] = WebGLBackend()
    return _INSTANCE["backend"]


__all__ = ["GLBuffer", "WebGLBackend", "WebGLError", "get_backend"]
