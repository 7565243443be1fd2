"""WebGL2 backend: the "webgl" device, in the browser under Pyodide.

Every op is a GLSL ES 3.00 fragment shader from `glsl/` (read with importlib.resources as
`distml/glsl/*`), specialised by `#define`s that Python prepends, compiled once per variant
and cached. A small JS helper shipped beside this file (`webgl_helper.js`, evaluated once)
owns the GL context on an OffscreenCanvas (it works in a Web Worker) and holds programs and
textures by integer handle, so an op is one FFI call: all op logic stays here.

A buffer is a `GLBuffer`: a shape, dtype, strides and offset over a `_Storage`, a float32
RGBA32F texture of width W in a balanced 2-D layout (so tensors larger than
MAX_TEXTURE_SIZE elements fit): flat storage index i is component i % 4 of texel
q = i // 4 at (q % W, q // W). Four elements per texel let a fragment compute four
outputs and a contiguous input load four elements with one fetch.
reshape of contiguous buffers, permute, expand (stride 0), basic slices and `full` (one
texel, all strides 0) are views: no shader runs, and kernels read inputs through strides.

dtypes: int64 and bool are stored as float32 too, so int64 values are exact only in
[-2**24, 2**24] (larger ones round to float32); bool is 0.0 / 1.0. Integer division or
modulo by zero does not raise here (it cannot be detected without a read-back).

Textures are released when the last Python buffer using them dies (CPython refcounting,
also in Pyodide): they go back to a pool keyed by texture size. Values cross to Python
only in `to_list` / `to_bytes`. A lost WebGL context or a kernel that fails to compile
raises `WebGLError` (naming the kernel, with the GLSL log) and the backend then refuses
every further op instead of computing on garbage.
"""
import json
import math
import sys
from array import array
from importlib import resources

from distml import random as _rnd
from distml.backends.base import (
    COMPARISON_OPS,
    Backend,
    conv_output_size,
    pool_output_size,
    useful_taps,
)
from distml.backends.base import as_pair as _pair
from distml.backends.base import broadcast_shape as _broadcast_shape
from distml.backends.base import contiguous_strides as _contig
from distml.backends.base import promote_names as _promote

