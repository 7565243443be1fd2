"""The WebGL backend's GPU resources: the JS helper and GL context, textures (pooled by
size, released when the last buffer using them dies), programs compiled per #define
variant, and the draw calls. A mixin of WebGLBackend (lowering.py)."""
import json
import math
from array import array
from importlib import resources

from distml.backends.base import contiguous_strides as _contig


class WebGLError(RuntimeError):
    """The WebGL device failed (context lost, kernel failed to compile); it is unusable."""


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


_HANDLE = _Storage.handle  # the slot under _Constant's handle property


class _Constant(_Storage):
    """The one-texel storage of a constant (full(), a Python number in x + 1): its texture
    is made and filled only when a draw reads it. An elementwise op reads the value as a
    uniform instead, so x + 1 costs no texture and no fill call."""

    __slots__ = ("value",)

    def __init__(self, backend, value):
        super().__init__(backend, 0, 1, 1, -1)  # gen -1: no texture to release yet
        self.value = value

    @property
    def handle(self):
        return _HANDLE.__get__(self) or self.backend._materialize(self)

    @handle.setter
    def handle(self, h):
        # a texture set from outside (a replay swapping state textures) holds other values
        _HANDLE.__set__(self, h)
        self.value = None

    @property
    def uniform(self):
        """The value as an exact float uniform (JSON has no inf or nan), else None."""
        v = self.value
        return v if v is not None and math.isfinite(v) and (
            abs(v) < 1 << 24 or v == array("f", [v])[0]) else None


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


class GPUResources:
    """Context, textures, programs and draws of a WebGLBackend."""

    def __init__(self):
        import js  # only under Pyodide

        self._js = js
        self._connect(fresh=not hasattr(js, "distmlGL"))
        if not self.info.get("ok"):
            raise WebGLError("WebGL2 with float32 render targets is not available: "
                             + "; ".join(self.info.get("errors", [])))
        size = int(self.info["maxTextureSize"])
        self.max_size = 1 << (size.bit_length() - 1)  # texture widths are powers of two
        self._programs = {}
        self._map_cache = {}  # elementwise geometry -> (program, uniforms): lowering._map
        self._sources = {}
        self._pool = {}
        self._gen = 0
        self._dead = None
        self.counters = {"ffi_calls": 1, "draws": 0, "textures_created": 0,
                         "live_textures": 0, "live_bytes": 0, "pooled_textures": 0,
                         "pooled_bytes": 0, "compiles": 0}
        self.pool_limit_bytes = 256 << 20  # free textures kept for reuse, at most
        self.recording = None  # a capture.Recording while distml.compile records a step

    # -- plumbing ----------------------------------------------------------------------------
    def _connect(self, fresh):
        """The JS helper (evaluated again when fresh: a new GL context) and its info."""
        if fresh:
            self._js.eval((resources.files(__package__) / "webgl_helper.js").read_text())
        self._gl = self._js.distmlGL
        self.info = json.loads(self._gl.init())

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

    def _texture(self, w, h, into=None):
        st = self._pooled(w, h, into)
        if st is None:
            st = self._adopt(self._call("createTexture", self._gl.createTexture, w, h), w, h,
                             into=into)
        return st

    def _pooled(self, w, h, into=None):
        """A storage of a free texture of the pool, or None (none is created)."""
        free = self._pool.get((w, h))
        if not free:
            return None
        self.counters["pooled_textures"] -= 1
        self.counters["pooled_bytes"] -= w * h * 16
        return self._adopt(free.pop(), w, h, created=False, into=into)

    def _materialize(self, const):
        """A _Constant's texture, filled with its value (a recorded step records the fill);
        returns its handle."""
        value = const.value
        self._texture(1, 1, into=const)
        const.value = value  # (the handle's setter forgot it)
        handle = _HANDLE.__get__(const)
        self._call("fill", self._gl.fill, handle, value)
        if self.recording is not None:
            self.recording.fill(const, value)
        return handle

    def _adopt(self, handle, w, h, created=True, into=None):
        """The storage of a texture the JS helper created (or, created=False, the pool
        held); `into` a placeholder (handle 0, gen -1: never released) to fill in."""
        self.counters["textures_created"] += created
        self.counters["live_textures"] += 1
        self.counters["live_bytes"] += w * h * 16
        if into is None:
            return _Storage(self, handle, w, h, self._gen)
        into.handle, into.gen = handle, self._gen
        return into

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
        self._connect(fresh=True)
        self._programs.clear()
        self._map_cache.clear()
        self._pool.clear()
        self._gen += 1
        self._dead = None
        self.counters.update(live_textures=0, live_bytes=0, pooled_textures=0, pooled_bytes=0)

    def _out(self, shape, dtype):
        n = _numel(shape)
        return GLBuffer(self._alloc(n) if n else None, shape, dtype)

    def _run(self, family, defines, out, inputs, uniforms):
        """One draw into the GLBuffer `out` (or a tuple of same-shaped ones: render targets
        0, 1, ...); `inputs` are GLBuffers bound as u_in0.. (u_wK set here)."""
        n = _numel((out[0] if isinstance(out, tuple) else out).shape)
        if n == 0:
            return out
        uniforms["u_n"] = n
        targets = [b.storage for b in out] if isinstance(out, tuple) else out.storage
        self._draw(family, defines, targets, [b.storage for b in inputs], uniforms)
        return out

    def _draw(self, family, defines, out, inputs, uniforms):
        """One draw into the storage `out` (or a list of same-sized storages: render targets
        0, 1, ...) from the storages `inputs` (u_in0, u_in1, ...); `defines` select the
        family's variant (or are its program, already compiled)."""
        prog = defines if isinstance(defines, int) else self._program(family, **defines)
        targets = [st.handle for st in out] if isinstance(out, list) else out.handle
        uniforms["u_outW"] = (out[0] if isinstance(out, list) else out).w
        for k, st in enumerate(inputs):
            uniforms[f"u_w{k}"] = [st.w - 1, st.w.bit_length() - 1]
        spec = json.dumps([prog, targets, [st.handle for st in inputs], uniforms],
                          separators=(",", ":"))
        self.counters["draws"] += 1
        if self.recording is not None:
            self.recording.draw(prog, out, inputs, uniforms)
        self._call(f"kernel {family} {defines}", self._gl.run, spec)
