"""Captured steps on the webgl device (distml.compile): a recorded step's draws defined in
the JS helper and replayed there with one FFI call per step (backends/capture.py decides
what is recorded, lined up and recomputed)."""
import json
import math

from distml.backends.capture import StepGraph

from .fusion import fuse
from .lowering import u_k, update_consts
from .resources import GLBuffer


class WebGLGraph(StepGraph):
    """A step's draws (fused where exact) as a graph of the JS helper."""

    buffer_type = GLBuffer

    def __init__(self, backend, r1, r2):
        self.gen = backend._gen  # a reset (new context) invalidates the graph
        super().__init__(backend, r1, r2)

    def rewrite(self, ops, keep):
        return fuse(self.be, ops, keep)

    def define(self, ops, order, slot, state, arg_ids):
        encoded = []
        for op in ops:
            if op[0] == "f":
                v = op[2]  # JSON has no inf/nan: JS reads these strings with Number()
                encoded.append(["f", slot[id(op[1])], v if math.isfinite(v) else
                                {math.inf: "Infinity", -math.inf: "-Infinity"}.get(v, "NaN")])
            else:
                out = ([slot[id(s)] for s in op[2]] if isinstance(op[2], list)
                       else slot[id(op[2])])
                encoded.append(["d", op[1], out, [slot[id(s)] for s in op[3]], op[4]])
        self.n_draws = sum(op[0] == "d" for op in encoded)
        spec = {"table": [None if id(st) in arg_ids else st.handle for st in order],
                "prologue": [[slot[id(out)], slot[id(inp)]] for inp, out in state],
                "ops": encoded}
        return self.be._call("defineGraph", self.be._gl.defineGraph,
                             json.dumps(spec, separators=(",", ":")))

    def invalid(self):
        return "the webgl device was reset" if self.be._gen != self.gen else None

    def update_uniform(self, kind, hyper, index):
        return u_k(update_consts(kind, hyper)[index])

    def fresh_like(self, storage):
        return self.be._texture(storage.w, storage.h)

    def run(self, args, patches, fresh):
        spec = {"args": [[s, st.handle] for s, st in args], "patches": patches,
                "outs": [[s, st.handle] for s, st in fresh]}
        be = self.be
        be.counters["draws"] += self.n_draws
        be._call("replay", be._gl.replay, self.handle, json.dumps(spec, separators=(",", ":")))

    def drop(self):
        if self.handle is not None and self.be._gen == self.gen:
            self.be._call("dropGraph", self.be._gl.dropGraph, self.handle)
            self.handle = None
        super().drop()
