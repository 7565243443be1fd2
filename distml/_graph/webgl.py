"""Captured steps on the webgl device (distml.compile): a recorded step's draws defined in
the JS helper and replayed there with one FFI call per step (capture.py decides
what is recorded, lined up and recomputed)."""
import json
import math

from collections import Counter

from distml.backends import update_rules
from distml.backends.webgl.lowering import u_k
from distml.backends.webgl.resources import GLBuffer, _Storage

from .capture import StepGraph, op_outputs, without
from .fusion import fuse


def shared_textures(ops, fixed):
    """{id(storage): storage whose texture it uses} for the step's temporaries: a storage
    first written by the step (none of `fixed`: state, arguments, outputs and storages a
    tensor holds) takes over the texture of one of the same size whose last use has
    passed. Eager steps reuse freed textures (the pool hands back the latest), so a replay
    without this touches several times the memory, which SwiftShader pays in cache
    misses. Every draw and fill writes its whole texture: a reused one holds nothing
    stale."""
    last, temps = {}, set()
    for j, op in enumerate(ops):
        for st in op_outputs(op):
            if id(st) not in last and id(st) not in fixed:
                temps.add(id(st))
            last[id(st)] = j
        for st in op[3] if op[0] == "d" else ():
            if id(st) not in last:
                temps.discard(id(st))  # read before written: not a temporary
            last[id(st)] = j
    free, place = {}, {}
    for j, op in enumerate(ops):
        for st in op_outputs(op):
            if id(st) in temps and id(st) not in place:
                pool = free.get((st.w, st.h))
                place[id(st)] = pool.pop() if pool else st
        used = {id(st): st for st in (op[3] if op[0] == "d" else [])}
        used.update((id(st), st) for st in op_outputs(op))
        for k, st in used.items():
            if last[k] == j and k in place:  # its texture is free after this op
                free.setdefault((st.w, st.h), []).append(place[k])
    return place


def _returned(node):
    """The storages of the tensors a step returns (StepGraph._outputs' structure)."""
    if node is None or node[0] == "const":
        return []
    if node[0] == "t":
        return [node[3]] if node[3] is not None else []
    items = node[1].values() if node[0] is dict else node[1]
    return [st for x in items for st in _returned(x)]


class WebGLGraph(StepGraph):
    """A step's draws (fused where exact) as a graph of the JS helper."""

    buffer_type = GLBuffer
    share_textures = True  # temporaries share textures (shared_textures; False: A/B, tests)
    swap_state = True  # the prologue swaps state textures instead of copying (False: A/B)
    hoist_constants = True  # a texture only a fill writes is filled once (False: A/B)

    def __init__(self, backend, r1, r2):
        self.gen = backend._gen  # a reset (new context) invalidates the graph
        self._replay = backend._gl.replay  # (looking it up costs ~3 us a call)
        super().__init__(backend, r1, r2)

    def rewrite(self, ops, keep):
        ops, fused_place = fuse(self.be, ops, keep)
        # a constant (a texture only its fill writes, which no tensor holds: not state, not
        # returned) is filled once, now, not per replay
        writes = Counter(id(st) for op in ops for st in op_outputs(op))
        constants = {k for k, op in enumerate(ops) if op[0] == "f" and writes[id(op[1])] == 1
                     and id(op[1]) not in keep} if self.hoist_constants else set()
        for k in constants:
            self.be._call("fill", self.be._gl.fill, ops[k][1].handle, ops[k][2])
        self.n_constants = len(constants)
        ops, place = without(ops, constants)
        return ops, {k: place[j] for k, j in fused_place.items() if j in place}

    def define(self, ops, order, slot, state, arg_ids):
        fixed = set(self.keep) | arg_ids | {id(st) for pair in state for st in pair}
        fixed |= {id(st) for st in _returned(self.outputs)}
        place = shared_textures(ops, fixed) if self.share_textures else {}
        self.held = [st for st in self.held if place.get(id(st), st) is st]

        def at(st):
            return slot[id(place.get(id(st), st))]

        encoded = []
        for op in ops:
            if op[0] == "f":
                v = op[2]  # JSON has no inf/nan: JS reads these strings with Number()
                encoded.append(["f", at(op[1]), v if math.isfinite(v) else
                                {math.inf: "Infinity", -math.inf: "-Infinity"}.get(v, "NaN")])
            else:
                out = [at(s) for s in op[2]] if isinstance(op[2], list) else at(op[2])
                encoded.append(["d", op[1], out, [at(s) for s in op[3]], op[4]])
        self.n_draws = sum(op[0] == "d" for op in encoded)
        self.n_textures = len(order) - len(arg_ids) - sum(place.get(id(st), st) is not st
                                                          for st in order)
        # state double-buffered: a replay swaps each pair's textures (here and in the JS
        # table) instead of copying last step's outputs onto the inputs
        ids = [id(st) for pair in state for st in pair]
        self.swap_pairs = list(state) if self.swap_state and len(set(ids)) == len(ids) and all(
            (a.w, a.h) == (b.w, b.h) for a, b in state) else []
        spec = {"table": [None if id(st) in arg_ids or place.get(id(st), st) is not st
                          else st.handle for st in order],
                "prologue": [[slot[id(out)], slot[id(inp)]] for inp, out in state],
                "swap": bool(self.swap_pairs), "ops": encoded}
        return self.be._call("defineGraph", self.be._gl.defineGraph,
                             json.dumps(spec, separators=(",", ":")))

    def invalid(self):
        return "the webgl device was reset" if self.be._gen != self.gen else None

    def update_uniform(self, kind, hyper):
        # the optimizer draw's u_k, from the hyperparameters as its eager step computes it
        return u_k(list(update_rules.constants(kind, hyper).values()))

    def fresh_like(self, storage):
        # a pooled texture, else a placeholder whose texture the replay creates (no FFI
        # call of its own)
        st = self.be._pooled(storage.w, storage.h)
        return _Storage(self.be, 0, storage.w, storage.h, -1) if st is None else st

    def run(self, args, patches, fresh):
        # the JS graph keeps the patched values: unchanged patches (None) are not sent
        patched = "[]" if patches is None else json.dumps(patches, separators=(",", ":"))
        pairs = ",".join  # the JSON of [[slot, handle], ...], written out (ints only)
        spec = (f'{{"args":[{pairs(f"[{s},{st.handle}]" for s, st in args)}],'
                f'"patches":{patched},'
                f'"outs":[{pairs(f"[{s},{st.handle}]" for s, st in fresh)}]}}')
        be = self.be
        be.counters["draws"] += self.n_draws
        created = be._call("replay", self._replay, self.handle, spec)
        if created:
            todo = [st for _, st in fresh if st.handle == 0]
            for st, handle in zip(todo, created.split(",")):
                be._adopt(int(handle), st.w, st.h, into=st)
        for inp, out in self.swap_pairs:  # the newest state is in what was inp's texture
            inp.handle, out.handle = out.handle, inp.handle

    def drop(self):
        if self.handle is not None and self.be._gen == self.gen:
            self.be._call("dropGraph", self.be._gl.dropGraph, self.handle)
            self.handle = None
        super().drop()