_FLOAT_UNARY = frozenset(
    ("exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "erf", "sin", "cos", "reciprocal"))
_BIG_ENDIAN = sys.byteorder == "big"

# GLSL expressions of a, b, c (see glsl/elementwise.frag)
_UNARY = {
    "neg": "(-a)", "exp": "f_exp(a)", "log": "f_log(a)", "sqrt": "f_sqrt(a)",
    "rsqrt": "f_rsqrt(a)", "abs": "abs(a)", "sign": "f_sign(a)", "relu": "f_relu(a)",
    "sigmoid": "f_sigmoid(a)", "tanh": "f_tanh(a)", "erf": "f_erf(a)",
    "sin": "f_trig(a, true)", "cos": "f_trig(a, false)", "reciprocal": "f_recip(a)",
    "floor": "(abs(a) < 8388608.0 ? floor(a) : a)", "ceil": "(abs(a) < 8388608.0 ? ceil(a) : a)",
    "round": "f_round(a)", "logical_not": "f_bool(a == 0.0)",
}
_BINARY = {
    "add": "(a + b)", "sub": "(a - b)", "mul": "(a * b)", "div": "f_div(a, b)",
    "pow": "f_pow(a, b)", "maximum": "f_max(a, b)", "minimum": "f_min(a, b)",
    "floordiv": "f_floordiv(a, b)", "mod": "f_mod(a, b)",
    "lt": "f_bool(a < b)", "le": "f_bool(a <= b)", "gt": "f_bool(a > b)",
    "ge": "f_bool(a >= b)", "eq": "f_bool(a == b)", "ne": "f_bool(a != b)",
    "logical_and": "f_bool(a != 0.0 && b != 0.0)", "logical_or": "f_bool(a != 0.0 || b != 0.0)",
}
_BINARY_INT = dict(_BINARY, pow="f_ipow(a, b)", mod="f_imod(a, b)",
                   maximum="max(a, b)", minimum="min(a, b)")
_REDUCE_MODE = {"sum": 0, "prod": 1, "max": 2, "min": 3, "argmax": 4, "argmin": 5}
_CHUNK = 1024  # reductions longer than this run in two (or more) passes
_CHUNK_MIN = 64
_PACKED_MIN_WORK = 1 << 15  # smaller matmuls run the naive kernel: one draw, not four


def _check_dtype(dtype):
    if dtype not in ("float32", "int64", "bool"):
        raise TypeError(f"the webgl device has no {dtype} tensors (WebGL2 computes in float32); "
                        f"keep {dtype} tensors on the cpu device")


class WebGLError(RuntimeError):
    """The WebGL device failed (context lost, kernel failed to compile); it is unusable."""


def _as_dtype(expr, dtype):
    """The GLSL expression with its value stored as `dtype` (bool: 0.0 or 1.0)."""
    return f"f_bool(({expr}) != 0.0)" if dtype == "bool" and not expr.startswith("f_bool(") \
        else expr


def _numel(shape):
    return math.prod(shape)


def _layout(n, max_size):
    """Balanced texture (W, H) for n elements, 4 per texel; W is a power of two (kernels
    find texels with a mask and a shift) of about sqrt(n / 4)."""
    texels = -(-n // 4)
    side = math.isqrt(texels - 1) + 1 if texels > 1 else 1
    w = min(1 << (side - 1).bit_length(), max_size)
    h = -(-texels // w)
    if h > max_size:
        raise WebGLError(f"a buffer of {n} elements does not fit a {max_size}^2 RGBA texture")
    return w, h


class _Storage:
    """One RGBA32F texture; returned to the backend's pool when the last buffer using it
    dies."""

    __slots__ = ("backend", "handle", "w", "h", "gen", "__weakref__")

    def __init__(self, backend, handle, w, h, gen):
        self.backend = backend
        self.handle = handle
        self.w = w
        self.h = h
        self.gen = gen

    @property
    def nbytes(self):
        return self.w * self.h * 16

    def __del__(self):
        try:
            self.backend._release(self)
        except Exception:  # noqa: BLE001 - never raise from __del__ (interpreter teardown)
            pass


class GLBuffer:
    """A strided view (shape, strides, offset, dtype) of a texture storage."""

    __slots__ = ("storage", "shape", "dtype", "strides", "offset", "pool_meta")

    def __init__(self, storage, shape, dtype, strides=None, offset=0):
        self.storage = storage
        self.shape = tuple(shape)
        self.dtype = dtype
        self.strides = _contig(self.shape) if strides is None else tuple(strides)
        self.offset = offset
        self.pool_meta = None

    def __repr__(self):
        return (f"GLBuffer(shape={self.shape}, dtype={self.dtype}, strides={self.strides}, "
                f"offset={self.offset})")


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


def _panel_layout(rows, k4, max_size):
    """(width, height, rows per band) of a panel, or None when it cannot fit."""
    bands = -(-rows // max_size)
    h = -(-rows // bands)
    return None if bands * k4 > max_size else (bands * k4, h, h)


def _dims3(shape, strides):
    """A view's dims as exactly 3 (shape, strides) entries, merged or padded in front."""
    shp, (st,) = _collapse(shape, [strides])
    if len(shp) > 3:
        raise ValueError("more than 3 non-mergeable dims")
    pad = 3 - len(shp)
    return [1] * pad + shp, [0] * pad + st


def _collapse(shape, strides_list):
    """Drop size-1 dims and merge neighbours contiguous in every strides list."""
    shp = []
    sts = [[] for _ in strides_list]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if shp and all(st[-1] == s[d] * n for st, s in zip(sts, strides_list)):
            shp[-1] *= n
            for st, s in zip(sts, strides_list):
                st[-1] = s[d]
        else:
            shp.append(n)
            for st, s in zip(sts, strides_list):
                st.append(s[d])
    return shp, sts


def _is_contiguous(buf):
    shp, (st,) = _collapse(buf.shape, [buf.strides])
    return not shp or (len(shp) == 1 and st[0] == 1)


class WebGLBackend(Backend):
    name = "webgl"

    def __init__(self):
        import js  # only under Pyodide

        self._js = js
        if not hasattr(js, "distmlGL"):
            source = (resources.files("distml.backends") / "webgl_helper.js").read_text()
            js.eval(source)
        self._gl = js.distmlGL
        self.info = json.loads(self._gl.init())
        if not self.info.get("ok"):
            raise WebGLError("WebGL2 with float32 render targets is not available: "
                             + "; ".join(self.info.get("errors", [])))
        size = int(self.info["maxTextureSize"])
        self.max_size = 1 << (size.bit_length() - 1)  # texture widths are powers of two
        self._programs = {}
        self._sources = {}
        self._pool = {}
        self._gen = 0
        self._dead = None
        self.counters = {"ffi_calls": 1, "draws": 0, "textures_created": 0,
                         "live_textures": 0, "live_bytes": 0, "pooled_textures": 0,
                         "pooled_bytes": 0, "compiles": 0}
        self.pool_limit_bytes = 256 << 20  # free textures kept for reuse, at most

    # -- plumbing ----------------------------------------------------------------------------
    def _check(self):
        if self._dead:
            raise WebGLError(f"the webgl device is unusable: {self._dead}")

    def _fail(self, what, exc):
        text = str(exc)
        try:
            lost = bool(self._gl.isContextLost())
        except Exception:  # noqa: BLE001
            lost = True
        reason = f"the WebGL context was lost ({what})" if lost else f"{what} failed: {text}"
        self._dead = reason
        raise WebGLError(reason if lost else f"{what}: {text}") from None

    def _call(self, what, fn, *args):
        self._check()
        self.counters["ffi_calls"] += 1
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - JsException (context lost, GLSL log)
            self._fail(what, exc)

    def _source(self, name):
        if name not in self._sources:
            self._sources[name] = (resources.files("distml") / "glsl" / name).read_text()
        return self._sources[name]

    def compile_kernel(self, name, source):
        """Compile a fragment shader (full source) into a program handle; raises WebGLError
        with the GLSL log on failure (and the device then refuses further ops)."""
        self.counters["compiles"] += 1
        return self._call(f"kernel {name}", self._gl.compile, name, source)

    def _program(self, family, **defines):
        key = (family,) + tuple(sorted(defines.items()))
        prog = self._programs.get(key)
        if prog is None:
            head = "#version 300 es\n" + "".join(f"#define {k} {v}\n" for k, v in defines.items())
            source = head + self._source("common.glsl") + self._source(family + ".frag")
            name = family + "".join(f" {k}={v}" for k, v in defines.items())
            prog = self._programs[key] = self.compile_kernel(name, source)
        return prog

    def _alloc(self, n):
        return self._texture(*_layout(max(n, 1), self.max_size))

    def _texture(self, w, h):
        free = self._pool.get((w, h))
        if free:
            handle = free.pop()
            self.counters["pooled_textures"] -= 1
            self.counters["pooled_bytes"] -= w * h * 16
        else:
            handle = self._call("createTexture", self._gl.createTexture, w, h)
            self.counters["textures_created"] += 1
        self.counters["live_textures"] += 1
        self.counters["live_bytes"] += w * h * 16
        return _Storage(self, handle, w, h, self._gen)

    def _release(self, st):
        if st.gen != self._gen:
            return  # from before a reset: its context is gone
        nbytes = st.nbytes
        self.counters["live_textures"] -= 1
        self.counters["live_bytes"] -= nbytes
        if self.counters["pooled_bytes"] + nbytes > self.pool_limit_bytes or self._dead:
            self.counters["ffi_calls"] += 1
            self._gl.deleteTexture(st.handle)
            return
        self._pool.setdefault((st.w, st.h), []).append(st.handle)
        self.counters["pooled_textures"] += 1
        self.counters["pooled_bytes"] += nbytes

    def empty_pool(self):
        """Delete the pooled (free) textures."""
        for handles in self._pool.values():
            for h in handles:
                self.counters["ffi_calls"] += 1
                self._gl.deleteTexture(h)
        self._pool.clear()
        self.counters["pooled_textures"] = 0
        self.counters["pooled_bytes"] = 0

    def stats(self):
        """Counters: Python's view (live/pooled textures, bytes, draws, FFI calls) plus the
        JS helper's (under "js")."""
        out = dict(self.counters)
        out["js"] = json.loads(self._gl.stats())
        return out

    def reset(self):
        """For tests: start over after a failure (every existing webgl buffer is invalid)."""
        self._js.distmlGL = None
        self._js.eval((resources.files("distml.backends") / "webgl_helper.js").read_text())
        self._gl = self._js.distmlGL
        self.info = json.loads(self._gl.init())
        self._programs.clear()
        self._pool.clear()
        self._gen += 1
        self._dead = None
        self.counters.update(live_textures=0, live_bytes=0, pooled_textures=0, pooled_bytes=0)

    def _out(self, shape, dtype):
        n = _numel(shape)
        return GLBuffer(self._alloc(n) if n else None, shape, dtype)

    def _run(self, family, defines, out, inputs, uniforms):
        """One draw: `inputs` are GLBuffers bound as u_in0.. (u_wK set here)."""
        n = _numel(out.shape)
        if n == 0:
            return out
        uniforms["u_n"] = n
        self._draw(family, defines, out.storage, [b.storage for b in inputs], uniforms)
        return out

    def _draw(self, family, defines, out, inputs, uniforms):
        """One draw into the storage `out` (or a list of same-sized storages: render targets
        0, 1, ...) from the storages `inputs` (u_in0, u_in1, ...)."""
        prog = self._program(family, **defines)
        targets = [st.handle for st in out] if isinstance(out, list) else out.handle
        uniforms["u_outW"] = (out[0] if isinstance(out, list) else out).w
        for k, st in enumerate(inputs):
            uniforms[f"u_w{k}"] = [st.w - 1, st.w.bit_length() - 1]
        spec = json.dumps([prog, targets, [st.handle for st in inputs], uniforms],
                          separators=(",", ":"))
        self.counters["draws"] += 1
        self._call(f"kernel {family} {defines}", self._gl.run, spec)

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
            data = self._js.Float32Array.new(len(values))
            data.assign(values)
            self._call("upload", self._gl.upload, out.storage.handle, data)
        return out

    def from_list(self, flat, shape, dtype):
        _check_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        if dtype == "bool":
            values = array("f", [1.0 if v else 0.0 for v in flat])
        else:
            try:
                values = array("f", flat)
            except TypeError:
                values = array("f", [float(v) for v in flat])
        if len(values) != _numel(shape):
            raise ValueError(f"from_list: {len(values)} values for shape {shape}")
        return self._upload(values, shape, dtype)

    def from_bytes(self, data, shape, dtype):
        _check_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        arr = array({"float32": "f", "int64": "q", "bool": "B"}[dtype])
        arr.frombytes(bytes(data))
        if arr.itemsize > 1 and _BIG_ENDIAN:
            arr.byteswap()
        if len(arr) != _numel(shape):
            raise ValueError(f"from_bytes: {len(arr)} values for shape {shape}")
        if dtype != "float32":
            arr = array("f", [1.0 if v else 0.0 for v in arr] if dtype == "bool" else arr)
        return self._upload(arr, shape, dtype)

    def _download(self, buf):
        """array('f') of the buffer's values, row-major."""
        self._check()
        n = _numel(buf.shape)
        if n == 0:
            return array("f")
        if not _is_contiguous(buf):
            buf = self.contiguous(buf)
        data = self._call("download", self._gl.download, buf.storage.handle, buf.offset + n)
        out = array("f")
        out.frombytes(data.to_bytes())
        return out[buf.offset:] if buf.offset else out

    def to_list(self, buf):
        values = self._download(buf)
        if buf.dtype == "float32":
            return values.tolist()
        if buf.dtype == "bool":
            return [v != 0 for v in values]
        return [int(v) for v in values]

    def to_bytes(self, buf):
        values = self._download(buf)
        if buf.dtype == "int64":
            values = array("q", [int(v) for v in values])
        elif buf.dtype == "bool":
            return bytes(1 if v else 0 for v in values)
        if _BIG_ENDIAN:
            values.byteswap()
        return values.tobytes()

    # -- elementwise machinery ---------------------------------------------------------------
    def _map(self, expr, inputs, out_shape, dtype, consts=None):
        """out[i] = expr(a, b, c) over inputs broadcast to out_shape; expr may read the
        float uniforms u_k[0..3] = consts."""
        self._check()
        out_shape = tuple(out_shape)
        nd = len(out_shape)
        strides = []
        for b in inputs:
            pad = nd - len(b.shape)
            st = [0] * pad + [0 if (n == 1 and out_shape[pad + d] != 1) else s
                              for d, (n, s) in enumerate(zip(b.shape, b.strides))]
            strides.append(st)
        shp, sts = _collapse(out_shape, strides + [list(_contig(out_shape))])
        sts = sts[:-1]
        if not shp:
            shp, sts = [1], [[0] for _ in inputs]
        out = self._out(out_shape, dtype)
        uniforms = {"u_shape": shp}
        if consts is not None:
            uniforms["u_k"] = [float(v) for v in consts] + [0.0] * (4 - len(consts))
        for k, (b, st) in enumerate(zip(inputs, sts)):
            uniforms[f"u_off{k}"] = b.offset
            uniforms[f"u_st{k}"] = st
        defines = {"RANK": len(shp), "NIN": len(inputs), "OP(a,b,c)": expr}
        # a texel's 4 outputs differ only in the innermost index when its size is a
        # multiple of 4: then each input loads them with one fetch (contiguous, aligned)
        # or one element (stride 0)
        if shp[-1] % 4 == 0:
            modes = [1 if st[-1] == 1 and b.offset % 4 == 0 and all(s % 4 == 0 for s in st[:-1])
                     else 2 if st[-1] == 0 else 0 for b, st in zip(inputs, sts)]
            if all(modes):
                defines["VEC"] = 1
                defines.update((f"VEC{k}", m) for k, m in enumerate(modes))
        return self._run("elementwise", defines, out, inputs, uniforms)

    def contiguous(self, x):
        """A contiguous copy of a view (x itself when it already is)."""
        if _is_contiguous(x) and x.offset == 0:
            return x
        return self._map("a", [x], x.shape, x.dtype)

    # -- creation ----------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        _check_dtype(dtype)
        shape = tuple(int(s) for s in shape)
        if dtype == "float32":
            v = float(value)
        elif dtype == "int64":
            v = float(int(value))
        else:
            v = 1.0 if value else 0.0
        if _numel(shape) == 0:
            return GLBuffer(None, shape, dtype)
        st = self._alloc(1)
        self._call("fill", self._gl.fill, st.handle, v)
        return GLBuffer(st, shape, dtype, (0,) * len(shape), 0)

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
        return self._run("random", {"MODE": 0 if kind == "uniform" else 1}, out, [], uniforms)

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
        if op not in _UNARY:
            raise ValueError(f"unknown unary op {op!r}")
        if op == "logical_not":
            dt = "bool"
        elif op in _FLOAT_UNARY or x.dtype == "float32":
            dt = "float32"
        else:
            dt = x.dtype
            if op in ("floor", "ceil", "round"):
                return x
        return self._map(_as_dtype(_UNARY[op], dt), [x], x.shape, dt)

    def binary(self, op, x, y):
        if op not in _BINARY:
            raise ValueError(f"unknown binary op {op!r}")
        out_shape = _broadcast_shape(x.shape, y.shape)
        if op in COMPARISON_OPS:
            return self._map(_BINARY[op], [x, y], out_shape, "bool")
        dt = _promote(x.dtype, y.dtype)
        if dt == "float32" or op == "div":
            return self._map(_BINARY[op], [x, y], out_shape, "float32")
        return self._map(_as_dtype(_BINARY_INT[op], dt), [x, y], out_shape, dt)

    def where(self, cond, x, y):
        out_shape = _broadcast_shape(cond.shape, x.shape, y.shape)
        dt = x.dtype if x.dtype == y.dtype else _promote(x.dtype, y.dtype)
        return self._map("(a != 0.0 ? b : c)", [cond, x, y], out_shape, dt)

    # -- reductions --------------------------------------------------------------------------
    def _reduce(self, mode, x, axes, out_dtype, chunked, y=None):
        """(M,) or (M, nchunks) buffer: reduce x (sum: x * y when y is given, y with x's
        strides) over `axes` (kept dims row-major)."""
        nd = len(x.shape)
        kept = [d for d in range(nd) if d not in axes]
        kshape = [x.shape[d] for d in kept] or [1]
        kst = [x.strides[d] for d in kept] or [0]
        rshape = [x.shape[d] for d in axes] or [1]
        rst = [x.strides[d] for d in axes] or [0]
        kshp, (kst,) = _collapse(kshape, [kst])
        rshp, (rst,) = _collapse(rshape, [rst])
        kshp, kst = kshp or [1], kst or [0]
        rshp, rst = rshp or [1], rst or [0]
        R = _numel(rshape)
        M = _numel(kshape)
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
        kept_shape = tuple(n for d, n in enumerate(x.shape) if d not in axes)
        out_shape = (tuple(1 if d in axes else n for d, n in enumerate(x.shape))
                     if keepdim else kept_shape)
        R = _numel([x.shape[d] for d in axes])
        dt = "int64" if x.dtype == "bool" and op in ("sum", "prod") else x.dtype
        if R == 0 and op in ("max", "min"):
            raise ValueError(f"reduce {op} over an empty dimension")
        if _numel(kept_shape) == 0:
            return GLBuffer(None, out_shape, dt)
        if R == 0:
            return self.full(out_shape, 1 if op == "prod" else 0, dt)
        mode = _REDUCE_MODE[op]
        part = self._reduce(mode, x, axes, dt, True)
        while part.shape[1] > 1:
            part = self._reduce(mode, part, (1,), dt, True)
        return GLBuffer(part.storage, out_shape, dt)

    def _sum_of_products(self, x, y, axes):
        """sum(x * y) over axes, keepdim, without the product in memory (x and y have the
        same shape; y is copied when its strides differ)."""
        if y.strides != x.strides:
            y = self.contiguous(y)
            x = self.contiguous(x)
        out_shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
        part = self._reduce(0, x, axes, "float32", True, y)
        while part.shape[1] > 1:
            part = self._reduce(0, part, (1,), "float32", True)
        return GLBuffer(part.storage, out_shape, "float32")

    # -- fused batch norm: fewer passes over the activations than the composed default ----
    def batch_norm_train(self, x, weight, bias, axes, eps):
        if weight is None or bias is None or x.dtype != "float32":
            return super().batch_norm_train(x, weight, bias, axes, eps)
        inv_n = self.full((), 1.0 / _numel([x.shape[a] for a in axes]), "float32")
        mean = self.binary("mul", self.reduce("sum", x, axes, True), inv_n)
        centered = self.binary("sub", x, mean)
        var = self.binary("mul", self._sum_of_products(centered, centered, axes), inv_n)
        invstd = self.unary("rsqrt", self.binary("add", var, self.full((), eps, "float32")))
        scale = self.binary("mul", invstd, weight)
        y = self._map("(a * b + c)", [centered, scale, bias], x.shape, "float32")
        return y, centered, mean, var, invstd

    def batch_norm_train_backward(self, g, centered, invstd, weight, axes):
        if weight is None or g.dtype != "float32":
            return super().batch_norm_train_backward(g, centered, invstd, weight, axes)
        # gx = scale * (g - mean(g) - centered * invstd^2 * mean(g * centered))
        #    = g * scale + centered * k1 + k0, with per-channel scale, k1, k0
        inv_n = self.full((), 1.0 / _numel([g.shape[a] for a in axes]), "float32")
        gbias = self.reduce("sum", g, axes, True)
        gcs = self._sum_of_products(g, centered, axes)
        gweight = self.binary("mul", gcs, invstd)
        scale = self.binary("mul", invstd, weight)
        k1 = self._map("(-(a * b) * c)", [scale, invstd, gweight], scale.shape, "float32")
        k1 = self.binary("mul", k1, inv_n)
        k0 = self._map("(-(a * b) * c)", [scale, gbias, inv_n], scale.shape, "float32")
        gx = self._map("(a * b + c)", [g, scale, k0], g.shape, "float32")
        gx = self._map("(a + b * c)", [gx, centered, k1], g.shape, "float32")
        return gx, gweight, gbias

    # -- fused SGD: one or two draws per parameter instead of the composed default's five --
    def sgd_update(self, p, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                   nesterov, maximize):
        if not self._same_float32(p, grad, momentum_buffer):
            return super().sgd_update(p, grad, momentum_buffer, lr, momentum, dampening,
                                      weight_decay, nesterov, maximize)
        # a = p, b = grad, c = momentum buffer; u_k = (weight decay, momentum,
        # 1 - dampening, lr): uniforms, so a scheduled lr needs no new program
        consts = (weight_decay, momentum, 1.0 - dampening, lr)
        g = "(-b)" if maximize else "b"
        if weight_decay:
            g = f"({g} + a * u_k[0])"
        if not momentum:
            return self._map(f"(a - {g} * u_k[3])", [p, grad], p.shape, "float32", consts), None
        if momentum_buffer is None:  # the buffer starts as the gradient
            buf = grad if g == "b" else self._map(g, [p, grad], p.shape, "float32", consts)
        else:
            buf = self._map(f"(c * u_k[1] + {g} * u_k[2])", [p, grad, momentum_buffer],
                            p.shape, "float32", consts)
        step = f"({g} + c * u_k[1])" if nesterov else "c"
        return self._map(f"(a - {step} * u_k[3])", [p, grad, buf], p.shape, "float32",
                         consts), buf

    def adam_update(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                    weight_decay, decoupled, amsgrad, maximize, step):
        if not self._same_float32(p, grad, exp_avg, exp_avg_sq,
                                  max_exp_avg_sq if amsgrad else None):
            return super().adam_update(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1,
                                       beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                                       step)
        # three draws (four with amsgrad), the composed default's arithmetic op for op;
        # a = p, b = grad, c = the state being updated; constants are uniforms u_k
        f32 = "float32"
        g = "(-b)" if maximize else "b"
        if weight_decay and not decoupled:
            g = f"({g} + a * u_k[0])"
        new_avg = self._map(f"(c + ({g} - c) * u_k[1])", [p, grad, exp_avg], p.shape, f32,
                            (weight_decay, 1 - beta1))
        new_sq = self._map(f"(c * u_k[1] + ({g} * {g}) * u_k[2])", [p, grad, exp_avg_sq],
                           p.shape, f32, (weight_decay, beta2, 1 - beta2))
        v = new_sq
        if amsgrad:
            v = max_exp_avg_sq = self.binary("maximum", max_exp_avg_sq, new_sq)
        p_in = "(a * u_k[3])" if weight_decay and decoupled else "a"
        new_p = self._map(f"({p_in} - (b / (f_sqrt(c) / u_k[0] + u_k[1])) * u_k[2])",
                          [p, new_avg, v], p.shape, f32,
                          (math.sqrt(1 - beta2 ** step), eps, lr / (1 - beta1 ** step),
                           1 - lr * weight_decay))
        return new_p, new_avg, new_sq, max_exp_avg_sq if amsgrad else None

    def argreduce(self, op, x, axis, keepdim):
        if op not in ("argmax", "argmin"):
            raise ValueError(f"unknown argreduce op {op!r}")
        if not x.shape:
            return self.full((), 0, "int64")
        if x.shape[axis] == 0:
            raise ValueError(f"{op} over an empty dimension")
        kept_shape = tuple(n for d, n in enumerate(x.shape) if d != axis)
        out_shape = (tuple(1 if d == axis else n for d, n in enumerate(x.shape))
                     if keepdim else kept_shape)
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
        pad = len(shape) - len(x.shape)
        xs = (1,) * pad + x.shape
        st = (0,) * pad + x.strides
        strides = tuple(0 if (n == 1 and m != 1) else s for n, m, s in zip(xs, shape, st))
        return GLBuffer(x.storage, shape, x.dtype, strides, x.offset)

    def slice(self, x, starts, stops, steps):
        shape = tuple(len(range(a, b, c)) for a, b, c in zip(starts, stops, steps))
        if _numel(shape) == 0:
            return GLBuffer(None, shape, x.dtype)
        offset = x.offset + sum(a * s for a, s in zip(starts, x.strides))
        strides = tuple(s * c for s, c in zip(x.strides, steps))
        return GLBuffer(x.storage, shape, x.dtype, strides, offset)

    def _assign(self, x, starts, steps, counts, src):
        """x with the strided region (starts, steps, counts) replaced by src (broadcast)."""
        if src.dtype != x.dtype:
            src = self.cast(src, x.dtype)
        if _numel(counts) == 0:
            return x
        nd = len(x.shape)
        if nd == 0:
            return self._map("a", [src], (), x.dtype)
        src = self.expand(src, tuple(counts)) if src.shape != tuple(counts) else src
        out = self._out(x.shape, x.dtype)
        uniforms = {"u_shape": list(x.shape), "u_off0": x.offset, "u_st0": list(x.strides),
                    "u_off1": src.offset, "u_st1": list(src.strides), "u_start": list(starts),
                    "u_step": list(steps), "u_count": list(counts)}
        return self._run("strided", {"RANK": nd, "STEP1": int(all(s == 1 for s in steps))},
                         out, [x, src], uniforms)

    def slice_assign(self, x, starts, stops, steps, src):
        counts = [len(range(a, b, c)) for a, b, c in zip(starts, stops, steps)]
        if _numel(x.shape) == 0:
            return x
        return self._assign(x, starts, steps, counts, src)

    def cat(self, xs, axis):
        xs = list(xs)
        dt = xs[0].dtype
        for b in xs[1:]:
            dt = _promote(dt, b.dtype) if b.dtype != dt else dt
        shape = list(xs[0].shape)
        shape[axis] = sum(b.shape[axis] for b in xs)
        shape = tuple(shape)
        live = [b for b in xs if _numel(b.shape)]
        if _numel(shape) == 0 or not live:
            return GLBuffer(None, shape, dt)
        if len(live) == 1:
            return self.cast(live[0], dt)
        out = self.full(shape, 0, dt)
        pos = 0
        for b in xs:
            k = b.shape[axis]
            if _numel(b.shape):
                starts = [0] * len(shape)
                starts[axis] = pos
                out = self._assign(out, starts, [1] * len(shape), list(b.shape), b)
            pos += k
        return out

    # -- indexing ----------------------------------------------------------------------------
    def gather(self, x, axis, index):
        nd = max(len(index.shape), 1)
        out = self._out(index.shape, x.dtype)
        uniforms = {"u_shape": list(index.shape) or [1], "u_ishape": list(index.shape) or [1],
                    "u_axis": axis, "u_off0": x.offset, "u_st0": list(x.strides) or [0],
                    "u_off1": index.offset, "u_st1": list(index.strides) or [0]}
        return self._run("index", {"RANK": nd, "MODE": 0}, out, [x, index], uniforms)

    def scatter_add(self, x, axis, index, src):
        nd = max(len(x.shape), 1)
        if _numel(index.shape) == 0:
            return x
        out = self._out(x.shape, x.dtype)
        if src.dtype != x.dtype:
            src = self.cast(src, x.dtype)
        uniforms = {"u_shape": list(x.shape) or [1], "u_ishape": list(index.shape) or [1],
                    "u_axis": axis, "u_off0": x.offset, "u_st0": list(x.strides) or [0],
                    "u_off1": index.offset, "u_st1": list(index.strides) or [0],
                    "u_off2": src.offset, "u_st2": list(src.strides) or [0]}
        return self._run("index", {"RANK": nd, "MODE": 1}, out, [x, index, src], uniforms)

    # -- linear algebra and nn ---------------------------------------------------------------
    def _batched(self, x, nbatch):
        """(x, [batch stride, row stride, col stride]) with the batch dims merged into one."""
        bshape = x.shape[:nbatch]
        shp, (st,) = _collapse(bshape, [x.strides[:nbatch]])
        if len(shp) > 1:
            x = self.contiguous(x)
            shp, (st,) = _collapse(bshape, [x.strides[:nbatch]])
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
        # 4 rows per fragment (one per render target) when there is one batch
        parts = 4 if batch == 1 and rows >= 16 else 1
        part_rows = -(-rows // parts)
        out_layout = _panel_layout(part_rows, n4, self.max_size)
        bands = max(-(-rows // self.max_size), -(-batch * N // self.max_size))
        chunk = 4 * (self.max_size // bands)
        if out_layout is None or chunk < 4:
            return None
        w, h, band = out_layout
        defines = {"MRT": 1} if parts == 4 else {}
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
            inputs = pa.parts + pb.parts + (acc or [])
            self._draw("matmul_packed", dict(defines, ACC=1) if acc else defines, out, inputs, u)
            acc = out
        return _Panel(acc, rows, N, n4, band, part_rows)

    def _unpack(self, c, shape, mode, uniforms):
        out = self._out(shape, "float32")
        uniforms.update({"u_N4": c.k4, "u_HC": c.h, "u_n": _numel(shape), "u_Mq": c.part_rows})
        defines = {"MODE": mode}
        if mode == 1 and uniforms["u_sh"] == uniforms["u_sw"] == 1:
            defines["STRIDE1"] = 1
        if len(c.parts) == 4:
            defines["MRT4"] = 1
        if c.h < c.part_rows:
            defines["BANDS"] = 1
        self._draw("unpack", defines, out.storage, c.parts, uniforms)
        return out

    def _strided_pack(self, x, row_dims, col_dims):
        """pack_source(k0, k) of the matrix with rows over x's dims `row_dims` and columns
        over `col_dims` (dims as indices into x.shape)."""
        rshape, rst = _dims3([x.shape[d] for d in row_dims], [x.strides[d] for d in row_dims])
        kshape, kst = _dims3([x.shape[d] for d in col_dims], [x.strides[d] for d in col_dims])
        rows = _numel(rshape)
        return lambda k0, k: self._pack(x, rows, k, k0, {"MODE": 0}, {
            "u_rshape": rshape, "u_rst": rst, "u_kshape": kshape, "u_kst": kst})

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
        if dt == "float32" and M * N * K >= _PACKED_MIN_WORK:
            # rows (batch, m) of A and (batch, n) of B^T, as 3-dim views
            av = GLBuffer(a.storage, (nb, M, K), dt, ast, a.offset)
            bv = GLBuffer(b.storage, (nb, N, K), dt, (bst[0], bst[2], bst[1]), b.offset)
            c = self._packed_product(self._strided_pack(av, (0, 1), (2,)),
                                     self._strided_pack(bv, (0, 1), (2,)), nb, M, N, K)
            if c is not None:
                return self._unpack(c, shape, 0, {"u_oshape": [1, 1, nb * M, N],
                                                   "u_rs": [0, 0, 1, 0], "u_cs": [0, 0, 0, 1]})
        out = self._out(shape, dt)
        uniforms = {"u_M": M, "u_N": N, "u_K": K, "u_off0": a.offset, "u_st0": ast,
                    "u_off1": b.offset, "u_st1": bst}
        return self._run("matmul", {}, out, [a, b], uniforms)

    def _conv_uniforms(self, x_shape, w_shape, stride, padding, dilation, groups):
        N, C, H, W = x_shape
        CO, Cg, KH, KW = w_shape
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        dh, dw = _pair(dilation)
        if Cg * groups != C or CO % groups != 0:
            raise ValueError(f"conv2d: bad channels/groups: x {x_shape}, w {w_shape}, "
                             f"g={groups}")
        OH = conv_output_size(H, KH, sh, ph, dh)
        OW = conv_output_size(W, KW, sw, pw, dw)
        return {"u_N": N, "u_C": C, "u_H": H, "u_W": W, "u_O": CO, "u_Cg": Cg,
                "u_Og": CO // groups, "u_KH": KH, "u_KW": KW, "u_OH": max(OH, 0),
                "u_OW": max(OW, 0), "u_sh": sh, "u_sw": sw, "u_ph": ph, "u_pw": pw,
                "u_dh": dh, "u_dw": dw}

    def _conv(self, mode, in0, in1, out_shape, u):
        out = self._out(out_shape, "float32")
        if _numel(in0.shape) == 0 or _numel(in1.shape) == 0:
            return self.full(out_shape, 0.0, "float32") if _numel(out_shape) else out
        u.update({"u_off0": in0.offset, "u_st0": list(in0.strides), "u_off1": in1.offset,
                  "u_st1": list(in1.strides)})
        return self._run("conv2d", {"MODE": mode}, out, [in0, in1], u)

    @staticmethod
    def _conv_packed(u, groups, ins):
        """Whether a conv runs as packed matmuls (im2col / col2im around matmul_packed)."""
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
            c = self._packed_product(self._im2col_pack(x, u, False),
                                     self._strided_pack(w, (0,), (1, 2, 3)), 1, rows, u["u_O"], K)
            if c is not None:
                ohw = u["u_OH"] * u["u_OW"]
                return self._unpack(c, shape, 0, {"u_oshape": list(shape),
                                                  "u_rs": [ohw, 0, u["u_OW"], 1],
                                                  "u_cs": [0, 1, 0, 0]})
        return self._conv(0, x, w, shape, u)

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
                                     self._strided_pack(w, (1, 2, 3), (0,)), 1, rows, K, u["u_O"])
            if c is not None:
                uniforms = {k: v for k, v in u.items() if k not in ("u_H", "u_W", "u_N")}
                uniforms.update({"u_IH": u["u_H"], "u_IW": u["u_W"]})
                return self._unpack(c, tuple(x_shape), 1, uniforms)
        return self._conv(1, gy, w, tuple(x_shape), u)

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
                khw = u["u_KH"] * u["u_KW"]
                return self._unpack(c, tuple(w_shape), 0, {
                    "u_oshape": list(w_shape), "u_rs": [1, 0, 0, 0],
                    "u_cs": [0, khw, u["u_KW"], 1]})
        return self._conv(2, x, gy, tuple(w_shape), u)

    def _planes(self, x):
        return self.contiguous(x)

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        KH, KW = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        dh, dw = _pair(dilation)
        *lead, H, W = x.shape
        OH = pool_output_size(H, KH, sh, ph, dh, ceil_mode)
        OW = pool_output_size(W, KW, sw, pw, dw, ceil_mode)
        shape = tuple(lead) + (OH, OW)
        x = self._planes(x)
        u = {"u_H": H, "u_W": W, "u_OH": OH, "u_OW": OW, "u_KH": KH, "u_KW": KW, "u_sh": sh,
             "u_sw": sw, "u_ph": ph, "u_pw": pw, "u_dh": dh, "u_dw": dw}
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
        KH, KW = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        *lead, H, W = x_shape
        OH = pool_output_size(H, KH, sh, ph, 1, ceil_mode)
        OW = pool_output_size(W, KW, sw, pw, 1, ceil_mode)
        return lead, {"u_H": H, "u_W": W, "u_OH": OH, "u_OW": OW, "u_KH": KH, "u_KW": KW,
                      "u_sh": sh, "u_sw": sw, "u_ph": ph, "u_pw": pw, "u_dh": 1, "u_dw": 1,
                      "u_cip": 1 if count_include_pad else 0}

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


_INSTANCE = {}


def get_backend():
    """The process-wide WebGL backend (created on first use; raises WebGLError when WebGL2
    with float32 render targets is unavailable)."""
    if "backend" not in _INSTANCE:
        _INSTANCE["backend"] = WebGLBackend()
    return _INSTANCE["backend"]


__all__ = ["GLBuffer", "WebGLBackend", "WebGLError", "get_backend"]
